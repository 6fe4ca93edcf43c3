import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { Config } from './config';
import { ensureCatalog } from './data/first-run';
import { createDataSource, DatabaseConnectError, openDatabase } from './db/datasource';
import { primaryReads, Reads, ReplicaReads } from './db/read-routing';
import { EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded';
import { warnWithoutAutovacuum } from './db/maintenance-check';
import { RecommendationEngine } from './engines/engine';
import { VersionFeed, Versions } from './cache';
import type { Services } from './composition/services';
import {
  CachedRatingHistory,
  exclusionsOf,
  RatingHistorySource,
  SqlRatingHistory,
} from './engines/rating-history';
import { ContentEngine, ContentIndexer, IndexFollower, type IndexView } from './engines/content';
import { createEmbedder, Embedder } from './engines/content/embedders';
import { createVotePool, type NeighbourVoter } from './engines/content/vote-pool';
import { CollaborativeEngine } from './engines/collaborative/collaborative-engine';
import { ModelStore } from './engines/collaborative/model-store';
import { StatisticalEngine } from './engines/statistical';
import { createContext } from './graphql/context';
import { buildGraphQLSchema } from './graphql/schema';
import { Logger, structured } from './logger';
import {
  engineStatuses,
  instrumentEngine,
  metricSources,
  ObservedParts,
  ReadinessCheck,
  ServiceMetrics,
} from './observability';
import { LIST_TTL_MS, Orchestrator } from './orchestrator/orchestrator';
import { CalibratedWeightsOfVersion, weightsInForce, WeightsInForce } from './orchestrator/weights';
import { startHttpServer, RunningServer } from './server';
import { queryNestingCap, rateLimitIdentity } from './http/edge-policy';
import { RatingPredictor } from './services';
import { ExperimentService } from './experiments/experiment-service';
import { FeedbackService } from './services/feedback-service';
import { ListRecorder, ListRecorderOptions } from './services/list-recorder';
import { MovieCatalog } from './services/movie-catalog';
import { RatingService } from './services/rating-service';
import { ServiceKeyStore } from './services/service-keys';
import { UserService } from './services/user-service';
import { JobMetrics } from './observability/job-metrics';
import { createWorker, CONTENT_INDEX_JOB, Follower, type Trainer, type Worker } from './worker';
import type { JobStatus } from './worker/worker';

export interface Database {
  /** The primary: every write, and every read that must see the latest commit. */
  dataSource: DataSource;
  url: string;
  embedded: boolean;
  /** Where read-only queries go: the replica of DATABASE_READ_URL when it keeps up, else the primary. */
  reads: Reads;
  /** The replica's router (its state for /health); null without DATABASE_READ_URL. */
  replica: ReplicaReads | null;
  close(): Promise<void>;
}

/**
 * The DATABASE_READ_URL pool and its router. The replica is read-only, so nothing is migrated
 * there (it replays the primary's migrations). Like the primary, it must answer at start (a typo
 * in the URL should not pass unnoticed); once running, a replica that fails only sends reads to
 * the primary until a probe finds it again.
 */
async function connectReplica(
  config: Config,
  primary: DataSource,
  logger: Logger,
): Promise<{ reads: ReplicaReads; dataSource: DataSource } | null> {
  if (!config.databaseReadUrl) return null;
  const timeouts = {
    connectMs: config.dbConnectTimeoutMs,
    statementMs: config.dbStatementTimeoutMs,
    idleInTransactionMs: config.dbIdleTxTimeoutMs,
  };
  const url = config.databaseReadUrl;
  const dataSource = createDataSource({ url, poolSize: config.dbPoolSize, timeouts });
  await dataSource.initialize().catch((error: unknown) => {
    throw new DatabaseConnectError(url, timeouts, error);
  });
  // A replica of another cluster would serve someone else's catalog; the lag probes cannot see that.
  const systemOf = async (db: DataSource) =>
    ((await db.query(`SELECT system_identifier::text AS id FROM pg_control_system()`)) as { id: string }[])[0]
      .id;
  const [ours, theirs] = await Promise.all([systemOf(primary), systemOf(dataSource)]);
  if (ours !== theirs) {
    await dataSource.destroy();
    throw new Error(
      `DATABASE_READ_URL is not a replica of DATABASE_URL (cluster ${theirs}, the primary is ${ours})`,
    );
  }
  const reads = new ReplicaReads(primary, dataSource, {
    maxLagMs: config.readReplicaMaxLagMs,
    onChange: (event) => {
      if (event.kind === 'down')
        logger.warn(`read replica unavailable, reading from the primary: ${event.reason}`);
      else if (event.kind === 'up') logger.info('read replica available again');
    },
  });
  await reads.probe().catch(() => undefined);
  logger.info(
    reads.state().down
      ? 'DATABASE_READ_URL: the replica is not usable yet; reads go to the primary until it is'
      : `DATABASE_READ_URL: shared reads go to the replica while it is at most ${config.readReplicaMaxLagMs} ms behind`,
  );
  return { reads, dataSource };
}

/** DATABASE_URL when given; otherwise the embedded PGlite server with its files under DATA_DIR. */
/**
 * PGlite is a single session, and its socket server interleaves the extended-protocol messages of
 * concurrent connections (one connection's Bind can land on another's Parse). One pooled
 * connection keeps every statement whole; the server still admits pool + 2 for tools.
 */
const EMBEDDED_POOL_SIZE = 1;

/**
 * How long a query waits for that one connection. A model save holds it in one transaction for
 * seconds (9,742 movies' factors and the EASE matrix): with DB_CONNECT_TIMEOUT_MS (5 s) the content
 * index job, and any request behind the save, failed with "timeout exceeded when trying to connect"
 * on a first start under load ~12. Nothing else can hold it: PGlite runs in this process.
 */
const EMBEDDED_POOL_WAIT_MS = 60_000;

/** DATABASE_URL when given; otherwise the embedded PGlite server with its files under DATA_DIR. */
export async function connectDatabase(
  config: Config,
  logger: Logger,
  /** A schema of its own (tests); the default search path otherwise. */
  schema?: string,
): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedDatabase({
      dataDir: `${config.dataDir}/pglite`,
      port: config.embeddedDbPort,
      poolSize: EMBEDDED_POOL_SIZE,
    });
    url = embedded.url;
    logger.info(`DATABASE_URL is unset: started the embedded PGlite database (${config.dataDir}/pglite)`);
  }
  try {
    const dataSource = await openDatabase({
      url,
      schema,
      migrationLock: !embedded,
      poolSize: embedded ? EMBEDDED_POOL_SIZE : config.dbPoolSize,
      // PGlite ignores both server timeouts, and its queries run on this event loop, so a
      // client-side limit could only fail a query that already finished; nothing can stall there.
      timeouts: {
        connectMs: embedded
          ? Math.max(config.dbConnectTimeoutMs, EMBEDDED_POOL_WAIT_MS)
          : config.dbConnectTimeoutMs,
        statementMs: embedded ? 0 : config.dbStatementTimeoutMs,
        idleInTransactionMs: embedded ? 0 : config.dbIdleTxTimeoutMs,
      },
    });
    const replica = await connectReplica(config, dataSource, logger).catch(async (error: unknown) => {
      await dataSource.destroy();
      throw error;
    });
    return {
      dataSource,
      url,
      embedded: embedded !== null,
      reads: replica?.reads ?? primaryReads(dataSource),
      replica: replica?.reads ?? null,
      async close() {
        await replica?.dataSource.destroy();
        await dataSource.destroy();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

export interface EngineSet {
  statistical: StatisticalEngine;
  content: ContentEngine | null;
  /** Engines in the order the orchestrator should know them. */
  all: RecommendationEngine[];
  predictor: RatingPredictor | null;
  /** The users' ratings as the engines read them; shared so a request reads them once. */
  history?: RatingHistorySource;
  /** HYBRID's weights when a request sends none; the specified defaults when absent. */
  weightsInForce?: () => WeightsInForce;
  /** The versions this instance knows (shared with the engines); a private set when absent. */
  versions?: Versions;
}

/** What HYBRID_WEIGHTS=calibrated reads: the active collaborative version's calibrated weights. */
export function calibratedWeightsOf(collaborative: CollaborativeEngine): CalibratedWeightsOfVersion | null {
  const found = collaborative.calibratedWeights();
  if (!found) return null;
  const { calibration } = found;
  return {
    modelVersion: found.versionId,
    weights: calibration.weights,
    validationNdcg10: calibration.validationNdcg10,
    defaultValidationNdcg10: calibration.defaultValidationNdcg10,
    validationScheme: calibration.scheme,
  };
}

/** HYBRID_WEIGHTS as the orchestrator reads it, per request, from the loaded model version. */
export function hybridWeightsInForce(
  mode: Config['hybridWeights'],
  collaborative: CollaborativeEngine,
): () => WeightsInForce {
  return () => weightsInForce(mode, calibratedWeightsOf(collaborative), collaborative.activeVersionId());
}

/** How served lists are buffered when the caller does not say (the defaults of config.ts). */
export const DEFAULT_LIST_RECORDING: Omit<ListRecorderOptions, 'warn'> = {
  flushIntervalMs: 1000,
  batchSize: 500,
  maxBuffered: 20_000,
};

/**
 * The services over these engines. With `metrics`, the orchestrator sees each engine through a
 * wrapper that times its calls (cinegraph_engine_duration_seconds). Writes go to `dataSource`;
 * catalog and rating reads through `reads` (users and tokens always read the primary: a token
 * must work the moment onboarding returns it).
 */
export function createServices(
  dataSource: DataSource,
  engines: EngineSet,
  metrics: ServiceMetrics | null = null,
  logger: Logger | null = null,
  options: {
    serviceKeyCacheMs?: number;
    listRecording?: Omit<ListRecorderOptions, 'warn'>;
    reads?: Reads;
    /** How often the active A/B experiment is re-read (EXPERIMENT_REFRESH_MS). */
    experimentRefreshMs?: number;
  } = {},
): Services {
  const reads = options.reads ?? primaryReads(dataSource);
  const versions = engines.versions ?? new Versions();
  const catalog = new MovieCatalog(dataSource, reads, versions);
  const ratings = new RatingService(dataSource, reads);
  const keys = new ServiceKeyStore(dataSource, { cacheMs: options.serviceKeyCacheMs ?? 0 });
  const users = new UserService(dataSource, ratings, keys, versions);
  const feedback = new FeedbackService(dataSource, {
    exclusionsChanged: (userId, version) => ratings.notify(userId, version),
  });
  const servedLists = new ListRecorder(dataSource, {
    ...(options.listRecording ?? DEFAULT_LIST_RECORDING),
    warn: (message) => logger?.warn(message),
  });
  const history = engines.history ?? new SqlRatingHistory(dataSource, reads);
  const structuredLogger = logger ? structured(logger) : null;
  const orchestrator = new Orchestrator(
    metrics ? engines.all.map((engine) => instrumentEngine(engine, metrics, structuredLogger)) : engines.all,
    {
      ratingsOf: async (userId) => {
        const rated = await history.historyOf(userId);
        // The history's statement carries the watches and NOT_INTERESTED marks of its version, so
        // the exclusions cost no round trip of their own.
        return { version: rated.version, ratings: rated.ratings, excluded: exclusionsOf(rated) ?? undefined };
      },
      moviesByIds: (ids) => catalog.findByIds(ids),
      excludedOf: (userId, version) => feedback.excludedOf(userId, version),
    },
    {
      coldStartThreshold: 5,
      listTtlMs: LIST_TTL_MS,
      weightsInForce: engines.weightsInForce,
      servedLists,
      versions,
    },
  );
  return {
    catalog,
    ratings,
    users,
    keys,
    orchestrator,
    history: engines.history ?? null,
    feedback,
    servedLists,
    experiments: new ExperimentService(dataSource, {
      refreshMs: options.experimentRefreshMs ?? 10_000,
      onError: (error) => logger?.warn(`reading the active experiment failed: ${String(error)}`),
    }),
    statistical: engines.statistical,
    content: engines.content,
    predictor: engines.predictor,
  };
}

/**
 * After a user's ratings changed (and committed) through this instance: the new version is known at
 * once (other instances learn it from the notice the commit sent), their reads stay on the primary
 * until the replica has the change, what is cached of the user is dropped, and their factors are
 * folded in, so their next request already reflects the change.
 */
export function refreshOnRatings(
  ratings: RatingService,
  parts: {
    versions?: Versions | null;
    history: CachedRatingHistory | null;
    content: ContentEngine | null;
    collaborative: CollaborativeEngine | null;
    reads?: Reads;
  },
): void {
  ratings.onRatingsChanged(async (userId, version) => {
    parts.versions?.observe({ kind: 'user', userId, version });
    parts.reads?.wrote(userId);
    parts.history?.forget(userId);
    parts.content?.forgetUser(userId);
    await parts.collaborative?.foldIn(userId);
  });
}

export interface ApiOptions extends Omit<ObservedParts, 'services'> {
  /** Extra details for /health. */
  health?: () => Promise<Record<string, unknown>>;
  /** The registry the services count into (createServices); null: METRICS=false. */
  metrics?: ServiceMetrics | null;
  /** How long stop() lets requests in flight finish. */
  drainMs?: number;
  /** The background jobs for /readyz: run here (embedded worker) or followed (WORKER=off). */
  jobs?: () => JobStatus[];
}

export async function startApi(
  config: Config,
  services: Services,
  logger: Logger,
  options: ApiOptions = {},
): Promise<RunningServer> {
  const schema = await buildGraphQLSchema();
  const { dataSource } = options;
  const metrics = options.metrics ?? null;
  metrics?.watch(metricSources({ services, ...options }));
  const readiness = dataSource
    ? new ReadinessCheck({
        ping: () => dataSource.query('SELECT 1'),
        engines: () => engineStatuses(services),
        timeoutMs: config.readinessTimeoutMs,
        jobs: options.jobs,
      })
    : null;
  if (readiness) services.readiness = () => readiness.check();
  return startHttpServer({
    schema,
    host: config.host,
    port: config.port,
    introspection: config.introspection,
    maxRequestBytes: config.maxRequestBytes,
    corsOrigins: config.corsOrigins,
    playground: config.playground,
    limits: {
      maxDepth: config.maxQueryDepth,
      maxCost: config.maxQueryCost,
      maxTokens: config.maxQueryTokens,
      maxAliases: config.maxQueryAliases,
      maxFragments: config.maxQueryFragments,
      maxNesting: queryNestingCap(config.maxQueryDepth),
    },
    rateLimit: { ratePerSecond: config.rateLimitRps, burst: config.rateLimitBurst },
    verifyToken: (token) => rateLimitIdentity(services.users, token),
    hideSuggestions: config.nodeEnv === 'production',
    logger,
    health: options.health,
    readiness: readiness ? () => readiness.check() : undefined,
    metrics,
    drainMs: options.drainMs,
    context: async (request) => createContext(services, request.headers.authorization),
  });
}

/**
 * Disposes the embedder if it has loaded; one still loading its model (seconds of CPU per worker)
 * is disposed when it arrives instead of holding the shutdown up (3.4 s of a 3.5 s stop, measured
 * on a first start with one use-lite worker).
 */
function disposeWhenLoaded(embedder: Promise<Embedder>): { dispose(): Promise<void> } {
  let loaded: Embedder | null = null;
  let settled = false;
  embedder.then(
    (ready) => {
      loaded = ready;
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return {
    async dispose() {
      if (loaded) await (loaded as Embedder).dispose?.();
      else if (!settled)
        embedder.then(
          (ready) => ready.dispose?.(),
          () => undefined,
        );
    },
  };
}

export function embedderFor(config: Config, logger: Logger): Promise<Embedder> {
  return createEmbedder({
    mode: config.embeddings,
    transformersModel: config.transformersModel,
    localModelPath: config.localModelPath ?? undefined,
    cacheDir: `${config.cacheDir}/transformers`,
    allowRemoteModels: config.allowRemoteModels,
    workers: config.embeddingWorkers,
    logger: (message) => logger.info(message),
  });
}

/**
 * The served model's trainer as the embedded worker runs it: while no model is served the engine
 * says the first one is training, and why that failed.
 */
export function reportingTrainer(
  trainer: Trainer,
  engine: Pick<CollaborativeEngine, 'activeVersionId' | 'setNotReadyReason'>,
): Trainer {
  return {
    // What the trainer declares besides train() (whether it would calibrate) reaches the training job.
    ...trainer,
    async train(options) {
      if (!engine.activeVersionId()) engine.setNotReadyReason('training the first model');
      try {
        return await trainer.train(options);
      } catch (error) {
        if (!engine.activeVersionId())
          engine.setNotReadyReason(
            `training failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        throw error;
      }
    },
  };
}

export interface Cinegraph {
  url: string;
  database: Database;
  services: Services;
  /** The indexer when this process builds the content index (the embedded worker). */
  indexer: ContentIndexer | null;
  /** The background jobs when they run in this process (WORKER=embedded); null for an API-only instance. */
  worker: Worker | null;
  /** The versions this instance knows, and how it hears of new ones. */
  versions: Versions;
  versionFeed: VersionFeed;
  stop(): Promise<void>;
}

export interface CinegraphOptions {
  /**
   * What trains a model when the embedded worker decides to (training/ provides it; main.ts wires
   * it in). Without one, this process never trains.
   */
  trainer?: (database: Database) => Trainer;
  /** While the notification connection is down, how often versions are polled (default 1 s). */
  versionPollMs?: number;
  /** First and longest wait before listening again after the connection was lost (default 0.1–5 s). */
  versionReconnectMs?: { min: number; max: number };
  /** The database schema to live in (tests run instances side by side in one); DATABASE_URL's default otherwise. */
  schema?: string;
}

/** How long stop() waits for a running job to let go (an in-process training cannot stop half-way). */
const WORKER_STOP_WAIT_MS = 1000;

/**
 * The whole service: database (embedded unless DATABASE_URL), catalog on first run, engines,
 * then the API. With WORKER=embedded the background jobs run here once it serves: the first model
 * (until it is active COLLABORATIVE is answered by STATISTICAL), retraining, the content index
 * (until complete the content engine answers "index building: N%" and HYBRID proceeds without it).
 * With WORKER=off the instance follows what a worker elsewhere produces.
 */
export async function startCinegraph(
  config: Config,
  logger: Logger,
  options: CinegraphOptions = {},
): Promise<Cinegraph> {
  const database = await connectDatabase(config, logger, options.schema);
  const { dataSource, reads } = database;
  const embedded = config.worker === 'embedded';
  let embedder: Promise<Embedder> | null = null;
  let embedderDisposal: { dispose(): Promise<void> } | null = null;
  let voter: NeighbourVoter | null = null;
  const versions = new Versions();
  const versionFeed = new VersionFeed({
    versions,
    query: (sql, params) => dataSource.query(sql, params),
    // On the embedded database this process makes every write and learns of each after its commit.
    listen: database.embedded
      ? null
      : { url: database.url, schema: options.schema, connectTimeoutMs: config.dbConnectTimeoutMs },
    pollMs: options.versionPollMs,
    reconnectMs: options.versionReconnectMs,
    heartbeatMs: config.versionFeedHeartbeatMs,
    log: (message) => logger.warn(message),
  });
  try {
    if (!database.embedded) await warnWithoutAutovacuum((sql) => dataSource.query(sql), logger);
    await versionFeed.start();
    // A change made through another instance: that user's reads (and, after an import or a new
    // index, everybody's) stay on the primary until the replica has it.
    versions.subscribe((notice) => {
      if (notice.kind === 'user') reads.wrote(notice.userId);
      else if (notice.kind !== 'model') reads.changed();
    });
    const history = new CachedRatingHistory(new SqlRatingHistory(dataSource, reads), versions);
    const statistical = new StatisticalEngine(
      dataSource,
      { trendingCacheMaxAgeMs: config.trendingCacheMaxAgeMs },
      history,
      versions,
      reads,
    );
    await ensureCatalog(dataSource, config, logger, {
      afterImport: [
        async () => {
          reads.changed();
          statistical.invalidateGlobalStats();
          await versionFeed.refresh();
        },
      ],
    });

    // What the first lists need, made while starting rather than by them (here the statistical
    // ranking, in parallel with the model's load; the collaborative engine makes its EASE scorer as
    // it loads a version): made on first use, they held the first HYBRID lists after a start at 25M
    // for up to 0.95 s (the ranking reads 59K rows; the scorer copies 3,000 × 3,000 weights). The
    // first 64 lists at 16 connections on fresh servers, the two builds in turns: slowest 948 and
    // 830 ms before, 259 and 201 ms after (scratch driver, 12:19–12:22 UTC, load average 1.4–1.8).
    const rankingWarmed = statistical
      .warm()
      .catch((error: unknown) =>
        logger.warn(`loading the statistical ranking ahead of requests failed: ${String(error)}`),
      );

    let content: ContentEngine | null = null;
    let indexer: ContentIndexer | null = null;
    let indexFollower: IndexFollower | null = null;
    if (config.contentEngine) {
      embedder = embedderFor(config, logger);
      embedderDisposal = disposeWhenLoaded(embedder);
      let view: IndexView;
      if (embedded)
        view = indexer = new ContentIndexer({
          dataSource,
          embedder,
          logger,
          // PGlite runs on this event loop: building the HNSW index at the end of a first build held
          // it for 6.5 s on ml-latest-small (/health unanswered 6.3 s), where keeping the index row by
          // row spreads the same work over the build.
          ...(database.embedded ? { bulkIndexMinStale: Number.MAX_SAFE_INTEGER } : {}),
        });
      else
        view = indexFollower = new IndexFollower({
          dataSource,
          embedder,
          logger,
          completedBuild: async (modelId) => {
            const [run]: { id: string }[] = await dataSource.query(
              `SELECT id FROM worker_job_runs WHERE job = $1 AND outcome = 'succeeded'
                 AND detail->>'modelId' = $2 ORDER BY id DESC LIMIT 1`,
              [CONTENT_INDEX_JOB, modelId],
            );
            return run ? Number(run.id) : null;
          },
        });
      voter = createVotePool({
        workers: config.contentVoteWorkers,
        logger: (message) => logger.warn(message),
      });
      content = new ContentEngine({
        dataSource,
        indexer: view,
        history,
        versions,
        reads,
        voter,
        memorySearch: config.contentSearch === 'memory',
        logger,
      });
    }

    const collaborative = new CollaborativeEngine(dataSource, new ModelStore(dataSource), {
      logger,
      history,
      versions,
      candidates: { minMovies: config.collaborativeAnnMinMovies },
    });
    if (!(await collaborative.reload())) {
      const [{ present }] = await dataSource.query(`SELECT EXISTS (SELECT 1 FROM ratings) AS present`);
      collaborative.setNotReadyReason(
        !present
          ? 'no ratings to train on yet'
          : embedded && options.trainer
            ? 'training the first model'
            : 'waiting for the worker to train the first model',
      );
      if (present)
        logger.info('no active collaborative model: serving STATISTICAL until the first one is trained');
    }
    // A model activated anywhere (a worker, npm run train) is loaded on its notice.
    collaborative.followVersions(versions);

    const engines: EngineSet = {
      statistical,
      content,
      predictor: collaborative,
      all: [collaborative, ...(content ? [content] : []), statistical],
      history,
      versions,
      weightsInForce: () =>
        weightsInForce(
          config.hybridWeights,
          calibratedWeightsOf(collaborative),
          collaborative.activeVersionId(),
        ),
    };
    const metrics = config.metrics ? new ServiceMetrics() : null;
    const services = createServices(dataSource, engines, metrics, logger, {
      serviceKeyCacheMs: config.serviceKeyCacheMs,
      listRecording: {
        flushIntervalMs: config.listFlushIntervalMs,
        batchSize: config.listFlushBatch,
        maxBuffered: config.listBufferMax,
      },
      reads,
      experimentRefreshMs: config.experimentRefreshMs,
    });
    refreshOnRatings(services.ratings, { versions, history, content, collaborative, reads });
    const catalogWarmed = services.catalog.preload().then(
      (count) => logger.info(`movies in memory: ${count}`),
      (error: unknown) => logger.warn(`loading the movie catalog ahead of requests failed: ${String(error)}`),
    );

    let worker: Worker | null = null;
    let follower: Follower | null = null;
    if (embedded) {
      const jobMetrics = metrics
        ? new JobMetrics(metrics.registry, () => worker?.statuses() ?? [])
        : undefined;
      const engine = content;
      worker = await createWorker({
        database,
        config,
        logger,
        trainer: options.trainer ? reportingTrainer(options.trainer(database), collaborative) : null,
        indexer,
        indexerServes: true,
        observer: jobMetrics,
        // The notice reaches this process too; on the embedded database it is told here.
        onModelActivated: async ({ versionId }) => {
          versions.observe({ kind: 'model', version: versionId });
        },
        onIndexed: async () => {
          // The vectors are read where searches run: only once it holds the whole index.
          reads.changed();
          if (!engine) return;
          // In the background: requests interleave with the page-by-page load (and the in-process
          // search index's build, which reads every vector too).
          if (config.contentSearch === 'memory') engine.keepMemoryIndexCurrent();
          else
            engine.preloadVectors().then(
              (count) => logger.info(`content vectors in memory: ${count}`),
              (error: unknown) => logger.warn(`preloading content vectors failed: ${String(error)}`),
            );
        },
      });
    } else {
      const engine = content;
      follower = new Follower({
        dataSource,
        pollMs: config.followPollMs,
        index: indexFollower,
        logger,
        // The in-process search index is built as soon as the worker's index is seen complete (or
        // changed), not at the first search after that, which PostgreSQL would answer meanwhile.
        onRefreshed: () => engine?.keepMemoryIndexCurrent(),
      });
      await follower.refresh();
    }

    await Promise.all([rankingWarmed, catalogWarmed]);
    const server = await startApi(config, services, logger, {
      health: async () => ({
        database: database.embedded ? 'embedded' : 'postgres',
        ...(database.replica ? { readReplica: database.replica.state() } : {}),
        worker: config.worker,
        engines: Object.fromEntries(engines.all.map((e) => [e.name, e.status()])),
        ...(content ? { contentSearch: content.searchState() } : {}),
        model: collaborative.activeModel(),
        versions: {
          notices: versionFeed.state(),
          catalog: versions.catalog,
          index: versions.index,
          model: versions.model,
        },
      }),
      metrics,
      dataSource,
      history,
      collaborative,
      content,
      indexer: indexer ?? indexFollower,
      jobs: worker ? () => worker!.statuses() : () => follower!.jobs(),
      // Requests in flight get most of the shutdown deadline; the rest closes the pool and database.
      drainMs: Math.max(250, config.shutdownTimeoutMs - 1500),
    });
    logger.info(`Cinegraph is serving GraphQL at ${server.url} (open it in a browser for GraphiQL)`);
    worker?.start();
    follower?.start();
    let stopped: Promise<void> | null = null;
    return {
      url: server.url,
      database,
      services,
      indexer,
      worker,
      versions,
      versionFeed,
      stop() {
        // One stop for every caller: a signal handler and a test's afterAll may both call it.
        stopped ??= (async () => {
          const started = performance.now();
          const lap = () => `${Math.round(performance.now() - started)} ms`;
          follower?.stop();
          const jobsStopped = worker?.stop();
          await server.stop();
          const drained = lap();
          // A job that cannot stop half-way is cut off by closing the database under it; its run
          // resumes (the index) or starts over (training) on the next start.
          if (jobsStopped)
            await Promise.race([
              jobsStopped,
              new Promise((resolve) => setTimeout(resolve, WORKER_STOP_WAIT_MS)),
            ]);
          // After the drain (no list can be built any more), before the pool closes.
          await services.servedLists.stop();
          await content?.stopBackgroundWork();
          await Promise.all([embedderDisposal?.dispose(), voter?.dispose()]);
          const disposed = lap();
          await versionFeed.stop();
          await database.close();
          logger.info(
            `stopped: requests drained (${drained}), embedder disposed (${disposed}), ` +
              `pool and database closed (${lap()})`,
          );
        })();
        return stopped;
      },
    };
  } catch (error) {
    await (await embedder?.catch(() => null))?.dispose?.();
    await voter?.dispose();
    await versionFeed.stop();
    await database.close();
    throw error;
  }
}
