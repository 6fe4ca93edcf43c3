import {
  easeColumnOf,
  easeColumnScores,
  type EaseModel,
} from '../../../../src/engines/collaborative/kernels/ease';
import { Mulberry32 } from '../../../../src/engines/collaborative/kernels/prng';
import type { RatingEncoding } from '../../../../src/engines/collaborative/kernels/pure-svd';
import { TopNScorer } from '../../../../src/engines/collaborative/kernels/top-n-model';
import { WasmEaseScorer } from '../../../../src/engines/collaborative/kernels/wasm-ease';

/** A model over `numItems` items with `n` columns (every third item has none) and random weights. */
function randomModel(n: number, encoding: RatingEncoding, seed: number): EaseModel {
  const random = new Mulberry32(seed);
  const columns = Int32Array.from({ length: n }, (_, column) => Math.floor(column * 1.5));
  const weights = Float32Array.from({ length: n * n }, (_, k) =>
    k % (n + 1) === 0 ? 0 : (random.nextFloat() - 0.5) * 10 ** Math.floor(random.nextFloat() * 6 - 3),
  );
  return { encoding, lambda: 1, columns, weights, numItems: columns[n - 1] + 3 };
}

describe('WasmEaseScorer', () => {
  it('scores every column as easeColumnScores does, bit for bit', () => {
    const random = new Mulberry32(9);
    // Odd and even column counts (the SIMD loop takes columns two at a time), one column, every encoding.
    for (const n of [1, 2, 7, 64, 301])
      for (const encoding of ['centered', 'rating', 'binary'] as const) {
        const model = randomModel(n, encoding, n);
        const scorer = WasmEaseScorer.of(model);
        expect(scorer).not.toBeNull();
        const columnOf = easeColumnOf(model);
        for (const rated of [0, 1, 5, 40]) {
          // Items with and without a column, repeated items, and ratings equal to the mean (value 0).
          const items = Int32Array.from({ length: rated }, () =>
            Math.floor(random.nextFloat() * model.numItems),
          );
          const ratings = Float64Array.from(
            { length: rated },
            () => 0.5 + Math.floor(random.nextFloat() * 10) / 2,
          );
          const expected = new Float64Array(n);
          easeColumnScores(model, columnOf, items, ratings, expected);
          const actual = new Float64Array(n).fill(Number.NaN);
          expect(scorer!.columnScores(columnOf, items, ratings, actual)).toBe(true);
          // toEqual compares numbers with Object.is: every bit, signed zeros included.
          expect(Array.from(actual)).toEqual(Array.from(expected));
        }
      }
  });

  it('keeps no state between users (a smaller profile after a larger one)', () => {
    const model = randomModel(33, 'centered', 4);
    const scorer = WasmEaseScorer.of(model)!;
    const columnOf = easeColumnOf(model);
    const big = Int32Array.from({ length: 45 }, (_, i) => i);
    scorer.columnScores(
      columnOf,
      big,
      Float64Array.from(big, (i) => 1 + (i % 5)),
      new Float64Array(33),
    );
    const items = Int32Array.from([3, 9]);
    const ratings = Float64Array.from([5, 2]);
    const expected = new Float64Array(33);
    easeColumnScores(model, columnOf, items, ratings, expected);
    const actual = new Float64Array(33);
    expect(scorer.columnScores(columnOf, items, ratings, actual)).toBe(true);
    expect(Array.from(actual)).toEqual(Array.from(expected));
  });
});

describe('TopNScorer and the WebAssembly EASE scorer', () => {
  afterEach(() => jest.restoreAllMocks());

  it('makes the scorer in prepareForServing, once, and scores users with it', () => {
    const model = { ...randomModel(12, 'centered', 5), kind: 'ease' as const };
    const made = jest.spyOn(WasmEaseScorer, 'of');
    const serving = new TopNScorer(model);
    expect(made).not.toHaveBeenCalled();
    serving.prepareForServing();
    expect(made).toHaveBeenCalledTimes(1);
    const items = Int32Array.from([0, 4, 7]);
    const ratings = Float64Array.from([5, 1.5, 4]);
    const expected = new Float64Array(12);
    easeColumnScores(model, easeColumnOf(model), items, ratings, expected);
    const ranked = serving.scoreUser(items, ratings).rankedItems!;
    expect(Array.from(ranked.scores)).toEqual(Array.from(Float32Array.from(expected)));
    expect(made).toHaveBeenCalledTimes(1);
  });

  it('leaves a scorer used only by training without one until it scores a user', () => {
    const made = jest.spyOn(WasmEaseScorer, 'of');
    const training = new TopNScorer({ ...randomModel(5, 'binary', 6), kind: 'ease' });
    expect(training.rankable().length).toBeGreaterThan(0);
    expect(made).not.toHaveBeenCalled();
    expect(training.scoreUser(Int32Array.from([1]), Float64Array.from([4])).rankedItems).toBeDefined();
    expect(made).toHaveBeenCalledTimes(1);
  });
});
