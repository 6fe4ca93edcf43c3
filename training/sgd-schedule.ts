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
  /** Rating positions grouped by block; block b occupies order[blockStarts[b] .. blockStarts[b + 1]). */
  readonly order: Int32Array;
  readonly blockStarts: Int32Array;
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

export function buildStratifiedLayout(
  triples: RatingTriples,
  numUsers: number,
  numItems: number,
  strata: number,
  allocator: ArrayAllocator,
): StratifiedLayout {
  const userGroup = balancedGroups(triples.users, numUsers, strata);
  const itemGroup = balancedGroups(triples.items, numItems, strata);
  const size = triples.ratings.length;
  const blockOf = (n: number) => userGroup[triples.users[n]] * strata + itemGroup[triples.items[n]];
  const blockCount = strata * strata;
  const blockStarts = allocator.int32(blockCount + 1);
  for (let n = 0; n < size; n++) blockStarts[blockOf(n) + 1]++;
  for (let b = 0; b < blockCount; b++) blockStarts[b + 1] += blockStarts[b];
  const cursor = blockStarts.slice(0, blockCount);
  const order = allocator.int32(size);
  for (let n = 0; n < size; n++) order[cursor[blockOf(n)]++] = n;
  return { strata, order, blockStarts };
}

/** The block that user group `row` processes in sub-epoch `subEpoch`. */
export function blockFor(row: number, subEpoch: number, strata: number): number {
  return row * strata + ((row + subEpoch) % strata);
}

/** Reshuffles one block for this epoch and runs SGD over it; returns its sum of squared errors. */
export function runBlock(
  model: BiasedMfParameters,
  triples: RatingTriples,
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
  return sweep(model, triples, layout.order, start, end, rates, weights);
}
