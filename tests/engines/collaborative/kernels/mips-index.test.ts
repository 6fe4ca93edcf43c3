import { mipsCatalog } from '../../../../fixtures/mips-catalog';
import { factorScores, itemScore } from '../../../../src/engines/collaborative/kernels/linalg';
import {
  buildMipsIndexNow,
  buildMipsIndexSliced,
  searchMipsIndex,
} from '../../../../src/engines/collaborative/kernels/mips-index';
import { Mulberry32 } from '../../../../src/engines/collaborative/kernels/prng';
import { topK } from '../../../../src/engines/collaborative/kernels/top-k';
import { TopNScorer } from '../../../../src/engines/collaborative/kernels/top-n-model';

/** PureSVD factors fitted to planted ratings: 6,000 movies, deterministic. */
const catalog = mipsCatalog({ items: 6000, users: 2500, rank: 32, seed: 3 });
const { itemFactors: factors, rank } = catalog.model;
const numItems = factors.length / rank;
/** Calibrated on the index's own synthetic queries, never on these users. */
const index = buildMipsIndexNow(factors, rank, { seed: 1, calibrationN: 100 });

function exactTop(vector: Float64Array, k: number, excluded: ReadonlySet<number>): Int32Array {
  const scores = new Float32Array(numItems);
  factorScores(factors, rank, vector, scores);
  for (const item of excluded) scores[item] = -Infinity;
  // Unrated movies have all-zero rows: the index leaves them out, and so does the engine.
  for (let item = 0; item < numItems; item++) {
    let zero = true;
    for (let f = 0; f < rank && zero; f++) zero = factors[item * rank + f] === 0;
    if (zero) scores[item] = -Infinity;
  }
  return topK(scores, k);
}

function meanRecall(k: number, users: number[]): number {
  let sum = 0;
  for (const user of users) {
    const vector = catalog.userVector(user);
    const rated = new Set(catalog.userRatings(user).items);
    const exact = exactTop(vector, k, rated);
    const found = new Set(searchMipsIndex(index, vector, k, (item) => !rated.has(item)).items);
    sum += exact.filter((item) => found.has(item)).length / exact.length;
  }
  return sum / users.length;
}

describe('approximate top-N (IVF over the MIPS transform)', () => {
  const users = Array.from({ length: 150 }, (_, n) => n * 16);

  it('finds at least 95% of the exact top 10 and top 100 of users it was not calibrated on', () => {
    expect(meanRecall(10, users)).toBeGreaterThanOrEqual(0.95);
    expect(meanRecall(100, users)).toBeGreaterThanOrEqual(0.95);
  });

  it('scans only part of the catalog, and reports the recall it was calibrated to', () => {
    expect(index.calibratedRecall).toBeGreaterThanOrEqual(0.97);
    expect(index.scanBudget).toBeLessThan(index.numItems / 2);
    const { scanned } = searchMipsIndex(index, catalog.userVector(0), 100);
    expect(scanned).toBeGreaterThanOrEqual(index.scanBudget);
    expect(scanned).toBeLessThan(index.numItems);
  });

  it('gives every found item its exact score, best first, and never an excluded item', () => {
    const vector = catalog.userVector(7);
    const excluded = new Set([...catalog.userRatings(7).items]);
    const found = searchMipsIndex(index, vector, 50, (item) => !excluded.has(item));
    expect(found.items).toHaveLength(50);
    found.items.forEach((item, n) => {
      expect(excluded.has(item)).toBe(false);
      expect(found.scores[n]).toBe(itemScore(vector, factors, item * rank, rank));
      if (n > 0) expect(found.scores[n]).toBeLessThanOrEqual(found.scores[n - 1]);
    });
  });

  it('scans every list when the filter leaves too few items, so a rare filter still fills the list', () => {
    const vector = catalog.userVector(3);
    // One movie in 200 passes: fewer than the budget, all of them must come back in exact order.
    const rare = (item: number) => item % 200 === 0;
    const found = searchMipsIndex(index, vector, 1000, rare);
    const scores = new Float32Array(numItems);
    factorScores(factors, rank, vector, scores);
    for (let item = 0; item < numItems; item++)
      if (!rare(item) || factors.subarray(item * rank, (item + 1) * rank).every((v) => v === 0))
        scores[item] = -Infinity;
    expect([...found.items]).toEqual([...topK(scores, 1000)]);
  });

  it('builds the same index at once and in slices, and a sliced build can be abandoned', async () => {
    const random = new Mulberry32(9);
    const small = Float32Array.from({ length: 800 * 8 }, () => random.nextGaussian());
    const now = buildMipsIndexNow(small, 8, { seed: 2 });
    const sliced = await buildMipsIndexSliced(small, 8, { seed: 2 }, 0.01);
    expect(sliced?.order).toEqual(now.order);
    expect(sliced?.scanBudget).toBe(now.scanBudget);
    expect(await buildMipsIndexSliced(small, 8, { seed: 2 }, 0.01, () => true)).toBeNull();
  });

  it("scores one item as the full pass does (the engine scores other engines' candidates so)", () => {
    const rated = catalog.userRatings(11);
    const scorer = new TopNScorer({ ...catalog.model, kind: 'puresvd' });
    const lazy = scorer.scoreUser(rated.items, rated.ratings);
    const single = [5, 50, 500].map((item) => lazy.score(item));
    expect(single).toEqual([5, 50, 500].map((item) => lazy.scores[item]));
  });
});
