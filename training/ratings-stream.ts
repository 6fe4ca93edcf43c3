import type { DataSource } from 'typeorm';
import { createDataset, DatasetError, type RatingsDataset } from './dataset';

/**
 * Reads the ratings table into a RatingsDataset without ever holding it as rows: keyset-paginated
 * batches (the primary key's order, so every batch is one index range scan) are copied straight into
 * growable typed arrays and dropped. At ML-32M that is 20 bytes per rating (640 MB) plus one batch of
 * row objects, where reading all rows at once held ~150 bytes per rating of objects, a mapped copy and
 * id arrays together and ran out of heap (issue 12). Works the same on Postgres and embedded PGlite.
 */

/** Rows per query: ~15 MB of row objects at a time, few enough round trips (320 at 32M). */
export const RATINGS_BATCH_ROWS = 100_000;

export interface RatingsLoadProgress {
  readonly rows: number;
  /** The planner's estimate of the table's rows (0 when it has none yet). */
  readonly estimatedRows: number;
}

class GrowableInt32 {
  array: Int32Array;
  length = 0;
  constructor(capacity: number) {
    this.array = new Int32Array(Math.max(16, capacity));
  }
  push(value: number): void {
    if (this.length === this.array.length) {
      const grown = new Int32Array(Math.ceil(this.array.length * 1.5));
      grown.set(this.array);
      this.array = grown;
    }
    this.array[this.length++] = value;
  }
  view(): Int32Array {
    return this.array.subarray(0, this.length);
  }
}

/** Four parallel columns, grown together by half again when full (a 1.5× peak only while growing one). */
export class RatingColumns {
  users: Int32Array;
  items: Int32Array;
  ratings: Float32Array;
  timestamps: Float64Array;
  length = 0;

  constructor(capacity: number) {
    const size = Math.max(16, capacity);
    this.users = new Int32Array(size);
    this.items = new Int32Array(size);
    this.ratings = new Float32Array(size);
    this.timestamps = new Float64Array(size);
  }

  ensure(extra: number): void {
    if (this.length + extra <= this.users.length) return;
    const size = Math.max(this.length + extra, Math.ceil(this.users.length * 1.5));
    const grow = <T extends Int32Array | Float32Array | Float64Array>(
      old: T,
      Make: new (n: number) => T,
    ): T => {
      const next = new Make(size);
      next.set(old as never);
      return next;
    };
    this.users = grow(this.users, Int32Array);
    this.items = grow(this.items, Int32Array);
    this.ratings = grow(this.ratings, Float32Array);
    this.timestamps = grow(this.timestamps, Float64Array);
  }
}

interface RatingBatchRow {
  user_id: number;
  movie_id: number;
  rating: number;
  ts: string | number;
}

/**
 * The ratings table on dense indices: users are those with ratings (ascending ids), items the whole
 * movies table (ascending ids), so movies nobody rated yet still get a model row.
 */
export async function loadRatingsDataset(
  db: DataSource,
  options: { batchRows?: number; onProgress?: (progress: RatingsLoadProgress) => void } = {},
): Promise<RatingsDataset> {
  const batchRows = options.batchRows ?? RATINGS_BATCH_ROWS;
  const catalog: { id: number }[] = await db.query(`SELECT id FROM movies ORDER BY id`);
  let itemIds = Int32Array.from(catalog, (m) => m.id);
  let itemIndex = new Map<number, number>();
  itemIds.forEach((id, i) => itemIndex.set(id, i));
  const [{ estimate }]: { estimate: number }[] = await db.query(
    `SELECT greatest(reltuples, 0)::float8 AS estimate FROM pg_class WHERE oid = 'ratings'::regclass`,
  );
  const estimatedRows = Math.round(estimate);
  // 2% headroom for ratings arriving while training reads; past that the columns grow.
  const columns = new RatingColumns(Math.ceil(estimatedRows * 1.02));
  const userIds = new GrowableInt32(Math.ceil(estimatedRows / 100));
  /** Movies rated but missing from the catalog (not possible under the foreign key; kept, like before). */
  const strays: number[] = [];
  let lastUser = 0;
  let lastMovie = 0;
  for (;;) {
    const batch: RatingBatchRow[] = await db.query(
      `SELECT user_id, movie_id, rating, extract(epoch FROM rated_at)::float8 AS ts
         FROM ratings WHERE (user_id, movie_id) > ($1, $2)
         ORDER BY user_id, movie_id LIMIT ${batchRows}`,
      [lastUser, lastMovie],
    );
    if (batch.length === 0) break;
    columns.ensure(batch.length);
    let n = columns.length;
    for (const row of batch) {
      if (userIds.length === 0 || userIds.array[userIds.length - 1] !== row.user_id)
        userIds.push(row.user_id);
      let item = itemIndex.get(row.movie_id);
      if (item === undefined) {
        item = itemIds.length + strays.length;
        itemIndex.set(row.movie_id, item);
        strays.push(row.movie_id);
      }
      columns.users[n] = userIds.length - 1;
      columns.items[n] = item;
      columns.ratings[n] = row.rating;
      columns.timestamps[n] = Number(row.ts);
      n++;
    }
    columns.length = n;
    const last = batch[batch.length - 1];
    lastUser = last.user_id;
    lastMovie = last.movie_id;
    options.onProgress?.({ rows: n, estimatedRows });
    if (batch.length < batchRows) break;
  }
  if (columns.length === 0) throw new DatasetError('the ratings table is empty: import a catalog first');
  const items = columns.items.subarray(0, columns.length);
  if (strays.length > 0) {
    // Re-sort the item space so indices stay in ascending id order, as distinctSorted gives.
    const all = Int32Array.from([...itemIds, ...strays]).sort();
    const sortedIndex = new Map<number, number>();
    all.forEach((id, i) => sortedIndex.set(id, i));
    const remap = new Int32Array(all.length);
    for (const [id, old] of itemIndex) remap[old] = sortedIndex.get(id) ?? 0;
    for (let n = 0; n < items.length; n++) items[n] = remap[items[n]];
    itemIds = all;
    itemIndex = sortedIndex;
  }
  return createDataset({
    users: columns.users.subarray(0, columns.length),
    items,
    ratings: columns.ratings.subarray(0, columns.length),
    timestamps: columns.timestamps.subarray(0, columns.length),
    userIds: userIds.view(),
    itemIds,
  });
}
