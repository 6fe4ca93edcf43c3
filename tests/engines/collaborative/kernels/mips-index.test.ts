import { mipsCatalog } from '../../../../fixtures/mips-catalog';
import { factorScores, itemScore } from '../../../../src/engines/collaborative/kernels/linalg';
import { buildMipsIndex, searchMipsIndex } from '../../../../src/engines/collaborative/kernels/mips-index';
import { Mulberry32 } from '../../../../src/engines/collaborative/kernels/prng';
import { topK } from '../../../../src/engines/collaborative/kernels/top-k';
import { TopNScorer } from '../../../../src/engines/collaborative/kernels/top-n-model';
import { createFactorRowScorer } from '../../../../src/engines/collaborative/kernels/wasm-factor-dots';

/** PureSVD factors fitted to planted ratings: 6,000 movies, deterministic. */
const catalog = mipsCatalog({ items: 6000, users: 2500, rank: 32, seed: 3 });
const { itemFactors: factors, rank } = catalog.model;
const numItems = factors.length / rank;
const index = buildMipsIndex(factors, rank);

/** The full pass: every movie scored, the excluded and unrated ones masked, topK. */
function exactTop(vector: Float64Array, k: number, excluded: (item: number) => boolean): Int32Array {
  const scores = new Float32Array(numItems);
  factorScores(factors, rank, vector, scores);
  for (let item = 0; item < numItems; item++) if (excluded(item)) scores[item] = -Infinity;
  // Unrated movies have all-zero rows: the index leaves them out, and so does the engine.
  for (let item = 0; item < numItems; item++) {
    let zero = true;
    for (let f = 0; f < rank && zero; f++) zero = factors[item * rank + f] === 0;
    if (zero) scores[item] = -Infinity;
  }
  return topK(scores, k);
}

describe('top-N by descending factor norm', () => {
  const users = Array.from({ length: 150 }, (_, n) => n * 16);

  it("returns exactly the full pass's top 10 and top 100, scores included, never a rated movie", () => {
    for (const user of users) {
      const vector = catalog.userVector(user);
      const rated = new Set(catalog.userRatings(user).items);
      for (const k of [10, 100]) {
        const found = searchMipsIndex(index, vector, k, (item) => !rated.has(item));
        expect([...found.items]).toEqual([...exactTop(vector, k, (item) => rated.has(item))]);
        found.items.forEach((item, n) =>
          expect(found.scores[n]).toBe(itemScore(vector, factors, item * rank, rank)),
        );
      }
    }
  });

  it('stops before the end of the catalog for the typical user', () => {
    // This planted catalog's norms are flatter than a release's (the 25M synthetic release's
    // model left 94% of its movies unscored at the median, scripts/bench-ann.ts --database); here
    // about a quarter.
    const scanned = users.map((user) => {
      const rated = new Set(catalog.userRatings(user).items);
      return searchMipsIndex(index, catalog.userVector(user), 100, (item) => !rated.has(item)).scanned;
    });
    scanned.sort((a, b) => a - b);
    expect(scanned[Math.floor(scanned.length / 2)]).toBeLessThan(0.9 * index.numItems);
  });

  it('scans on when a filter passes few movies, so a rare filter still fills the list in exact order', () => {
    const vector = catalog.userVector(3);
    // One movie in 200 passes: all of them come back, in the full pass's order.
    const rare = (item: number) => item % 200 === 0;
    const found = searchMipsIndex(index, vector, 1000, rare);
    expect([...found.items]).toEqual([...exactTop(vector, 1000, (item) => !rare(item))]);
  });

  it('breaks ties as the full pass does, to the lower movie index, even across the norm order', () => {
    // Rows 0–3 score the same against (1, 0) but differ in norm; row 4 scores higher.
    const rows = Float32Array.from([1, 2, 1, 0, 1, -3, 1, 1, 2, 0]);
    const tied = buildMipsIndex(rows, 2);
    const vector = Float64Array.from([1, 0]);
    expect([...searchMipsIndex(tied, vector, 3).items]).toEqual([4, 0, 1]);
    expect([...searchMipsIndex(tied, vector, 0).items]).toEqual([]);
  });

  it('leaves out movies whose factor row is all zero (unrated at training time)', () => {
    const random = new Mulberry32(9);
    const rows = Float32Array.from({ length: 50 * 4 }, (_, f) => (f < 8 ? 0 : random.nextGaussian()));
    const small = buildMipsIndex(rows, 4);
    expect(small.numItems).toBe(48);
    const all = searchMipsIndex(small, Float64Array.from([1, 1, 1, 1]), 50);
    expect(all.items).toHaveLength(48);
    expect([...all.items]).not.toContain(0);
    expect([...all.items]).not.toContain(1);
  });

  it("scores one item as the full pass does (the engine scores other engines' candidates so)", () => {
    const rated = catalog.userRatings(11);
    const scorer = new TopNScorer({ ...catalog.model, kind: 'puresvd' });
    const lazy = scorer.scoreUser(rated.items, rated.ratings);
    const single = [5, 50, 500].map((item) => lazy.score(item));
    expect(single).toEqual([5, 50, 500].map((item) => lazy.scores[item]));
  });
});

describe('the factor row scorer', () => {
  it('scores consecutive rows in WebAssembly SIMD exactly as itemScore does, bit for bit', () => {
    const random = new Mulberry32(21);
    for (const rankOf of [2, 32, 50]) {
      const simd = createFactorRowScorer(300, rankOf, 64);
      const js = createFactorRowScorer(300, rankOf, 64, { wasm: false });
      expect([simd.simd, js.simd]).toEqual([true, false]);
      for (let i = 0; i < simd.rows.length; i++)
        simd.rows[i] = random.nextGaussian() * 10 ** random.nextInt(4);
      js.rows.set(simd.rows);
      const user = Float64Array.from({ length: rankOf }, () => random.nextGaussian() / 3);
      simd.setUser(user);
      js.setUser(user);
      for (const [first, count] of [
        [0, 64],
        [17, 1],
        [250, 50],
      ]) {
        const fromSimd = Array.from(simd.score(first, count));
        expect(fromSimd).toEqual(Array.from(js.score(first, count)));
        fromSimd.forEach((score, r) =>
          expect(score).toBe(itemScore(user, simd.rows, (first + r) * rankOf, rankOf)),
        );
      }
      expect(simd.score(5, 0)).toHaveLength(0);
    }
  });

  it('scores an odd rank in JavaScript (the SIMD lanes are the even and odd factors)', () => {
    const odd = createFactorRowScorer(10, 5, 4);
    expect(odd.simd).toBe(false);
    odd.rows.set(Float32Array.from({ length: 50 }, (_, i) => i / 7));
    odd.setUser([1, -2, 3, -4, 5]);
    expect(Array.from(odd.score(3, 2))).toEqual([
      itemScore([1, -2, 3, -4, 5], odd.rows, 15, 5),
      itemScore([1, -2, 3, -4, 5], odd.rows, 20, 5),
    ]);
  });
});
