import path from 'node:path';
import { DEFAULT_DATABASE_TIMEOUTS } from './db/timeouts';

/** Every setting Cinegraph reads from the environment, parsed and validated in one place. */
export interface Config {
  nodeEnv: string;
  host: string;
  port: number;
  /** Unset means: run the embedded PGlite server. */
  databaseUrl: string | null;
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
   * COLLABORATIVE_ANN_MIN_MOVIES: from this many rankable movies on, collaborative lists come from
   * the approximate index (once built) instead of scoring every movie; below it exact costs less.
   */
  collaborativeAnnMinMovies: number;
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
  return {
    nodeEnv,
    host: env.HOST?.trim() || '127.0.0.1',
    port: integer(env, 'PORT', 4000, 0, 65535),
    databaseUrl: env.DATABASE_URL?.trim() || null,
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
    collaborativeAnnMinMovies: integer(
      env,
      'COLLABORATIVE_ANN_MIN_MOVIES',
      COLLABORATIVE_ANN_MIN_MOVIES_DEFAULT,
      0,
      1_000_000_000,
    ),
  };
}
