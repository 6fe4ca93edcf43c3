import { Client } from 'pg';

/** The server benchmarks connect to as an administrator (BENCH_ADMIN_URL) to create their databases. */
export const BENCH_ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * A database of the benchmark's own on the administrator's server, created when missing and kept
 * between runs (so an import or an index build happens once); returns its URL.
 */
export async function ensureBenchDatabase(name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const admin = new Client({ connectionString: BENCH_ADMIN_URL });
  await admin.connect();
  try {
    const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return BENCH_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
}
