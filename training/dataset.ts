import type { RatingTriples } from '../src/engines/collaborative/kernels/sgd';
import { Mulberry32 } from '../src/engines/collaborative/kernels/prng';

/** The fields every rating source provides (MovieLens files, Postgres, …). */
export interface RatingRecord {
  readonly userId: number;
  readonly movieId: number;
  readonly rating: number;
  /** Unix seconds. */
  readonly timestamp: number;
}

/**
 * Ratings on dense indices: user u is userIds[u] externally, item i is itemIds[i]. An index may have
 * no ratings at all (e.g. a catalog item seen only in a test set); models must fall back for it.
 */
export interface RatingsDataset extends RatingTriples {
  readonly timestamps: Float64Array;
  readonly userIds: Int32Array;
  readonly itemIds: Int32Array;
  readonly numUsers: number;
  readonly numItems: number;
  readonly size: number;
}

export interface IdSpace {
  readonly userIds: Int32Array;
  readonly itemIds: Int32Array;
}

export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetError';
  }
}

export function createDataset(fields: {
  users: Int32Array;
  items: Int32Array;
  ratings: Float32Array;
  timestamps: Float64Array;
  userIds: Int32Array;
  itemIds: Int32Array;
}): RatingsDataset {
  const size = fields.ratings.length;
  if (fields.users.length !== size || fields.items.length !== size || fields.timestamps.length !== size) {
    throw new DatasetError('users, items, ratings and timestamps must have the same length');
  }
  return { ...fields, numUsers: fields.userIds.length, numItems: fields.itemIds.length, size };
}

/** Sorted distinct ids (ascending, so the dense index order is reproducible). */
export function distinctSorted(values: Iterable<number>): Int32Array {
  return Int32Array.from(new Set(values)).sort();
}

/** The id space spanned by some sets of rows: every user and item appearing in any of them. */
export function idSpaceOf(...rowSets: readonly (readonly RatingRecord[])[]): IdSpace {
  const users = new Set<number>();
  const items = new Set<number>();
  for (const rows of rowSets) {
    for (const row of rows) {
      users.add(row.userId);
      items.add(row.movieId);
    }
  }
  return { userIds: distinctSorted(users), itemIds: distinctSorted(items) };
}

export function indexOfIds(ids: Int32Array): Map<number, number> {
  const index = new Map<number, number>();
  ids.forEach((id, position) => index.set(id, position));
  return index;
}

/** Builds a dataset from rows; the id space defaults to the rows' own users and items. */
export function datasetFromRows(
  rows: readonly RatingRecord[],
  space: IdSpace = idSpaceOf(rows),
): RatingsDataset {
  const userIndex = indexOfIds(space.userIds);
  const itemIndex = indexOfIds(space.itemIds);
  const users = new Int32Array(rows.length);
  const items = new Int32Array(rows.length);
  const ratings = new Float32Array(rows.length);
  const timestamps = new Float64Array(rows.length);
  rows.forEach((row, n) => {
    const user = userIndex.get(row.userId);
    const item = itemIndex.get(row.movieId);
    if (user === undefined || item === undefined) {
      throw new DatasetError(`rating (${row.userId}, ${row.movieId}) is outside the dataset's id space`);
    }
    users[n] = user;
    items[n] = item;
    ratings[n] = row.rating;
    timestamps[n] = row.timestamp;
  });
  return createDataset({ users, items, ratings, timestamps, ...space });
}

/** The ratings at `positions`, in that order, sharing the id space. */
export function selectRatings(dataset: RatingsDataset, positions: Int32Array): RatingsDataset {
  const pick = <T extends Int32Array | Float32Array | Float64Array>(source: T): T => {
    const out = new (source.constructor as new (length: number) => T)(positions.length);
    for (let n = 0; n < positions.length; n++) out[n] = source[positions[n]];
    return out;
  };
  return createDataset({
    users: pick(dataset.users),
    items: pick(dataset.items),
    ratings: pick(dataset.ratings),
    timestamps: pick(dataset.timestamps),
    userIds: dataset.userIds,
    itemIds: dataset.itemIds,
  });
}

export function ratingScaleOf(dataset: RatingTriples): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const rating of dataset.ratings) {
    if (rating < min) min = rating;
    if (rating > max) max = rating;
  }
  if (min > max) throw new DatasetError('the dataset has no ratings');
  return { min, max };
}

export function meanRating(dataset: RatingTriples): number {
  let sum = 0;
  for (const rating of dataset.ratings) sum += rating;
  return dataset.ratings.length === 0 ? 0 : sum / dataset.ratings.length;
}

export function countPerIndex(indices: Int32Array, size: number): Int32Array {
  const counts = new Int32Array(size);
  for (const index of indices) counts[index]++;
  return counts;
}

/**
 * A uniform random `count` of `values`, and the rest, both sorted ascending: a partial Fisher–Yates,
 * so the sample depends on the order of `values` and the rng state. Reorders `values` in place
 * (no copy of what may be every rating position).
 */
export function sampleWithoutReplacement(
  values: Int32Array,
  count: number,
  rng: Mulberry32,
): { sample: Int32Array; rest: Int32Array } {
  for (let n = 0; n < count; n++) {
    const j = n + rng.nextInt(values.length - n);
    const held = values[n];
    values[n] = values[j];
    values[j] = held;
  }
  return { sample: values.slice(0, count).sort(), rest: values.slice(count).sort() };
}

/** A seeded random holdout of about `fraction` of the ratings (exactly round(fraction·n)). */
export function splitHoldout(
  dataset: RatingsDataset,
  fraction: number,
  seed: number,
): { train: RatingsDataset; holdout: RatingsDataset } {
  if (!(fraction >= 0 && fraction < 1))
    throw new DatasetError(`holdout fraction must be in [0, 1), got ${fraction}`);
  const positions = Int32Array.from({ length: dataset.size }, (_, n) => n);
  const { sample: holdout, rest: train } = sampleWithoutReplacement(
    positions,
    Math.round(fraction * dataset.size),
    new Mulberry32(seed),
  );
  return { train: selectRatings(dataset, train), holdout: selectRatings(dataset, holdout) };
}
