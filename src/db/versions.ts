import type { EntityManager } from 'typeorm';

/**
 * The writing side of the versions caches are validated against (migration DataVersions, and
 * src/cache/ for the reading side). Every bump runs inside the caller's transaction together with
 * its notice, so other instances hear of a change exactly when it commits.
 */

/** One notice on the channel: what changed and its new version. */
export type VersionNotice =
  | { kind: 'user'; userId: number; version: number }
  | { kind: 'model'; version: number }
  | { kind: 'index'; version: number }
  | { kind: 'catalog'; version: number };

/** The LISTEN channel of the schema a connection works in (cinegraph_notify() sends on it). */
export function channelOf(schema: string): string {
  return `cinegraph.${schema}`;
}

/** Payloads as cinegraph_notify() sends them: `u:<user>:<version>`, `m:<model>`, `i:<gen>`, `c:<ver>`. */
export function parseNotice(payload: string): VersionNotice | null {
  const [kind, first, second] = payload.split(':');
  const a = Number(first);
  if (!Number.isSafeInteger(a)) return null;
  switch (kind) {
    case 'u': {
      const version = Number(second);
      return Number.isSafeInteger(version) ? { kind: 'user', userId: a, version } : null;
    }
    case 'm':
      return { kind: 'model', version: a };
    case 'i':
      return { kind: 'index', version: a };
    case 'c':
      return { kind: 'catalog', version: a };
    default:
      return null;
  }
}

/**
 * Gives the user's ratings a new version (the next of one global sequence) and queues the notice;
 * call it in the transaction that writes the ratings, first, so writers of one user queue on the
 * users row before they lock any movie. Returns the new version.
 */
export async function bumpRatingsVersion(tx: EntityManager, userId: number): Promise<number> {
  const rows: { version: number }[] = await tx.query(
    `WITH bumped AS (
       UPDATE users SET ratings_version = nextval('ratings_version_seq') WHERE id = $1 RETURNING id, ratings_version
     )
     SELECT ratings_version::float8 AS version, cinegraph_notify('u:' || id || ':' || ratings_version)::text AS sent
       FROM bumped`,
    [userId],
  );
  return rows[0]?.version ?? 0;
}

/** A new catalog version and its notice, in the caller's transaction (an import rewrote ratings in bulk). */
export async function bumpCatalogVersion(query: (sql: string) => Promise<unknown>): Promise<void> {
  await query(`
    WITH bumped AS (UPDATE data_versions SET version = version + 1 WHERE name = 'catalog' RETURNING version)
    SELECT cinegraph_notify('c:' || version)::text FROM bumped`);
}

/** What polling reads: every version, users since a watermark. */
export interface VersionsRow {
  kind: 'u' | 'catalog' | 'index' | 'm';
  id: number;
  version: number;
}

/**
 * The versions as they stand: catalog, index, the active model (version 0: none), and the users
 * whose ratings version is above `usersAfter` (null: none, only the watermark's maximum in row 'u' 0).
 */
export async function readVersions(
  query: (sql: string, params: unknown[]) => Promise<VersionsRow[]>,
  usersAfter: number | null,
): Promise<VersionsRow[]> {
  return query(
    `SELECT name AS kind, 0 AS id, version::float8 AS version FROM data_versions
     UNION ALL SELECT 'm', 0, coalesce((SELECT id FROM model_versions WHERE status = 'active'), 0)
     UNION ALL SELECT 'u', 0, coalesce((SELECT max(ratings_version) FROM users), 0)::float8
     UNION ALL SELECT 'u', id, ratings_version::float8 FROM users
                WHERE $1::bigint IS NOT NULL AND ratings_version > $1::bigint`,
    [usersAfter],
  );
}
