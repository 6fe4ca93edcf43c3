import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import { deriveSeed, Mulberry32, shuffleInPlace } from '../src/engines/collaborative/kernels/prng';
import {
  sgdSweep,
  type RatingTriples,
  type RegularizationWeights,
  type SgdRates,
} from '../src/engines/collaborative/kernels/sgd';

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

/** Longest-processing-time assignment of rows to groups, balancing their rating counts. */
function balancedGroups(indices: Int32Array, size: number, groups: number): Int32Array {
  const counts = new Int32Array(size);
  for (const index of indices) counts[index]++;
  const byCount = Array.from({ length: size }, (_, i) => i).sort((a, b) => counts[b] - counts[a] || a - b);
  const load = new Float64Array(groups);
  const groupOf = new Int32Array(size);
  for (const index of byCount) {
    let lightest = 0;
    for (let g = 1; g < groups; g++) if (load[g] < load[lightest]) lightest = g;
    groupOf[index] = lightest;
    load[lightest] += counts[index];
  }
  return groupOf;
}

export function buildStratifiedLayout(
  triples: RatingTriples,
  numUsers: number,
  numItems: number,
  strata: number,
  shared: boolean,
): StratifiedLayout {
  const userGroup = balancedGroups(triples.users, numUsers, strata);
  const itemGroup = balancedGroups(triples.items, numItems, strata);
  const size = triples.ratings.length;
  const blockOf = (n: number) => userGroup[triples.users[n]] * strata + itemGroup[triples.items[n]];
  const blockCount = strata * strata;
  const int32 = (length: number) =>
    shared ? new Int32Array(new SharedArrayBuffer(4 * length)) : new Int32Array(length);
  const blockStarts = int32(blockCount + 1);
  for (let n = 0; n < size; n++) blockStarts[blockOf(n) + 1]++;
  for (let b = 0; b < blockCount; b++) blockStarts[b + 1] += blockStarts[b];
  const cursor = blockStarts.slice(0, blockCount);
  const order = int32(size);
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
): number {
  const start = layout.blockStarts[block];
  const end = layout.blockStarts[block + 1];
  shuffleInPlace(layout.order, new Mulberry32(deriveSeed(seed, epoch, block)), start, end);
  return sgdSweep(model, triples, layout.order, start, end, rates, weights);
}
