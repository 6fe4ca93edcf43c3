import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { migrations } from '../../migrations';
import { entities } from './entities';

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  /** A schema to live in (tests isolate each file in its own); public stays on the path for pgvector. */
  schema?: string;
  logging?: boolean;
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
      ...(options.schema ? { options: `-c search_path=${options.schema},public` } : {}),
    },
  });
}

/** Connects and brings the schema up to date; the service and the tests both start here. */
export async function openDatabase(options: DatabaseOptions): Promise<DataSource> {
  const dataSource = createDataSource(options);
  await dataSource.initialize();
  try {
    if (options.schema) await dataSource.query(`CREATE SCHEMA IF NOT EXISTS ${options.schema}`);
    await dataSource.runMigrations({ transaction: 'each' });
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return dataSource;
}
