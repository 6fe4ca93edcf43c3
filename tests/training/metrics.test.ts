import {
  hitRateAtK,
  mae,
  ndcgAtK,
  precisionAtK,
  RankingAccumulator,
  recallAtK,
  rmse,
} from '../../training/metrics';

describe('rating metrics', () => {
  it('computes RMSE and MAE by hand', () => {
    // Errors 1, −2, 0, 0.5 → squares 1, 4, 0, 0.25 (mean 1.3125); absolutes 1, 2, 0, 0.5 (mean 0.875).
    const predicted = [4, 1, 3, 4.5];
    const actual = [3, 3, 3, 4];
    expect(rmse(predicted, actual)).toBeCloseTo(Math.sqrt(1.3125), 12);
    expect(mae(predicted, actual)).toBeCloseTo(0.875, 12);
  });

  it('refuses empty or mismatched inputs', () => {
    expect(() => rmse([], [])).toThrow(/no ratings/);
    expect(() => mae([1], [1, 2])).toThrow(/length/);
  });
});

describe('ranking metrics at 10', () => {
  // Ranked list of item ids; relevant items 7 (rank 2), 3 (rank 5) and 99 (not retrieved).
  const ranked = [10, 7, 11, 12, 3, 13, 14, 15, 16, 17, 3_000];
  const relevant = new Set([7, 3, 99]);

  it('NDCG@10 with binary gains and an ideal over min(|relevant|, 10)', () => {
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(6);
    const ideal = 1 / Math.log2(2) + 1 / Math.log2(3) + 1 / Math.log2(4);
    expect(ndcgAtK(ranked, relevant)).toBeCloseTo(dcg / ideal, 12);
    // Every relevant item on top is perfect, and the ideal is capped at 10 positions.
    expect(ndcgAtK([1, 2], new Set([1, 2]))).toBeCloseTo(1, 12);
    const many = new Set(Array.from({ length: 15 }, (_, i) => i));
    expect(
      ndcgAtK(
        Array.from({ length: 10 }, (_, i) => i),
        many,
      ),
    ).toBeCloseTo(1, 12);
  });

  it('recall, precision and hit rate', () => {
    expect(recallAtK(ranked, relevant)).toBeCloseTo(2 / 3, 12);
    expect(precisionAtK(ranked, relevant)).toBeCloseTo(0.2, 12);
    expect(hitRateAtK(ranked, relevant)).toBe(1);
    expect(hitRateAtK([1, 2, 3], new Set([4]))).toBe(0);
    // Precision divides by k even when fewer than k items could be ranked.
    expect(precisionAtK([4], new Set([4]))).toBeCloseTo(0.1, 12);
  });

  it('only looks at the first 10 positions', () => {
    expect(ndcgAtK(ranked, new Set([3_000]))).toBe(0);
    expect(recallAtK(ranked, new Set([3_000]))).toBe(0);
  });

  it('averages over users and measures catalog coverage', () => {
    const accumulator = new RankingAccumulator(20);
    accumulator.add([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], new Set([1]));
    accumulator.add([1, 2, 3, 4, 5, 6, 7, 8, 9, 11], new Set([50]));
    accumulator.add([12, 13], new Set()); // users without relevant items are skipped
    const result = accumulator.result();
    expect(result.users).toBe(2);
    expect(result.ndcg10).toBeCloseTo(0.5, 12);
    expect(result.recall10).toBeCloseTo(0.5, 12);
    expect(result.precision10).toBeCloseTo(0.05, 12);
    expect(result.hitRate10).toBeCloseTo(0.5, 12);
    expect(result.coverage).toBeCloseTo(11 / 20, 12);
    expect([...result.ndcg10ByUser]).toEqual([
      [0, 1],
      [1, 0],
    ]);
  });

  it('keeps each user’s NDCG@10 under the user it was given, once per user', () => {
    const accumulator = new RankingAccumulator(20);
    accumulator.add([7, 1], new Set([1]), 42);
    accumulator.add([1, 2], new Set([1]), 3);
    expect(accumulator.result().ndcg10ByUser.get(42)).toBeCloseTo(1 / Math.log2(3), 12);
    expect(accumulator.result().ndcg10ByUser.get(3)).toBe(1);
    expect(() => accumulator.add([1], new Set([1]), 42)).toThrow('user 42 was already added');
  });
});
