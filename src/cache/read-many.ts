import type { Version, VersionedCache } from './versioned-cache';

/**
 * Values by id through a cache: fresh ids from memory, every other id in one read, stored under
 * `version`. Ids the read does not return are not remembered (asked again next time).
 */
export async function readMany<V extends { id: number }>(
  ids: Iterable<number>,
  cache: VersionedCache<number, V>,
  version: Version,
  read: (ids: number[]) => Promise<V[]>,
): Promise<V[]> {
  const found: V[] = [];
  const missing: number[] = [];
  for (const id of new Set(ids)) {
    const hit = cache.get(id, version);
    if (hit) found.push(hit);
    else missing.push(id);
  }
  if (missing.length === 0) return found;
  const catalog = cache.catalog();
  const rows = await read(missing);
  for (const row of rows) cache.set(row.id, row, version, { catalog });
  return found.concat(rows);
}
