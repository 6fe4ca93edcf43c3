import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/**
 * The `pg` pool under TypeORM's postgres driver (its `master`), for what TypeORM's query runner does
 * not offer (COPY, named prepared statements, the pool's counts); null for another driver, or before
 * the DataSource has connected.
 */
export function pgPoolOf(db: DataSource | undefined): Pool | null {
  if (!db || db.options.type !== 'postgres') return null;
  const pool = (db.driver as PostgresDriver | undefined)?.master as Pool | undefined;
  return pool && typeof pool.connect === 'function' ? pool : null;
}
