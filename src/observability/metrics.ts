import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CacheCounts } from '../engines/short-lived-cache';
import type { EngineStatus } from '../engines/engine';
import type { IndexProgress } from '../engines/content/indexer';

/** Latency buckets in seconds: a cached list answers in well under a millisecond, a cold HYBRID in tens. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What /metrics reads at scrape time from the running service (nothing is polled in between). */
export interface MetricSources {
  caches(): Record<string, CacheCounts>;
  engines(): Record<string, EngineStatus>;
  /** Absent without a collaborative engine; returns null while no model is served. */
  model?(): { versionId: number; activatedAt: Date } | null;
  /** Absent when the content engine is off. */
  contentIndex?(): IndexProgress | null;
  databasePool(): { size: number; total: number; idle: number; waiting: number } | null;
  /** Feedback events written by type, and served lists written or dropped (absent in bare setups). */
  feedback?(): { eventsByType: Record<string, number>; lists: { recorded: number; dropped: number } };
}

/**
 * Client-chosen operation names become label values; past this many distinct names the rest are
 * counted as "other" so a client sending random names cannot grow the registry without bound.
 */
const MAX_OPERATION_LABELS = 200;

/**
 * The service's Prometheus metrics in a registry of its own (not prom-client's global one), so
 * several instances — tests — each count their own requests.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'status'>;
  readonly httpInFlight: Gauge;
  readonly graphqlRequests: Counter<'operation' | 'outcome'>;
  readonly graphqlDuration: Histogram<'operation' | 'strategy'>;
  readonly engineDuration: Histogram<'engine' | 'method' | 'outcome'>;
  private readonly operationNames = new Set<string>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'cinegraph_process_' });
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'cinegraph_http_requests_total',
      help: 'HTTP requests by route (/graphql, /readyz, …) and status code.',
      labelNames: ['route', 'status'],
      registers,
    });
    this.httpInFlight = new Gauge({
      name: 'cinegraph_http_requests_in_flight',
      help: 'HTTP requests being served right now.',
      registers,
    });
    this.graphqlRequests = new Counter({
      name: 'cinegraph_graphql_requests_total',
      help: 'GraphQL operations by operation name and outcome ("ok" or the first error code).',
      labelNames: ['operation', 'outcome'],
      registers,
    });
    this.graphqlDuration = new Histogram({
      name: 'cinegraph_graphql_request_duration_seconds',
      help: 'GraphQL operation latency by operation name and requested recommendation strategy ("none" when no recommendations field).',
      labelNames: ['operation', 'strategy'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.engineDuration = new Histogram({
      name: 'cinegraph_engine_duration_seconds',
      help: 'Time an engine took to answer the orchestrator, by engine, method (recommend, scoreMovies) and outcome.',
      labelNames: ['engine', 'method', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** The label value for an operation name (bounded, see MAX_OPERATION_LABELS). */
  operationLabel(name: string): string {
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_LABELS) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /** Gauges and counters whose values are read from the service when Prometheus scrapes. */
  watch(sources: MetricSources): void {
    const registers = [this.registry];
    new Counter({
      name: 'cinegraph_cache_hits_total',
      help: 'Lookups answered from an in-memory cache, by cache.',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const [cache, counts] of Object.entries(sources.caches())) this.inc({ cache }, counts.hits);
      },
    });
    new Counter({
      name: 'cinegraph_cache_misses_total',
      help: 'Lookups a cache could not answer (read or computed afresh), by cache.',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const [cache, counts] of Object.entries(sources.caches())) this.inc({ cache }, counts.misses);
      },
    });
    new Gauge({
      name: 'cinegraph_cache_hit_ratio',
      help: 'hits / (hits + misses) since start, by cache (absent before the first lookup).',
      labelNames: ['cache'],
      registers,
      collect() {
        this.reset();
        for (const [cache, { hits, misses }] of Object.entries(sources.caches()))
          if (hits + misses > 0) this.set({ cache }, hits / (hits + misses));
      },
    });
    new Gauge({
      name: 'cinegraph_engine_ready',
      help: '1 when the engine can answer, 0 while it trains, indexes or failed.',
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const [engine, status] of Object.entries(sources.engines()))
          this.set({ engine }, status.ready ? 1 : 0);
      },
    });
    const feedback = sources.feedback?.bind(sources);
    if (feedback) this.watchFeedback(feedback);
    const model = sources.model?.bind(sources);
    const contentIndex = sources.contentIndex?.bind(sources);
    if (model) this.watchModel(model);
    if (contentIndex) this.watchContentIndex(contentIndex);
    new Gauge({
      name: 'cinegraph_db_pool_connections',
      help: 'Database pool connections: "in_use" (checked out), "idle", and "max" (the pool size).',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const pool = sources.databasePool();
        if (!pool) return;
        this.set({ state: 'in_use' }, pool.total - pool.idle);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'max' }, pool.size);
      },
    });
    new Gauge({
      name: 'cinegraph_db_pool_waiting',
      help: 'Queries waiting for a free pool connection.',
      registers,
      collect() {
        this.reset();
        const pool = sources.databasePool();
        if (pool) this.set(pool.waiting);
      },
    });
  }

  private watchFeedback(feedback: NonNullable<MetricSources['feedback']>): void {
    const registers = [this.registry];
    new Counter({
      name: 'cinegraph_feedback_events_total',
      help: 'Feedback events recorded (recordEvents), by type; resent duplicates are not counted.',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (const [type, count] of Object.entries(feedback().eventsByType)) this.inc({ type }, count);
      },
    });
    new Counter({
      name: 'cinegraph_recommendation_lists_recorded_total',
      help: 'Served recommendation lists written to recommendation_lists.',
      registers,
      collect() {
        this.reset();
        this.inc(feedback().lists.recorded);
      },
    });
    new Counter({
      name: 'cinegraph_recommendation_lists_dropped_total',
      help: 'Served lists not recorded: the write buffer was full (database down or slow) or the service was stopping.',
      registers,
      collect() {
        this.reset();
        this.inc(feedback().lists.dropped);
      },
    });
  }

  private watchModel(model: () => { versionId: number; activatedAt: Date } | null): void {
    const registers = [this.registry];
    new Gauge({
      name: 'cinegraph_model_version',
      help: 'The collaborative model version being served (absent while none is).',
      registers,
      collect() {
        this.reset();
        const served = model();
        if (served) this.set(served.versionId);
      },
    });
    new Gauge({
      name: 'cinegraph_model_age_seconds',
      help: 'Seconds since the served collaborative model version was activated.',
      registers,
      collect() {
        this.reset();
        const served = model();
        if (served) this.set(Math.max(0, (Date.now() - served.activatedAt.getTime()) / 1000));
      },
    });
  }

  private watchContentIndex(contentIndex: () => IndexProgress | null): void {
    const registers = [this.registry];
    new Gauge({
      name: 'cinegraph_content_index_movies',
      help: 'Content index: movies whose embedding is current ("done") and in the catalog ("total").',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        const progress = contentIndex();
        if (!progress) return;
        this.set({ state: 'done' }, progress.done);
        this.set({ state: 'total' }, progress.total);
      },
    });
    new Gauge({
      name: 'cinegraph_content_index_progress_ratio',
      help: 'Content index progress, 0..1 (1 once complete).',
      registers,
      collect() {
        this.reset();
        const progress = contentIndex();
        if (progress) this.set(progress.complete ? 1 : progress.fraction);
      },
    });
  }
}
