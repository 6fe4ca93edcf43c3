import {
  compare,
  erfc,
  normalCdf,
  proportionInterval,
  ratioEstimate,
  RatioUnit,
  twoSidedP,
  wilson,
} from '../../src/experiments/statistics';

/** n users with one 0/1 item each: the clustered and the iid variance describe the same thing. */
function singles(successes: number, n: number): RatioUnit[] {
  return Array.from({ length: n }, (_, i) =>
    i < successes ? { num: 1, den: 1, sumSq: 1 } : { num: 0, den: 1, sumSq: 0 },
  );
}

describe('experiment statistics', () => {
  it('computes the normal distribution to reference values', () => {
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(-2.326347874)).toBeCloseTo(0.01, 6);
    expect(twoSidedP(2.5758293035489)).toBeCloseTo(0.01, 6);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 5);
  });

  it('computes Wilson intervals to published values', () => {
    // Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 → 0.2553–0.3662; 0/10 → 0–0.2775.
    const [low, high] = wilson(81, 263)!;
    expect(low).toBeCloseTo(0.2553, 4);
    expect(high).toBeCloseTo(0.3662, 4);
    const [zeroLow, zeroHigh] = wilson(0, 10)!;
    expect(zeroLow).toBe(0);
    expect(zeroHigh).toBeCloseTo(0.2775, 4);
    expect(wilson(0, 0)).toBeNull();
  });

  it('runs the textbook two-proportion z-test when every user has one item', () => {
    // 200/1000 against 250/1000: pooled p = 0.225, z = 0.05 / √(0.225·0.775·0.002) = 2.6774, p = 0.00742.
    const comparison = compare(
      ratioEstimate(singles(250, 1000)),
      ratioEstimate(singles(200, 1000)),
      'proportion',
    )!;
    expect(comparison.difference).toBeCloseTo(0.05, 10);
    expect(comparison.lift).toBeCloseTo(0.25, 10);
    expect(comparison.pValueIid).toBeCloseTo(0.00742, 4);
    // The unpooled clustered variance is nearly the same here.
    expect(comparison.pValue).toBeCloseTo(0.0074, 3);
  });

  it('widens the interval when users differ: ten heavy clickers are not a thousand independent clicks', () => {
    // Same 20% CTR over 1000 impressions: spread over 1000 users, or 100 users of whom 20 click everything.
    const independent = ratioEstimate(singles(200, 1000));
    const clustered = ratioEstimate(
      Array.from({ length: 100 }, (_, i) =>
        i < 20 ? { num: 10, den: 10, sumSq: 10 } : { num: 0, den: 10, sumSq: 0 },
      ),
    );
    expect(clustered.value).toBeCloseTo(0.2, 10);
    expect(clustered.varianceIid).toBeCloseTo(independent.varianceIid!, 10);
    // Var = m/(m−1) · Σ(x − r·y)² / (Σy)² = 100/99 · (20·64 + 80·4) / 10⁶
    expect(clustered.varianceClustered).toBeCloseTo(((100 / 99) * (20 * 64 + 80 * 4)) / 1e6, 12);
    const [low, high] = proportionInterval(clustered)!;
    const [iidLow, iidHigh] = proportionInterval(independent)!;
    expect(high - low).toBeGreaterThan(2.5 * (iidHigh - iidLow));
  });

  it('averages NDCG-like values per item with a clustered mean interval', () => {
    const estimate = ratioEstimate([
      { num: 1.5, den: 2, sumSq: 1.25 },
      { num: 0.5, den: 1, sumSq: 0.25 },
      { num: 0, den: 0, sumSq: 0 },
    ]);
    expect(estimate.value).toBeCloseTo(2 / 3, 10);
    expect(estimate.units).toBe(2);
    expect(estimate.items).toBe(3);
    // Items 1, 0.5, 0.5: sample variance 1/12, of the mean 1/36.
    expect(estimate.varianceIid).toBeCloseTo(1 / 36, 10);
  });

  it('has no estimate without data, and no p-value below two users', () => {
    expect(ratioEstimate([]).value).toBeNull();
    const one = ratioEstimate([{ num: 1, den: 4, sumSq: 1 }]);
    expect(one.varianceClustered).toBeNull();
    expect(compare(one, ratioEstimate(singles(1, 4)), 'proportion')!.pValue).toBeNull();
    expect(compare(one, ratioEstimate([]), 'proportion')).toBeNull();
  });
});
