import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/datasource';

/** The real local Postgres (with pgvector) that scripts/setup-postgres.sh prepares. */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  dataSource: DataSource;
  schema: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh schema per test file, migrated, and dropped again afterwards. */
export async function createTestDatabase(poolSize = 4): Promise<TestDatabase> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const dataSource = await openDatabase({ url: TEST_DATABASE_URL, poolSize, schema });
  return {
    dataSource,
    schema,
    url: TEST_DATABASE_URL,
    async drop() {
      await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await dataSource.destroy();
    },
  };
}

/** Runs `work` and returns every SQL statement the data source sent meanwhile (TypeORM logs each one). */
export async function recordStatements(dataSource: DataSource, work: () => Promise<void>): Promise<string[]> {
  const statements: string[] = [];
  const logger = dataSource.logger;
  const recorder = Object.create(logger) as typeof logger;
  recorder.logQuery = (query: string) => {
    statements.push(query);
  };
  (dataSource as { logger: typeof logger }).logger = recorder;
  try {
    await work();
  } finally {
    (dataSource as { logger: typeof logger }).logger = logger;
  }
  return statements;
}
