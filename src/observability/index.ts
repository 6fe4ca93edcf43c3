import type { DataSource } from 'typeorm';
import { pgPoolOf } from '../db/pg-pool';
import type { CollaborativeEngine } from '../engines/collaborative/collaborative-engine';
import type { ContentEngine, IndexView } from '../engines/content';
import type { EngineStatus } from '../engines/engine';
import { CachedRatingHistory, type RatingHistorySource } from '../engines/rating-history';
import type { CacheCounts } from '../cache';
import { ENGINE_NAMES } from '../orchestrator/weights';
import type { Services } from '../composition/services';
import type { MetricSources } from './metrics';

export { ServiceMetrics } from './metrics';
export { instrumentEngine } from './instrumented-engine';
export { ReadinessCheck, type ReadinessReport } from './readiness';

/** The running service's parts that /metrics, /readyz and /health read. */
export interface ObservedParts {
  services: Services;
  dataSource?: DataSource;
  history?: RatingHistorySource;
  collaborative?: CollaborativeEngine | null;
  content?: ContentEngine | null;
  indexer?: IndexView | null;
}

/** Every configured engine's status, by name. */
export function engineStatuses(services: Services): Record<string, EngineStatus> {
  const statuses: Record<string, EngineStatus> = {};
  for (const name of ENGINE_NAMES) {
    const engine = services.orchestrator.engine(name);
    if (engine) statuses[name] = engine.status();
  }
  return statuses;
}

interface PgPool {
  options?: { max?: number };
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** The DataSource's pg pool (pgPoolOf), when its counts can be read. */
function poolOf(dataSource: DataSource | undefined): PgPool | null {
  const pool: PgPool | null = pgPoolOf(dataSource);
  return pool && typeof pool.totalCount === 'number' ? pool : null;
}

export function metricSources(parts: ObservedParts): MetricSources {
  const { services, collaborative, indexer } = parts;
  const caches: Record<string, CacheCounts> = {
    movies: services.catalog.cacheCounts,
    users: services.users.cacheCounts,
    service_keys: services.keys.cacheCounts,
    excluded_movies: services.feedback.cacheCounts,
    statistical_trending: services.statistical.cacheCounts.trending,
  };
  const lists = services.orchestrator.listCacheCounts();
  if (lists) caches.orchestrator_lists = lists;
  if (parts.history instanceof CachedRatingHistory) caches.rating_history = parts.history.cacheCounts;
  if (parts.collaborative) {
    caches.collaborative_user_state = parts.collaborative.cacheCounts.userState;
    caches.collaborative_lists = parts.collaborative.cacheCounts.lists;
  }
  if (parts.content) {
    caches.content_taste = parts.content.cacheCounts.taste;
    caches.content_neighbours = parts.content.cacheCounts.neighbours;
  }
  return {
    caches: () => caches,
    engines: () => engineStatuses(services),
    feedback: () => ({ eventsByType: services.feedback.recordedByType, lists: services.servedLists.counts }),
    ...(collaborative ? { model: () => collaborative.activeModel() } : {}),
    ...(indexer ? { contentIndex: () => indexer.progress() } : {}),
    databasePool: () => {
      const pool = poolOf(parts.dataSource);
      if (!pool) return null;
      return {
        size: pool.options?.max ?? pool.totalCount,
        total: pool.totalCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
      };
    },
  };
}
