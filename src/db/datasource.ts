import 'reflect-metadata';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { entities } from './entities';
import { DatabaseTimeouts, DEFAULT_DATABASE_TIMEOUTS, guardedPoolOptions } from './guarded-pool';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** A schema to live in (tests isolate each file in its own); public stays on the path for pgvector. */
  schema?: string;
  logging?: boolean;
  /** Connect, statement and idle-in-transaction timeouts; DEFAULT_DATABASE_TIMEOUTS when absent. */
  timeouts?: DatabaseTimeouts;
  /**
   * Run the migrations under an advisory lock on a connection of its own, so processes starting
   * together on one database (API instances and a worker) migrate one after the other. Off for the
   * embedded database, which one process owns.
   */
  migrationLock?: boolean;
}

/** The database cannot be reached at start: names where it looked and how long it waited, never the password. */
export class DatabaseConnectError extends Error {
  constructor(url: string, timeouts: DatabaseTimeouts, cause: unknown) {
    let where = 'the configured address';
    try {
      const parsed = new URL(url);
      where = `${parsed.hostname}:${parsed.port || '5432'}`;
    } catch {
      // An unparsable URL is reported by pg itself in the cause.
    }
    const code = (cause as { code?: unknown })?.code;
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(
      /timeout/i.test(reason)
        ? `could not connect to the database at ${where} within ${timeouts.connectMs} ms ` +
            `(DB_CONNECT_TIMEOUT_MS): it accepted no connection or never answered`
        : `could not connect to the database at ${where}: ${reason}${typeof code === 'string' && !reason.includes(code) ? ` (${code})` : ''}`,
      { cause },
    );
    this.name = 'DatabaseConnectError';
  }
}

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function createDataSource(options: DatabaseOptions): DataSource {
  if (options.schema !== undefined && !SAFE_IDENTIFIER.test(options.schema))
    throw new Error(`invalid schema name "${options.schema}"`);
  return new DataSource({
    type: 'postgres',
    url: options.url,
    schema: options.schema,
    entities,
    migrations,
    migrationsRun: false,
    synchronize: false,
    logging: options.logging ?? false,
    extra: {
      max: options.poolSize,
      ...guardedPoolOptions(options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS),
      ...(options.schema ? { options: `-c search_path=${options.schema},public` } : {}),
    },
  });
}

/** Connects and brings the schema up to date; the service and the tests both start here. */
export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  try {
    await dataSource.initialize();
  } catch (error) {
    throw new DatabaseConnectError(options.url, options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS, error);
  }
  try {
    if (options.schema) await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    if (options.migrationLock) await migrateLocked(dataSource, options);
    else await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}

/**
 * The migrations, one process at a time: the others wait on the lock, then find nothing pending.
 * The lock lives on a connection outside the pool (runMigrations takes pooled ones) and goes with
 * it, also when this process dies mid-way.
 */
async function migrateLocked(dataSource: DataSource, options: DatabaseOptions): Promise<void> {
  const timeouts = options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS;
  const client = new Client({
    connectionString: options.url,
    connectionTimeoutMillis: timeouts.connectMs,
    application_name: 'cinegraph migrations',
  });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [
      `${options.schema ?? 'default'}/migrations`,
    ]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await client.end().catch(() => undefined);
  }
}
