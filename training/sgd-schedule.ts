import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import { deriveSeed, Mulberry32, shuffleInPlace } from '../src/engines/collaborative/kernels/prng';
import type {
  RatingTriples,
  RegularizationWeights,
  SgdRates,
} from '../src/engines/collaborative/kernels/sgd';
import type { ArrayAllocator } from './sgd-memory';

/** A sweep kernel: the JavaScript sgdSweep or the SIMD WasmSgdKernel.sweep, same contract. */
export type SweepKernel = (
  model: BiasedMfParameters,
  triples: RatingTriples,
  order: Int32Array,
  start: number,
  end: number,
  rates: SgdRates,
  weights: RegularizationWeights | null,
) => number;

/**
 * The stratified schedule of DSGD (Gemulla et al. 2011). Users and items are each split into
 * `strata` groups; rating block (r, c) holds the ratings of user group r on item group c. An epoch has
 * `strata` sub-epochs, and sub-epoch s visits the blocks (r, (r + s) mod strata), which share no user
 * and no item, so they can run concurrently without locks and the result does not depend on timing.
 * Each block is reshuffled every epoch from a seed derived from (seed, epoch, block): the model is a
 * pure function of (data, hyperparameters, seed, strata), whatever the number of threads.
 */
export interface StratifiedLayout {
  readonly strata: number;
  /**
   * The ratings stored block after block, each block in its original relative order. A sweep then
   * reads a block's ratings from one contiguous range instead of gathering them from the whole
   * dataset: at 25M ratings the gather missed the cache three times per update.
   */
  readonly triples: RatingTriples;
  /** Positions into `triples`; block b occupies order[blockStarts[b] .. blockStarts[b + 1]). */
  readonly order: Int32Array;
  readonly blockStarts: Int32Array;
}

/**
 * How many bytes of factor rows (and biases) one block may touch: small enough to stay in the cache
 * while the block's ratings are swept, so that each row is read from memory once per block rather
 * than once per rating. Measured on 25M ratings of the ML-25M shape, 300 factors, two threads, this
 * 2-core EPYC (load 1–2), seconds per epoch: 2 strata (134 MB of rows per block) 11.2, 16 strata
 * 7.7 (before blocks were stored contiguously), 32 strata (8.4 MB) 2.7, 64 strata (4.2 MB) 2.9,
 * 128 strata 3.9 (blocks of 1,500 ratings: the per-block shuffle and barriers start to cost).
 */
export const BLOCK_ROW_BYTES = 8 * 2 ** 20;

/**
 * The strata that make one block's rows fit BLOCK_ROW_BYTES: at least 2, and even, so two threads
 * share each sub-epoch's blocks equally. A function of the data's shape only, so the model is still a
 * pure function of (data, hyperparameters, seed); catalogs up to ~1M ratings of the MovieLens shapes
 * (ml-100k, ml-latest-small, ml-1m) keep the 2 strata their models were tuned with.
 */
export function cacheFittingStrata(numUsers: number, numItems: number, factors: number): number {
  const rowBytes = (numUsers + numItems) * (4 * factors + 8);
  const strata = Math.max(2, Math.ceil(rowBytes / BLOCK_ROW_BYTES));
  return strata + (strata % 2);
}

/**
 * Splits rows 0..size−1 into `groups` contiguous ranges holding about the same number of ratings.
 * Contiguous ranges matter for threads: rows of different groups then sit in different cache lines,
 * whereas interleaved rows would have two threads writing neighbouring biases (false sharing).
 */
function balancedGroups(indices: Int32Array, size: number, groups: number): Int32Array {
  const counts = new Int32Array(size);
  for (const index of indices) counts[index]++;
  const groupOf = new Int32Array(size);
  let seen = 0;
  for (let row = 0; row < size; row++) {
    // The group is fixed by how many ratings precede the row's midpoint.
    const middle = seen + counts[row] / 2;
    groupOf[row] = Math.min(groups - 1, Math.floor((middle * groups) / Math.max(1, indices.length)));
    seen += counts[row];
  }
  return groupOf;
}

/**
 * Groups the ratings into blocks. Each block's `order` range starts as the identity over its stored
 * ratings, so the shuffled sequence of ratings an epoch visits is exactly the one a layout of indices
 * into the unordered dataset gave: the stored order changes where ratings sit, never the model.
 */
export function buildStratifiedLayout(
  source: RatingTriples,
  numUsers: number,
  numItems: number,
  strata: number,
  allocator: ArrayAllocator,
): StratifiedLayout {
  const userGroup = balancedGroups(source.users, numUsers, strata);
  const itemGroup = balancedGroups(source.items, numItems, strata);
  const size = source.ratings.length;
  const blockOf = (n: number) => userGroup[source.users[n]] * strata + itemGroup[source.items[n]];
  const blockCount = strata * strata;
  const blockStarts = allocator.int32(blockCount + 1);
  for (let n = 0; n < size; n++) blockStarts[blockOf(n) + 1]++;
  for (let b = 0; b < blockCount; b++) blockStarts[b + 1] += blockStarts[b];
  const cursor = blockStarts.slice(0, blockCount);
  const triples: RatingTriples = {
    users: allocator.int32(size),
    items: allocator.int32(size),
    ratings: allocator.float32(size),
  };
  const order = allocator.int32(size);
  for (let n = 0; n < size; n++) {
    const position = cursor[blockOf(n)]++;
    triples.users[position] = source.users[n];
    triples.items[position] = source.items[n];
    triples.ratings[position] = source.ratings[n];
    order[position] = position;
  }
  return { strata, triples, order, blockStarts };
}

/** The block that user group `row` processes in sub-epoch `subEpoch`. */
export function blockFor(row: number, subEpoch: number, strata: number): number {
  return row * strata + ((row + subEpoch) % strata);
}

/** Reshuffles one block for this epoch and runs SGD over it; returns its sum of squared errors. */
export function runBlock(
  model: BiasedMfParameters,
  layout: StratifiedLayout,
  block: number,
  epoch: number,
  seed: number,
  rates: SgdRates,
  weights: RegularizationWeights | null,
  sweep: SweepKernel,
): number {
  const start = layout.blockStarts[block];
  const end = layout.blockStarts[block + 1];
  shuffleInPlace(layout.order, new Mulberry32(deriveSeed(seed, epoch, block)), start, end);
  return sweep(model, layout.triples, layout.order, start, end, rates, weights);
}
