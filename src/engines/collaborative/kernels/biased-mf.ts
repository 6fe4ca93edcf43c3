/**
 * Biased matrix factorisation, r̂(u, i) = μ + b_u + b_i + p_u·q_i, stored row-major on typed arrays so
 * the same arrays serve training, evaluation and online serving without conversion.
 */
export interface BiasedMfParameters {
  /** Number of latent factors per user and per item. */
  readonly k: number;
  /** Global mean rating. */
  mu: number;
  readonly userBias: Float64Array;
  readonly itemBias: Float64Array;
  /** numUsers × k, row-major. */
  readonly userFactors: Float32Array;
  /** numItems × k, row-major. */
  readonly itemFactors: Float32Array;
}

export interface RatingScale {
  readonly min: number;
  readonly max: number;
}

/** Dot product of row a of `left` with row b of `right` (both row-major with `k` columns). */
export function rowDot(left: Float32Array, a: number, right: Float32Array, b: number, k: number): number {
  let aOffset = a * k;
  let bOffset = b * k;
  const end = aOffset + k;
  // Four independent accumulators let the CPU overlap the multiply-adds.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (; aOffset + 3 < end; aOffset += 4, bOffset += 4) {
    s0 += left[aOffset] * right[bOffset];
    s1 += left[aOffset + 1] * right[bOffset + 1];
    s2 += left[aOffset + 2] * right[bOffset + 2];
    s3 += left[aOffset + 3] * right[bOffset + 3];
  }
  for (; aOffset < end; aOffset++, bOffset++) s0 += left[aOffset] * right[bOffset];
  return s0 + s1 + (s2 + s3);
}

/** Dot product of a dense vector with row b of a row-major matrix. */
export function vectorRowDot(
  vector: ArrayLike<number>,
  matrix: Float32Array,
  row: number,
  k: number,
): number {
  const offset = row * k;
  let s0 = 0;
  let s1 = 0;
  let f = 0;
  for (; f + 1 < k; f += 2) {
    s0 += vector[f] * matrix[offset + f];
    s1 += vector[f + 1] * matrix[offset + f + 1];
  }
  if (f < k) s0 += vector[f] * matrix[offset + f];
  return s0 + s1;
}

export function clip(value: number, scale: RatingScale): number {
  return value < scale.min ? scale.min : value > scale.max ? scale.max : value;
}

/** Unclipped prediction for dense user and item indices. */
export function predictBiased(model: BiasedMfParameters, user: number, item: number): number {
  return (
    model.mu +
    model.userBias[user] +
    model.itemBias[item] +
    rowDot(model.userFactors, user, model.itemFactors, item, model.k)
  );
}

/** Unclipped predictions for one user over every item, written into `out` (length numItems). */
export function predictAllItems(model: BiasedMfParameters, user: number, out: Float32Array): void {
  const base = model.mu + model.userBias[user];
  const numItems = model.itemBias.length;
  for (let item = 0; item < numItems; item++) {
    out[item] =
      base + model.itemBias[item] + rowDot(model.userFactors, user, model.itemFactors, item, model.k);
  }
}

/** Predictions over every item from a user vector that is not stored in the model (e.g. a fold-in). */
export function predictAllItemsFor(
  model: BiasedMfParameters,
  userBias: number,
  userFactors: ArrayLike<number>,
  out: Float32Array,
): void {
  const base = model.mu + userBias;
  const numItems = model.itemBias.length;
  for (let item = 0; item < numItems; item++) {
    out[item] = base + model.itemBias[item] + vectorRowDot(userFactors, model.itemFactors, item, model.k);
  }
}
