import type { DataSource } from 'typeorm';
import {
  DEFAULT_IMPLICIT_RULE,
  implicitRatingValue,
  type ImplicitRatingRule,
} from '../src/engines/implicit-rating';
import { WATCH_POSITIVE_FRACTION } from '../src/watch-rule';
import { createDataset, type RatingsDataset } from './dataset';

export { WATCH_POSITIVE_FRACTION, DEFAULT_IMPLICIT_RULE, type ImplicitRatingRule };

/** A movie the user liked without rating it (a WATCH ≥ WATCH_POSITIVE_FRACTION). */
export interface ImplicitPositive {
  readonly userId: number;
  readonly movieId: number;
  /** Unix seconds (the latest such event). */
  readonly timestamp: number;
}

/**
 * The dataset plus one rating-like entry per implicit positive the user has not rated (a rating
 * always wins: it says more than a watch). Same item space; users with positives but no ratings are
 * added (the user id space stays sorted). Returns the dataset itself when nothing is added.
 */
export function withImplicitRatings(
  dataset: RatingsDataset,
  positives: readonly ImplicitPositive[],
  rule: ImplicitRatingRule = DEFAULT_IMPLICIT_RULE,
): { dataset: RatingsDataset; added: number } {
  if (positives.length === 0) return { dataset, added: 0 };
  const itemIndex = new Map<number, number>();
  dataset.itemIds.forEach((id, i) => itemIndex.set(id, i));
  const originalUser = new Map<number, number>();
  dataset.userIds.forEach((id, u) => originalUser.set(id, u));
  // A number per (user id, item index): below 2^53 for any int32 user id and up to 2^21 items.
  const keyOf = (userId: number, item: number) => userId * dataset.numItems + item;

  // Positives on movies outside the item space (not in the catalog the model covers) are skipped.
  const wanted = new Map<number, ImplicitPositive>();
  for (const p of positives) {
    const item = itemIndex.get(p.movieId);
    if (item === undefined) continue;
    const key = keyOf(p.userId, item);
    const seen = wanted.get(key);
    if (!seen || seen.timestamp < p.timestamp) wanted.set(key, p);
  }
  const sums = new Float64Array(dataset.numUsers);
  const counts = new Float64Array(dataset.numUsers);
  let total = 0;
  for (let n = 0; n < dataset.size; n++) {
    const user = dataset.users[n];
    sums[user] += dataset.ratings[n];
    counts[user]++;
    total += dataset.ratings[n];
    if (wanted.size > 0) wanted.delete(keyOf(dataset.userIds[user], dataset.items[n]));
  }
  const globalMean = dataset.size > 0 ? total / dataset.size : 3.5;
  const added = [...wanted.values()];
  if (added.length === 0) return { dataset, added: 0 };

  const newUsers = [...new Set(added.filter((p) => !originalUser.has(p.userId)).map((p) => p.userId))];
  let userIds = dataset.userIds;
  let remap: Int32Array | null = null;
  const userIndex = new Map(originalUser);
  if (newUsers.length > 0) {
    userIds = Int32Array.from([...dataset.userIds, ...newUsers]).sort();
    remap = new Int32Array(dataset.numUsers);
    const merged = new Map<number, number>();
    userIds.forEach((id, u) => merged.set(id, u));
    dataset.userIds.forEach((id, u) => {
      (remap as Int32Array)[u] = merged.get(id) as number;
    });
    userIndex.clear();
    for (const [id, u] of merged) userIndex.set(id, u);
  }

  const size = dataset.size + added.length;
  const users = new Int32Array(size);
  const items = new Int32Array(size);
  const ratings = new Float32Array(size);
  const timestamps = new Float64Array(size);
  for (let n = 0; n < dataset.size; n++) users[n] = remap ? remap[dataset.users[n]] : dataset.users[n];
  items.set(dataset.items);
  ratings.set(dataset.ratings);
  timestamps.set(dataset.timestamps);
  added.forEach((p, k) => {
    const n = dataset.size + k;
    const oldUser = originalUser.get(p.userId) ?? -1;
    const mean = oldUser >= 0 && counts[oldUser] > 0 ? sums[oldUser] / counts[oldUser] : null;
    users[n] = userIndex.get(p.userId) as number;
    items[n] = itemIndex.get(p.movieId) as number;
    ratings[n] = implicitRatingValue(mean, globalMean, rule);
    timestamps[n] = p.timestamp;
  });
  return {
    dataset: createDataset({ users, items, ratings, timestamps, userIds, itemIds: dataset.itemIds }),
    added: added.length,
  };
}

/** Every (user, movie) with a WATCH of at least WATCH_POSITIVE_FRACTION, with its latest time. */
export async function loadWatchPositives(db: DataSource): Promise<ImplicitPositive[]> {
  const rows: { user_id: number; movie_id: number; ts: number }[] = await db.query(
    `SELECT user_id, movie_id, extract(epoch FROM max(occurred_at))::float8 AS ts
       FROM feedback_events WHERE type = 'WATCH' AND value >= $1
      GROUP BY user_id, movie_id`,
    [WATCH_POSITIVE_FRACTION],
  );
  return rows.map((r) => ({ userId: r.user_id, movieId: r.movie_id, timestamp: Number(r.ts) }));
}
