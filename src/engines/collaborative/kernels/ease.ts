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

/** Pivots swept together: their updates reach the rest of the matrix in one pass over it. */
export const SWEEP_BLOCK_SIZE = 64;

/**
 * Where a blocked sweep keeps one block's pivots: for pivot start + p, row p of `columns` is its
 * column as it stood when it was swept and row p of `factors` that column over the pivot (0 on the
 * pivot itself), both blockSize × n.
 */
export interface SweepBlockBuffers {
  readonly blockSize: number;
  readonly columns: Float64Array;
  readonly factors: Float64Array;
}

export function sweepBlockBuffers(n: number, blockSize = SWEEP_BLOCK_SIZE): SweepBlockBuffers {
  return { blockSize, columns: new Float64Array(blockSize * n), factors: new Float64Array(blockSize * n) };
}

/**
 * Applies the swept pivots start..end − 1 to the upper-triangle entries of rows rowFrom..rowTo − 1
 * that lie outside those pivots' rows and columns, pivot after pivot, each exactly as the unblocked
 * sweep does (so the result is the same bit for bit). Rows are independent: two threads may take
 * disjoint row ranges of one block.
 */
export function sweepTrailingRows(
  matrix: Float64Array,
  n: number,
  start: number,
  end: number,
  buffers: SweepBlockBuffers,
  rowFrom: number,
  rowTo: number,
): void {
  const { columns, factors } = buffers;
  const width = end - start;
  for (let i = rowFrom; i < rowTo; i++) {
    if (i >= start && i < end) continue;
    const row = i * n;
    // Left of the block (rows above it only) and right of it.
    const leftTo = i < start ? start : i;
    const rightFrom = i < start ? end : i;
    let p = 0;
    // Four pivots per pass over the row when none of their factors is 0 (one load and store of an
    // entry for four updates, applied in pivot order as four separate roundings).
    for (; p + 4 <= width; p += 4) {
      const f0 = factors[p * n + i];
      const f1 = factors[(p + 1) * n + i];
      const f2 = factors[(p + 2) * n + i];
      const f3 = factors[(p + 3) * n + i];
      if (f0 === 0 || f1 === 0 || f2 === 0 || f3 === 0) {
        for (let q = p; q < p + 4; q++)
          sweepOnePivot(matrix, row, i, leftTo, rightFrom, n, factors[q * n + i], columns, q * n);
        continue;
      }
      sweepFourPivots(matrix, row, i, leftTo, f0, f1, f2, f3, columns, p * n, n);
      sweepFourPivots(matrix, row, rightFrom, n, f0, f1, f2, f3, columns, p * n, n);
    }
    for (; p < width; p++)
      sweepOnePivot(matrix, row, i, leftTo, rightFrom, n, factors[p * n + i], columns, p * n);
  }
}

/** Entries from..to − 1 of a row take four pivots' updates, in pivot order, in one pass. */
function sweepFourPivots(
  matrix: Float64Array,
  row: number,
  from: number,
  to: number,
  f0: number,
  f1: number,
  f2: number,
  f3: number,
  columns: Float64Array,
  c0: number,
  n: number,
): void {
  const c1 = c0 + n;
  const c2 = c1 + n;
  const c3 = c2 + n;
  for (let j = from; j < to; j++)
    matrix[row + j] =
      matrix[row + j] -
      f0 * columns[c0 + j] -
      f1 * columns[c1 + j] -
      f2 * columns[c2 + j] -
      f3 * columns[c3 + j];
}

function sweepOnePivot(
  matrix: Float64Array,
  row: number,
  i: number,
  leftTo: number,
  rightFrom: number,
  n: number,
  factor: number,
  columns: Float64Array,
  column: number,
): void {
  if (factor === 0) return;
  for (let j = i; j < leftTo; j++) matrix[row + j] -= factor * columns[column + j];
  for (let j = rightFrom; j < n; j++) matrix[row + j] -= factor * columns[column + j];
}

/**
 * Inverts a symmetric positive definite matrix in place by the sweep operator, touching only the
 * upper triangle (half the multiply-adds of Gauss-Jordan), then mirrors it. Throws when a pivot is
 * not positive: the caller's ridge (λ > 0) makes that impossible for a Gram matrix.
 *
 * Blocked: each block of pivots is swept over its own rows and columns one pivot at a time, and
 * `applyBlock` then carries the block's updates to every other entry (sweepTrailingRows, the
 * columns³/2 bulk of the work, which threads can share). Every entry still takes every pivot's
 * update in pivot order with the same operands, so blocking and threads change no bit of the
 * result; skipping a zero factor, as the plain sweep did, keeps even the signs of zeros.
 */
export function invertSymmetricPositiveDefinite(
  matrix: Float64Array,
  n: number,
  buffers: SweepBlockBuffers = sweepBlockBuffers(n),
  applyBlock: (start: number, end: number) => void = (start, end) =>
    sweepTrailingRows(matrix, n, start, end, buffers, 0, n),
): void {
  const { blockSize, columns, factors } = buffers;
  for (let start = 0; start < n; start += blockSize) {
    const end = Math.min(n, start + blockSize);
    for (let k = start; k < end; k++) {
      const pivot = matrix[k * n + k];
      if (!(pivot > 0)) throw new Error(`the matrix is not positive definite (pivot ${k} is ${pivot})`);
      const column = columns.subarray((k - start) * n, (k - start + 1) * n);
      const factor = factors.subarray((k - start) * n, (k - start + 1) * n);
      // Column k of the symmetric matrix, read from the upper triangle.
      for (let i = 0; i < k; i++) column[i] = matrix[i * n + k];
      for (let j = k; j < n; j++) column[j] = matrix[k * n + j];
      const inverse = 1 / pivot;
      for (let i = 0; i < n; i++) factor[i] = i === k ? 0 : column[i] * inverse;
      // Now only the block's own rows (all their upper part) and columns (of every other row).
      for (let i = 0; i < n; i++) {
        const f = factor[i];
        if (f === 0) continue;
        const row = i * n;
        const to = i >= start && i < end ? n : end;
        for (let j = Math.max(i, start); j < to; j++) matrix[row + j] -= f * column[j];
      }
      for (let i = 0; i < k; i++) matrix[i * n + k] = column[i] * inverse;
      for (let j = k + 1; j < n; j++) matrix[k * n + j] = column[j] * inverse;
      matrix[k * n + k] = -inverse;
    }
    applyBlock(start, end);
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
 * B_jj = 0. `invert` is invertSymmetricPositiveDefinite or one that gives the same bits faster.
 */
export function easeWeightsFromGram(
  gram: Float64Array,
  n: number,
  lambda: number,
  invert: (matrix: Float64Array, n: number) => void = invertSymmetricPositiveDefinite,
): Float32Array {
  if (!(lambda > 0)) throw new Error('EASE needs λ > 0');
  for (let i = 0; i < n; i++) gram[i * n + i] += lambda;
  invert(gram, n);
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

/** A user's row as EASE scores it: model item indices, ratings, and the encoding's mean of them. */
export interface EaseUserRow {
  items: ArrayLike<number>;
  ratings: ArrayLike<number>;
  mean: number;
}

/**
 * The sum of easeContributions for `item`, in the same order (so the same value as the column
 * scores give it), without an array of them.
 */
export function easeScore(model: EaseModel, columnOf: Int32Array, user: EaseUserRow, item: number): number {
  const target = columnOf[item];
  if (target < 0) return 0;
  const n = model.columns.length;
  const { items, ratings, mean } = user;
  let sum = 0;
  for (let r = 0; r < items.length; r++) {
    const column = columnOf[items[r]];
    if (column >= 0)
      sum += encodeRating(model.encoding, ratings[r], mean) * model.weights[column * n + target];
  }
  return sum;
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
