import path from 'node:path';
import { DEFAULT_DATABASE_TIMEOUTS } from './db/timeouts';

/** Every setting Cinegraph reads from the environment, parsed and validated in one place. */
export interface Config {
  nodeEnv: string;
  host: string;
  port: number;
  /** Unset means: run the embedded PGlite server. */
  databaseUrl: string | null;
  /** A streaming replica for shared read-only queries (src/db/read-routing.ts); null: the primary reads. */
  databaseReadUrl: string | null;
  /** Shared reads leave the replica for the primary when it may be further behind than this. */
  readReplicaMaxLagMs: number;
  dbPoolSize: number;
  /** Connecting to PostgreSQL (and waiting for a pooled connection) before SERVICE_UNAVAILABLE / a failed start. */
  dbConnectTimeoutMs: number;
  /** statement_timeout; the client also abandons a connection silent for this long plus a grace. 0 = none. */
  dbStatementTimeoutMs: number;
  /** idle_in_transaction_session_timeout. 0 = none. */
  dbIdleTxTimeoutMs: number;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  embeddedDbPort: number;
  /** Downloads and model caches. */
  cacheDir: string;
  movielensDir: string | null;
  movielensDownloadUrl: string;
  embeddings: 'auto' | 'transformers' | 'use-lite';
  /** Worker threads for use-lite embedding; 'auto' = one per core. */
  embeddingWorkers: number | 'auto';
  /** CONTENT_ENGINE=false skips the embedding index (and the content engine) entirely. */
  contentEngine: boolean;
  /**
   * Worker threads for the content engine's neighbour vote and taste-profile search (vote-pool.ts);
   * 0 = on the API's thread.
   */
  contentVoteWorkers: number;
  /**
   * CONTENT_SEARCH: `memory` (default) answers the content engine's searches from an index of the
   * vectors in this process once built (vector-index.ts); `postgres`: always pgvector's HNSW.
   */
  contentSearch: 'memory' | 'postgres';
  /** Threads for the rating model's SGD in server and worker training; 'auto' = one per core. */
  trainingThreads: number | 'auto';
  transformersModel: string;
  localModelPath: string | null;
  allowRemoteModels: boolean;
  corsOrigins: string[] | true;
  introspection: boolean;
  maxRequestBytes: number;
  maxQueryDepth: number;
  maxQueryCost: number;
  /** Caps on the query text, checked before it is parsed (query-text-caps.ts). */
  maxQueryTokens: number;
  maxQueryAliases: number;
  maxQueryFragments: number;
  /** Per-client token bucket (bearer token once verified, else IP): refill per second; 0 = off. */
  rateLimitRps: number;
  /** The bucket's size: requests a client may send at once after being idle. */
  rateLimitBurst: number;
  playground: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** METRICS=false: no /metrics and no counting (the request log line stays, see LOG_LEVEL). */
  metrics: boolean;
  /** /readyz counts the database as down when a ping takes longer. */
  readinessTimeoutMs: number;
  /**
   * On SIGTERM/SIGINT the process exits within this, whatever is still running: requests in
   * flight get most of it, then the pool and the embedded database are closed.
   */
  shutdownTimeoutMs: number;
  /**
   * HYBRID_WEIGHTS: what HYBRID merges with when a request sends no weights. `default`: the
   * product's specified collaborative 0.5, content 0.3, statistical 0.2. `calibrated`: the weights
   * the active model version chose on a validation split of its training ratings.
   */
  hybridWeights: 'default' | 'calibrated';
  /**
   * How long a live service key's lookup is reused: a key revoked by `npm run keys` in another
   * process still works on this one for up to this long. 0 = look the key up on every request.
   */
  serviceKeyCacheMs: number;
  /** Served lists wait in memory at most this long before they are written (recommendation_lists). */
  /**
   * How often each process re-reads which A/B experiment is active (it is held in memory for the
   * request path): a created or stopped experiment takes effect within this.
   */
  experimentRefreshMs: number;
  listFlushIntervalMs: number;
  /** Served lists per INSERT; a full batch is written at once. */
  listFlushBatch: number;
  /** Served lists held at most while the database does not take them; past it they are dropped and counted. */
  listBufferMax: number;
  /**
   * WORKER: `embedded` (default) runs the background jobs (first model, retraining, content index)
   * inside `npm start`; `off` makes an API-only instance that follows what a separate `npm run worker`
   * produces.
   */
  worker: 'embedded' | 'off';
  /** Retrain when the active model is this old; 0: never on age alone. */
  retrainIntervalMs: number;
  /** Retrain once this many ratings were written since the active model read its data; 0: never. */
  retrainMinNewRatings: number;
  /** How often the worker checks whether a job is due (and retries a failed one at the earliest). */
  workerPollMs: number;
  /** Where `npm run worker` answers /livez, /readyz and /metrics (on HOST); 0 picks a free port. */
  workerPort: number;
  /**
   * How often an instance that does not run the jobs itself re-reads the active model version and
   * the content index's state, to serve what a worker elsewhere produced.
   */
  followPollMs: number;
  /**
   * How often an instance asks its LISTEN connection (version notices) `SELECT 1`, and how long the
   * answer may take before the connection counts as lost (polling, reconnecting): a half-open
   * connection raises no error, it only stops delivering.
   */
  versionFeedHeartbeatMs: number;
  /**
   * COLLABORATIVE_ANN_MIN_MOVIES: from this many rankable movies on, collaborative lists come from
   * the norm-ordered candidate index (exact, most movies left unscored) instead of scoring every
   * movie; below it the full pass costs little and leaves every score at hand. (The name is older
   * than the index, which was approximate.)
   */
  collaborativeAnnMinMovies: number;
  /**
   * How long a `trending` answer is reused (the statistical engine's trending cache): a rating
   * reaches trending within this, plus the one recomputation during which the first request past it
   * still gets the held answer. 0 computes every request.
   */
  trendingCacheMaxAgeMs: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/**
 * Per-client rate limit defaults: far above a person or a typical integration, and above every
 * burst the test suite sends from one address (the largest: a few dozen concurrent requests), yet
 * one client alone cannot take the whole of a small server. Load generators that act for many
 * users from one address (npm run bench:serve) turn it off with RATE_LIMIT_RPS=0.
 */
const RATE_LIMIT_RPS_DEFAULT = 100;
const RATE_LIMIT_BURST_DEFAULT = 500;

/** Where approximate retrieval starts to cost less than exact scoring (scripts/bench-ann.ts; README, Performance). */
export const COLLABORATIVE_ANN_MIN_MOVIES_DEFAULT = 15_000;

/**
 * As long as the ranking snapshot and the prior are reused (the statistical engine's
 * globalStatsMaxAgeMs): trending is shrunk toward that prior, so the answers computed from
 * everybody's ratings share one freshness.
 */
export const TRENDING_CACHE_MAX_AGE_MS_DEFAULT = 10_000;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function decimal(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new ConfigError(`${name} must be a number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

function optionalPath(env: Env, name: string, cwd: string): string | null {
  const raw = env[name]?.trim();
  return raw ? path.resolve(cwd, raw) : null;
}

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const nodeEnv = env.NODE_ENV?.trim() || 'development';
  const cors = env.CORS_ORIGINS?.trim();
  const databaseUrl = env.DATABASE_URL?.trim() || null;
  const databaseReadUrl = env.DATABASE_READ_URL?.trim() || null;
  // The embedded database has no replicas: a read URL without DATABASE_URL is a mistake, not a setup.
  if (databaseReadUrl && !databaseUrl)
    throw new ConfigError('DATABASE_READ_URL needs DATABASE_URL (the primary every write goes to)');
  return {
    nodeEnv,
    host: env.HOST?.trim() || '127.0.0.1',
    port: integer(env, 'PORT', 4000, 0, 65535),
    databaseUrl,
    databaseReadUrl,
    readReplicaMaxLagMs: integer(env, 'READ_REPLICA_MAX_LAG_MS', 5_000, 0, 3_600_000),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 8, 1, 200),
    dbConnectTimeoutMs: integer(
      env,
      'DB_CONNECT_TIMEOUT_MS',
      DEFAULT_DATABASE_TIMEOUTS.connectMs,
      100,
      600_000,
    ),
    dbStatementTimeoutMs: integer(
      env,
      'DB_STATEMENT_TIMEOUT_MS',
      DEFAULT_DATABASE_TIMEOUTS.statementMs,
      0,
      3_600_000,
    ),
    dbIdleTxTimeoutMs: integer(
      env,
      'DB_IDLE_TX_TIMEOUT_MS',
      DEFAULT_DATABASE_TIMEOUTS.idleInTransactionMs,
      0,
      3_600_000,
    ),
    dataDir: optionalPath(env, 'DATA_DIR', cwd) ?? path.resolve(cwd, '.data'),
    embeddedDbPort: integer(env, 'EMBEDDED_DB_PORT', 0, 0, 65535),
    cacheDir: optionalPath(env, 'CACHE_DIR', cwd) ?? path.resolve(cwd, '.cache'),
    movielensDir: optionalPath(env, 'MOVIELENS_DIR', cwd),
    movielensDownloadUrl:
      env.MOVIELENS_DOWNLOAD_URL?.trim() ||
      'https://files.grouplens.org/datasets/movielens/ml-latest-small.zip',
    embeddings: oneOf(env, 'EMBEDDINGS', ['auto', 'transformers', 'use-lite'] as const, 'auto'),
    embeddingWorkers:
      env.EMBEDDING_WORKERS?.trim() && env.EMBEDDING_WORKERS.trim() !== 'auto'
        ? integer(env, 'EMBEDDING_WORKERS', 1, 1, 64)
        : 'auto',
    contentEngine: boolean(env, 'CONTENT_ENGINE', true),
    contentVoteWorkers: integer(env, 'CONTENT_VOTE_WORKERS', 1, 0, 64),
    contentSearch: oneOf(env, 'CONTENT_SEARCH', ['memory', 'postgres'] as const, 'memory'),
    trainingThreads:
      env.TRAINING_THREADS?.trim() && env.TRAINING_THREADS.trim() !== 'auto'
        ? integer(env, 'TRAINING_THREADS', 1, 1, 64)
        : 'auto',
    transformersModel: env.TRANSFORMERS_MODEL?.trim() || 'Xenova/all-MiniLM-L6-v2',
    localModelPath: optionalPath(env, 'LOCAL_MODEL_PATH', cwd),
    allowRemoteModels: boolean(env, 'ALLOW_REMOTE_MODELS', true),
    corsOrigins: !cors || cors === '*' ? true : cors.split(',').map((o) => o.trim()),
    introspection: boolean(env, 'GRAPHQL_INTROSPECTION', nodeEnv !== 'production'),
    maxRequestBytes: integer(env, 'MAX_REQUEST_BYTES', 100_000, 1_000, 50_000_000),
    maxQueryDepth: integer(env, 'MAX_QUERY_DEPTH', 12, 2, 100),
    maxQueryCost: integer(env, 'MAX_QUERY_COST', 50_000, 10, 10_000_000),
    // The full introspection query (GraphiQL's, codegen's) is 184 tokens, 3 fragments, no aliases;
    // graphql-js validation is quadratic in repeated fields (OverlappingFieldsCanBeMerged): at 2 000
    // tokens one query held the event loop ~4x longer than at 1 000 (npm run bench:hostile).
    maxQueryTokens: integer(env, 'MAX_QUERY_TOKENS', 1_000, 100, 1_000_000),
    maxQueryAliases: integer(env, 'MAX_QUERY_ALIASES', 30, 0, 100_000),
    maxQueryFragments: integer(env, 'MAX_QUERY_FRAGMENTS', 50, 0, 100_000),
    rateLimitRps: decimal(env, 'RATE_LIMIT_RPS', RATE_LIMIT_RPS_DEFAULT, 0, 1_000_000),
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', RATE_LIMIT_BURST_DEFAULT, 1, 10_000_000),
    playground: boolean(env, 'GRAPHQL_PLAYGROUND', nodeEnv !== 'production'),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    metrics: boolean(env, 'METRICS', true),
    readinessTimeoutMs: integer(env, 'READINESS_TIMEOUT_MS', 1000, 10, 60_000),
    // Docker and Kubernetes wait 10 s / 30 s before SIGKILL; 4.5 s leaves room under both.
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 4500, 500, 600_000),
    hybridWeights: oneOf(env, 'HYBRID_WEIGHTS', ['default', 'calibrated'] as const, 'default'),
    serviceKeyCacheMs: integer(env, 'SERVICE_KEY_CACHE_MS', 5000, 0, 60_000),
    listFlushIntervalMs: integer(env, 'LIST_FLUSH_INTERVAL_MS', 1000, 10, 60_000),
    listFlushBatch: integer(env, 'LIST_FLUSH_BATCH', 500, 1, 10_000),
    listBufferMax: integer(env, 'LIST_BUFFER_MAX', 20_000, 1, 10_000_000),
    worker: oneOf(env, 'WORKER', ['embedded', 'off'] as const, 'embedded'),
    // Daily, and after 1% of ml-latest-small's ratings (0.003% of ML-32M's): a model a day old or a
    // thousand ratings behind is still a good model, and a retraining costs minutes at scale.
    retrainIntervalMs: integer(env, 'RETRAIN_INTERVAL_MS', 24 * 3_600_000, 0, 365 * 24 * 3_600_000),
    retrainMinNewRatings: integer(env, 'RETRAIN_MIN_NEW_RATINGS', 1000, 0, 1_000_000_000),
    workerPollMs: integer(env, 'WORKER_POLL_MS', 30_000, 100, 24 * 3_600_000),
    workerPort: integer(env, 'WORKER_PORT', 4001, 0, 65535),
    followPollMs: integer(env, 'FOLLOW_POLL_MS', 5000, 100, 3_600_000),
    experimentRefreshMs: integer(env, 'EXPERIMENT_REFRESH_MS', 10_000, 100, 3_600_000),
    versionFeedHeartbeatMs: integer(env, 'VERSION_FEED_HEARTBEAT_MS', 10_000, 100, 600_000),
    collaborativeAnnMinMovies: integer(
      env,
      'COLLABORATIVE_ANN_MIN_MOVIES',
      COLLABORATIVE_ANN_MIN_MOVIES_DEFAULT,
      0,
      1_000_000_000,
    ),
    trendingCacheMaxAgeMs: integer(
      env,
      'TRENDING_CACHE_MAX_AGE_MS',
      TRENDING_CACHE_MAX_AGE_MS_DEFAULT,
      0,
      3_600_000,
    ),
  };
}
