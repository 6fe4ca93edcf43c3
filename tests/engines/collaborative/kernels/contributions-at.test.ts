import { TopNScorer } from '../../../../src/engines/collaborative/kernels';
import { Mulberry32 } from '../../../../src/engines/collaborative/kernels/prng';

const NUM_ITEMS = 40;
const RANK = 6;

function randomFloats(length: number, seed: number): Float32Array {
  const random = new Mulberry32(seed);
  return Float32Array.from({ length }, () => random.nextFloat() - 0.5);
}

/** A user of 12 ratings, two of them (items 38, 39) of movies EASE has no column for. */
const ITEMS = [3, 7, 1, 20, 38, 11, 5, 30, 39, 14, 25, 9];
const RATINGS = [4.5, 2, 5, 3.5, 4, 1, 3, 5, 2.5, 4, 0.5, 3];
/** Positions in any order, some repeated, as an evidence pool may hold them (best ratings first). */
const POSITIONS = [2, 7, 0, 4, 9, 3, 8, 0, 11];

const scorers: [string, TopNScorer][] = [
  ...(['centered', 'rating', 'binary'] as const).map((encoding): [string, TopNScorer] => [
    `PureSVD (${encoding})`,
    new TopNScorer({ kind: 'puresvd', rank: RANK, encoding, itemFactors: randomFloats(NUM_ITEMS * RANK, 3) }),
  ]),
  ...(['centered', 'rating'] as const).map((encoding): [string, TopNScorer] => {
    const columns = Int32Array.from({ length: 38 }, (_, i) => i);
    return [
      `EASE (${encoding})`,
      new TopNScorer({
        kind: 'ease',
        encoding,
        lambda: 1,
        columns,
        weights: randomFloats(columns.length * columns.length, 5),
        numItems: NUM_ITEMS,
      }),
    ];
  }),
];

describe('contributionsAt: the shares of some ratings only, the very values contributions holds', () => {
  it.each(scorers)('%s', (_name, scorer) => {
    const user = scorer.scoreUser(ITEMS, RATINGS);
    for (const item of [0, 12, 21, 37, 38]) {
      const all = user.contributions(item);
      const some = user.contributionsAt?.(item, POSITIONS) as Float64Array;
      expect(some).toHaveLength(POSITIONS.length);
      // Bit for bit: explanations must not move when they come from the cheaper path.
      POSITIONS.forEach((n, k) => expect(Object.is(some[k], all[n])).toBe(true));
    }
    expect(user.contributionsAt?.(12, [])).toHaveLength(0);
  });
});
