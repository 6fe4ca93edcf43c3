import { Mulberry32 } from '../../src/engines/collaborative/kernels/prng';
import { trainBiasedMf, type BiasedMfOptions } from '../../training/biased-mf';
import { DEFAULT_BIASED_MF_OPTIONS } from '../../training/options';
import { heapAllocator } from '../../training/sgd-memory';
import { BLOCK_ROW_BYTES, buildStratifiedLayout, cacheFittingStrata } from '../../training/sgd-schedule';
import { syntheticSplit } from './helpers/synthetic-split';

describe('the stratified layout', () => {
  const rng = new Mulberry32(7);
  const size = 5_000;
  const numUsers = 300;
  const numItems = 120;
  // Skewed users and items, as in MovieLens, so the balanced groups differ in row counts.
  const source = {
    users: Int32Array.from({ length: size }, () => Math.floor(numUsers * rng.nextFloat() ** 2)),
    items: Int32Array.from({ length: size }, () => Math.floor(numItems * rng.nextFloat() ** 3)),
    ratings: Float32Array.from({ length: size }, () => 1 + Math.floor(rng.nextFloat() * 9) / 2),
  };

  it.each([1, 2, 3, 8])(
    'stores every block contiguously, in its original relative order, with an identity order (%i strata)',
    (strata) => {
      const layout = buildStratifiedLayout(source, numUsers, numItems, strata, heapAllocator);
      expect(Array.from(layout.order)).toEqual(Array.from({ length: size }, (_, n) => n));
      expect(layout.blockStarts[0]).toBe(0);
      expect(layout.blockStarts[strata * strata]).toBe(size);
      // Block b's users share one user group and its items one item group: rebuild each block from
      // the source by those groups and compare position by position.
      const userGroups = new Map<number, number>();
      const itemGroups = new Map<number, number>();
      for (let block = 0; block < strata * strata; block++) {
        for (let n = layout.blockStarts[block]; n < layout.blockStarts[block + 1]; n++) {
          userGroups.set(layout.triples.users[n], Math.floor(block / strata));
          itemGroups.set(layout.triples.items[n], block % strata);
        }
      }
      const expected: number[][] = Array.from({ length: strata * strata }, () => []);
      for (let n = 0; n < size; n++) {
        const block = userGroups.get(source.users[n])! * strata + itemGroups.get(source.items[n])!;
        expected[block].push(n);
      }
      for (let block = 0; block < strata * strata; block++) {
        const start = layout.blockStarts[block];
        expected[block].forEach((n, offset) => {
          expect(layout.triples.users[start + offset]).toBe(source.users[n]);
          expect(layout.triples.items[start + offset]).toBe(source.items[n]);
          expect(layout.triples.ratings[start + offset]).toBe(source.ratings[n]);
        });
        expect(layout.blockStarts[block + 1] - start).toBe(expected[block].length);
      }
    },
  );
});

describe('strata from the data’s shape', () => {
  it('keeps 2 strata for the MovieLens sets the defaults were tuned on', () => {
    // ml-100k, ml-latest-small, ml-1m at 300 factors.
    expect(cacheFittingStrata(943, 1_682, 300)).toBe(2);
    expect(cacheFittingStrata(610, 9_742, 300)).toBe(2);
    expect(cacheFittingStrata(6_040, 3_706, 300)).toBe(2);
  });

  it('grows with the rows, always even, so that one block’s rows fit the cache budget', () => {
    const ml25m = cacheFittingStrata(162_541, 62_423, 300);
    expect(ml25m).toBe(34);
    let previous = 2;
    for (const users of [1_000, 10_000, 50_000, 162_541, 200_948, 1_000_000]) {
      const strata = cacheFittingStrata(users, users / 3, 300);
      expect(strata % 2).toBe(0);
      expect(strata).toBeGreaterThanOrEqual(previous);
      if (strata > 2)
        expect(((users + users / 3) * (4 * 300 + 8)) / strata).toBeLessThanOrEqual(BLOCK_ROW_BYTES);
      previous = strata;
    }
  });

  it("trains with 'auto' exactly as with the strata it resolves to", async () => {
    const { train } = syntheticSplit();
    const options: BiasedMfOptions = {
      ...DEFAULT_BIASED_MF_OPTIONS,
      factors: 8,
      epochs: 4,
      recencyHalfLifeDays: 0,
      threads: 1,
    };
    const auto = await trainBiasedMf(train, { ...options, strata: 'auto' });
    const explicit = await trainBiasedMf(train, { ...options, strata: auto.strata });
    const other = await trainBiasedMf(train, { ...options, strata: auto.strata + 1 });
    expect(auto.strata).toBe(cacheFittingStrata(train.numUsers, train.numItems, 8));
    expect(Array.from(auto.model.userFactors)).toEqual(Array.from(explicit.model.userFactors));
    expect(Array.from(auto.model.itemFactors)).toEqual(Array.from(explicit.model.itemFactors));
    expect(Array.from(auto.model.itemFactors)).not.toEqual(Array.from(other.model.itemFactors));
  });
});
