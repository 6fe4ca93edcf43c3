import { performance } from 'node:perf_hooks';
import { easeWeightsFromGram, type EaseModel } from '../src/engines/collaborative/kernels/ease';
import { encodeRating, type RatingEncoding } from '../src/engines/collaborative/kernels/pure-svd';
import { buildCsr } from '../src/engines/collaborative/kernels/sparse';
import { TrainingOptionsError } from './biased-mf';
import type { RatingsDataset } from './dataset';
import { invertOnThreads, MIN_THREADED_COLUMNS, sharedFloat64Array } from './ease-sweep';

export interface EaseOptions {
  readonly encoding: RatingEncoding;
  /**
   * λ as a multiple of the Gram matrix's mean diagonal (the mean Σ x² of a column), so one setting
   * means the same shrinkage on 100K ratings and on 25M.
   */
  readonly lambdaScale: number;
  /** Movies with fewer training ratings get no column (never ranked by this model). */
  readonly minRatings: number;
  /**
   * At most this many columns, the most rated first: training costs columns³/2 multiply-adds and
   * columns² × 12 bytes at its peak, serving columns² × 4 bytes and columns per rated movie.
   */
  readonly maxColumns: number;
}

export interface EaseResult {
  readonly model: EaseModel;
  readonly lambda: number;
  readonly trainSeconds: number;
}

export function validateEaseOptions(options: EaseOptions): void {
  if (!['binary', 'rating', 'centered'].includes(options.encoding))
    throw new TrainingOptionsError("encoding must be 'binary', 'rating' or 'centered'");
  if (!(options.lambdaScale > 0) || !Number.isFinite(options.lambdaScale))
    throw new TrainingOptionsError('lambdaScale must be a positive number');
  if (!Number.isInteger(options.minRatings) || options.minRatings < 1)
    throw new TrainingOptionsError('minRatings must be a positive integer');
  if (!Number.isInteger(options.maxColumns) || options.maxColumns < 1)
    throw new TrainingOptionsError('maxColumns must be a positive integer');
}

/** The items that get a column: at least minRatings ratings, the most rated maxColumns, ascending. */
export function easeColumnsOf(dataset: RatingsDataset, options: EaseOptions): Int32Array {
  const counts = new Int32Array(dataset.numItems);
  for (let n = 0; n < dataset.size; n++) counts[dataset.items[n]]++;
  const eligible: number[] = [];
  for (let item = 0; item < dataset.numItems; item++)
    if (counts[item] >= options.minRatings) eligible.push(item);
  if (eligible.length > options.maxColumns) eligible.sort((a, b) => counts[b] - counts[a] || a - b);
  return Int32Array.from(eligible.slice(0, options.maxColumns)).sort();
}

/**
 * Fits EASE on every rating of `dataset` whose movie gets a column. `threads` share the inversion
 * (ease-sweep.ts); they change how fast the model comes, not one bit of it.
 */
export function trainEase(dataset: RatingsDataset, options: EaseOptions, threads = 1): EaseResult {
  validateEaseOptions(options);
  const started = performance.now();
  const columns = easeColumnsOf(dataset, options);
  const n = columns.length;
  if (n === 0) throw new TrainingOptionsError(`no movie has ${options.minRatings} ratings: nothing to fit`);
  const columnOf = new Int32Array(dataset.numItems).fill(-1);
  columns.forEach((item, column) => (columnOf[item] = column));
  const byUser = buildCsr(dataset.users, dataset.items, dataset.ratings, dataset.numUsers, dataset.numItems);
  const threaded = threads > 1 && n >= MIN_THREADED_COLUMNS;
  const gram = threaded ? sharedFloat64Array(n * n) : new Float64Array(n * n);
  const userColumns = new Int32Array(dataset.numItems);
  const userValues = new Float64Array(dataset.numItems);
  for (let user = 0; user < dataset.numUsers; user++) {
    const from = byUser.offsets[user];
    const to = byUser.offsets[user + 1];
    let mean = 0;
    if (options.encoding === 'centered' && to > from) {
      for (let e = from; e < to; e++) mean += byUser.values[e];
      mean /= to - from;
    }
    let count = 0;
    for (let e = from; e < to; e++) {
      const column = columnOf[byUser.columns[e]];
      if (column < 0) continue;
      userColumns[count] = column;
      userValues[count++] = encodeRating(options.encoding, byUser.values[e], mean);
    }
    // Upper triangle only: the inversion reads no other. The user's columns ascend (CSR rows are
    // sorted and columnOf keeps the order), so the pairs with cb ≥ ca start at the first entry of
    // ca's own run (a movie rated twice is two entries) and nothing after it is skipped.
    let runStart = 0;
    for (let a = 0; a < count; a++) {
      const ca = userColumns[a];
      if (a > 0 && userColumns[a - 1] !== ca) runStart = a;
      const va = userValues[a];
      const row = ca * n;
      for (let b = runStart; b < count; b++) gram[row + userColumns[b]] += va * userValues[b];
    }
  }
  let diagonal = 0;
  for (let i = 0; i < n; i++) diagonal += gram[i * n + i];
  // An all-zero Gram matrix (every value 0 under 'centered') still gets a positive ridge.
  const lambda = options.lambdaScale * Math.max(diagonal / n, 1e-6);
  // invertOnThreads itself stays on this thread below MIN_THREADED_COLUMNS or off shared memory.
  const weights = easeWeightsFromGram(gram, n, lambda, (matrix, size) =>
    invertOnThreads(matrix, size, threads),
  );
  return {
    model: { encoding: options.encoding, lambda, columns, weights, numItems: dataset.numItems },
    lambda,
    trainSeconds: (performance.now() - started) / 1000,
  };
}
