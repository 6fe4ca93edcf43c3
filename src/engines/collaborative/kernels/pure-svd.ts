/**
 * PureSVD top-N scoring (Cremonesi, Koren & Turrin 2010): with V the item singular vectors of the
 * (encoded) user–item matrix, a user's scores are r_u V Vᵀ. Folding in a user is therefore just
 * p_u = r_u V, no solve, and any user (new or updated) is scored from their ratings alone.
 */

import { factorScores } from './linalg';

/** How a rating becomes a matrix entry. */
export type RatingEncoding = 'binary' | 'rating' | 'centered';

export interface PureSvdModel {
  readonly rank: number;
  readonly encoding: RatingEncoding;
  /** numItems × rank, row-major. */
  readonly itemFactors: Float32Array;
}

/** The matrix entry for one rating; `userMean` is only used by the 'centered' encoding. */
export function encodeRating(encoding: RatingEncoding, rating: number, userMean: number): number {
  switch (encoding) {
    case 'binary':
      return 1;
    case 'rating':
      return rating;
    case 'centered':
      return rating - userMean;
  }
}

/**
 * The user mean encodeRating subtracts: the mean of `ratings` for the 'centered' encoding, 0 for the
 * others (which never read it). One definition for every kernel that encodes a user's ratings, so a
 * score and its per-rating contributions (the explanation) centre on the same number.
 */
export function encodingMean(encoding: RatingEncoding, ratings: ArrayLike<number>): number {
  if (encoding !== 'centered' || ratings.length === 0) return 0;
  let sum = 0;
  for (let n = 0; n < ratings.length; n++) sum += ratings[n];
  return sum / ratings.length;
}

/**
 * p_u = Σ w_j · e(r_j) · v_j over the user's rated items, into `out` (length rank). `weights` (optional)
 * lets the caller emphasise some ratings, e.g. recent ones.
 */
export function pureSvdUserVector(
  model: PureSvdModel,
  items: ArrayLike<number>,
  ratings: ArrayLike<number>,
  out: Float64Array,
  weights?: ArrayLike<number>,
): void {
  const { rank, itemFactors, encoding } = model;
  out.fill(0, 0, rank);
  const mean = encodingMean(encoding, ratings);
  for (let n = 0; n < items.length; n++) {
    const value = encodeRating(encoding, ratings[n], mean) * (weights ? weights[n] : 1);
    if (value === 0) continue;
    const offset = items[n] * rank;
    for (let f = 0; f < rank; f++) out[f] += value * itemFactors[offset + f];
  }
}

/** scores[i] = p_u · v_i for every item. */
export function pureSvdScores(model: PureSvdModel, userVector: Float64Array, out: Float32Array): void {
  factorScores(model.itemFactors, model.rank, userVector, out);
}
