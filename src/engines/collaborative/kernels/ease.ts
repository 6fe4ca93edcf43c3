/**
 * EASE (Steck 2019, "Embarrassingly Shallow Autoencoders for Sparse Data"): an item-item weight
 * matrix B with a zero diagonal minimising ‖X − XB‖² + λ‖B‖², in closed form from P = (XᵀX + λI)⁻¹:
 * B_ij = −P_ij / P_jj. A user's score for item j is Σ_i x_ui B_ij over their rated items, so any user
 * (new or just updated) is scored from their ratings alone, with no fold-in solve, and each rating's
 * share of a score is one term of that sum.
 *
 * The matrix is dense over its columns, so training is cubic and serving quadratic in their number:
 * training keeps the most rated movies up to a bound (training/ease.ts); the others are not ranked.
 */
import { encodeRating, encodingMean, type RatingEncoding } from './pure-svd';

export interface EaseModel {
  readonly encoding: RatingEncoding;
  /** The ridge the weights were solved with (absolute; recorded, not needed to score). */
  readonly lambda: number;
  /** The model item index of each column of `weights` (ascending). */
  readonly columns: Int32Array;
  /** columns × columns, row-major: row a holds what a rating of columns[a] adds to every column. */
  readonly weights: Float32Array;
  /** Items of the model (columns index into them); items without a column are never ranked. */
  readonly numItems: number;
}

/**
 * Inverts a symmetric positive definite matrix in place by the sweep operator, touching only the
 * upper triangle (half the multiply-adds of Gauss-Jordan), then mirrors it. Throws when a pivot is
 * not positive: the caller's ridge (λ > 0) makes that impossible for a Gram matrix.
 */
export function invertSymmetricPositiveDefinite(matrix: Float64Array, n: number): void {
  const column = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const pivot = matrix[k * n + k];
    if (!(pivot > 0)) throw new Error(`the matrix is not positive definite (pivot ${k} is ${pivot})`);
    // Column k of the symmetric matrix, read from the upper triangle.
    for (let i = 0; i < k; i++) column[i] = matrix[i * n + k];
    for (let j = k; j < n; j++) column[j] = matrix[k * n + j];
    const inverse = 1 / pivot;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const factor = column[i] * inverse;
      if (factor === 0) continue;
      const row = i * n;
      for (let j = i; j < n; j++) matrix[row + j] -= factor * column[j];
    }
    for (let i = 0; i < k; i++) matrix[i * n + k] = column[i] * inverse;
    for (let j = k + 1; j < n; j++) matrix[k * n + j] = column[j] * inverse;
    matrix[k * n + k] = -inverse;
  }
  // Sweeping every pivot leaves −A⁻¹ in the upper triangle.
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = i; j < n; j++) {
      const value = -matrix[row + j];
      matrix[row + j] = value;
      matrix[j * n + i] = value;
    }
  }
}

/**
 * B from the Gram matrix G = XᵀX (columns × columns, consumed): P = (G + λI)⁻¹, B_ij = −P_ij / P_jj,
 * B_jj = 0.
 */
export function easeWeightsFromGram(gram: Float64Array, n: number, lambda: number): Float32Array {
  if (!(lambda > 0)) throw new Error('EASE needs λ > 0');
  for (let i = 0; i < n; i++) gram[i * n + i] += lambda;
  invertSymmetricPositiveDefinite(gram, n);
  const diagonal = new Float64Array(n);
  for (let j = 0; j < n; j++) diagonal[j] = gram[j * n + j];
  const weights = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) weights[row + j] = i === j ? 0 : -gram[row + j] / diagonal[j];
  }
  return weights;
}

/** The column of each model item, −1 for items without one. */
export function easeColumnOf(model: EaseModel): Int32Array {
  const columnOf = new Int32Array(model.numItems).fill(-1);
  model.columns.forEach((item, column) => (columnOf[item] = column));
  return columnOf;
}

/**
 * Σ_a x_a B_a· over the user's rated items that have a column, into `out` (length columns). `items`
 * are model item indices.
 */
export function easeColumnScores(
  model: EaseModel,
  columnOf: Int32Array,
  items: ArrayLike<number>,
  ratings: ArrayLike<number>,
  out: Float64Array,
): void {
  const n = model.columns.length;
  out.fill(0, 0, n);
  const mean = encodingMean(model.encoding, ratings);
  for (let r = 0; r < items.length; r++) {
    const column = columnOf[items[r]];
    if (column < 0) continue;
    const value = encodeRating(model.encoding, ratings[r], mean);
    if (value === 0) continue;
    const row = column * n;
    for (let j = 0; j < n; j++) out[j] += value * model.weights[row + j];
  }
}

/** Per rating (in the order given), its term of `item`'s score (0 for movies without a column). */
export function easeContributions(
  model: EaseModel,
  columnOf: Int32Array,
  items: ArrayLike<number>,
  ratings: ArrayLike<number>,
  item: number,
): Float64Array {
  const out = new Float64Array(items.length);
  const target = columnOf[item];
  if (target < 0) return out;
  const n = model.columns.length;
  const mean = encodingMean(model.encoding, ratings);
  for (let r = 0; r < items.length; r++) {
    const column = columnOf[items[r]];
    if (column >= 0)
      out[r] = encodeRating(model.encoding, ratings[r], mean) * model.weights[column * n + target];
  }
  return out;
}

/**
 * easeContributions at `positions` only (in that order), with the encoding's user mean given: the
 * same products, so the same values.
 */
export function easeContributionsAt(
  model: EaseModel,
  columnOf: Int32Array,
  items: ArrayLike<number>,
  ratings: ArrayLike<number>,
  mean: number,
  item: number,
  positions: readonly number[],
): Float64Array {
  const out = new Float64Array(positions.length);
  const target = columnOf[item];
  if (target < 0) return out;
  const n = model.columns.length;
  for (let k = 0; k < positions.length; k++) {
    const r = positions[k];
    const column = columnOf[items[r]];
    if (column >= 0)
      out[k] = encodeRating(model.encoding, ratings[r], mean) * model.weights[column * n + target];
  }
  return out;
}
