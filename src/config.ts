import path from 'node:path';

/** Every setting Cinegraph reads from the environment, parsed and validated in one place. */
export interface Config {
  nodeEnv: string;
  host: string;
  port: number;
  /** Unset means: run the embedded PGlite server. */
  databaseUrl: string | null;
  dbPoolSize: number;
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
  playground: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /**
   * HYBRID_WEIGHTS: what HYBRID merges with when a request sends no weights. `default`: the
   * product's specified collaborative 0.5, content 0.3, statistical 0.2. `calibrated`: the weights
   * the active model version chose on a validation split of its training ratings.
   */
  hybridWeights: 'default' | 'calibrated';
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
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
    playground: boolean(env, 'GRAPHQL_PLAYGROUND', true),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    hybridWeights: oneOf(env, 'HYBRID_WEIGHTS', ['default', 'calibrated'] as const, 'default'),
  };
}
