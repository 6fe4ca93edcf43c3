import {
  clampRating,
  decayedAggregate,
  decayWeight,
  estimate,
  estimateColumns,
  percentile,
  populationVariance,
  shrunkVariance,
  weightedRating,
} from '../../../src/engines/statistical/bayes';
import { resolveTrendingAsOf, windowStart } from '../../../src/engines/statistical/options';

describe('Bayesian weighted rating', () => {
  it('mixes the movie mean and the global mean by votes against m', () => {
    // 10 votes averaging 4 against m = 5 at C = 3: (10·4 + 5·3) / 15 = 55/15.
    expect(weightedRating(10, 4, { weight: 5, mean: 3 })).toBeCloseTo(3.666667, 6);
    // The same mean with 1000 votes barely moves toward C: (4000 + 15) / 1005.
    expect(weightedRating(1000, 4, { weight: 5, mean: 3 })).toBeCloseTo(3.995025, 6);
  });

  it('is the prior mean for a movie without votes', () => {
    expect(weightedRating(0, 0, { weight: 7, mean: 3.2 })).toBe(3.2);
  });
});

describe('variance', () => {
  it('computes the population variance from the sums', () => {
    // Ratings 3, 4, 5: Σr = 12, Σr² = 50, variance = 50/3 − 4² = 2/3.
    expect(populationVariance(3, 12, 50)).toBeCloseTo(2 / 3, 12);
    expect(populationVariance(1, 4.5, 20.25)).toBe(0);
    expect(populationVariance(0, 0, 0)).toBe(0);
  });

  it('never returns a negative variance from rounding', () => {
    // Three identical values of 0.1 make Σr²/v − mean² come out at −1.7e−18 in floating point.
    expect((0.1 * 0.1 * 3) / 3 - ((0.1 * 3) / 3) ** 2).toBeLessThan(0);
    expect(populationVariance(3, 0.1 * 3, 0.1 * 0.1 * 3)).toBe(0);
  });

  it('shrinks a movie variance toward the global one with the prior weight', () => {
    // (3·2/3 + 5·1) / (3 + 5) = 7/8.
    expect(shrunkVariance(3, 2 / 3, { weight: 5, variance: 1 })).toBeCloseTo(0.875, 12);
  });
});

describe('estimate with confidence bounds', () => {
  it('matches a hand computation', () => {
    // Ratings 3, 4, 5 with m = 5, C = 3, global variance 1:
    // WR = (12 + 15) / 8 = 3.375; σ² = 7/8; SE = √(0.875 / 8) = 0.330719…; ± 1.96·SE.
    const result = estimate(
      { votes: 3, sum: 12, sumOfSquares: 50 },
      { weight: 5, mean: 3, variance: 1 },
      1.96,
    );
    expect(result.weighted).toBeCloseTo(3.375, 12);
    expect(result.mean).toBe(4);
    expect(result.standardError).toBeCloseTo(0.330719, 6);
    expect(result.lower).toBeCloseTo(2.726791, 6);
    expect(result.upper).toBeCloseTo(4.023209, 6);
  });

  it('narrows as votes accumulate', () => {
    const prior = { weight: 5, mean: 3, variance: 1 };
    const few = estimate({ votes: 4, sum: 16, sumOfSquares: 64 }, prior);
    const many = estimate({ votes: 400, sum: 1600, sumOfSquares: 6400 }, prior);
    expect(many.upper - many.lower).toBeLessThan(few.upper - few.lower);
  });

  it('clamps the bounds to the rating scale', () => {
    // One 5★ vote with a weak prior (m = 0.1): WR = 5.3/1.1 = 4.818…, SE = 0.2875, upper 5.38 → 5.
    const result = estimate(
      { votes: 1, sum: 5, sumOfSquares: 25 },
      { weight: 0.1, mean: 3, variance: 1 },
      1.96,
    );
    expect(result.weighted).toBeCloseTo(4.818182, 6);
    expect(result.upper).toBe(5);
    expect(result.lower).toBeCloseTo(4.818182 - 1.96 * Math.sqrt(0.1 / 1.1 / 1.1), 6);
    expect(
      estimate({ votes: 2, sum: 1, sumOfSquares: 0.5 }, { weight: 0.1, mean: 3, variance: 1 }).lower,
    ).toBe(0.5);
    expect(clampRating(7)).toBe(5);
    expect(clampRating(-1)).toBe(0.5);
  });

  it('scores columns exactly as one movie at a time', () => {
    const prior = { weight: 2.5, mean: 3.4, variance: 1.1 };
    const votes = Float64Array.of(1, 3, 12.5);
    const sums = Float64Array.of(4.5, 12, 40);
    const squares = Float64Array.of(20.25, 50, 140);
    const columns = estimateColumns(votes, sums, squares, prior, 1.5);
    for (let i = 0; i < 3; i++) {
      const one = estimate({ votes: votes[i], sum: sums[i], sumOfSquares: squares[i] }, prior, 1.5);
      expect([columns.weighted[i], columns.lower[i], columns.upper[i]]).toEqual([
        one.weighted,
        one.lower,
        one.upper,
      ]);
    }
    expect(() => estimateColumns(votes, sums, squares.subarray(1), prior)).toThrow(RangeError);
  });
});

describe('decay', () => {
  it('halves a weight every half-life', () => {
    expect(decayWeight(0, 7)).toBe(1);
    expect(decayWeight(7, 7)).toBeCloseTo(0.5, 12);
    expect(decayWeight(14, 7)).toBeCloseTo(0.25, 12);
    expect(decayWeight(3.5, 7)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(decayWeight(1000, null)).toBe(1);
  });

  it('aggregates decayed ratings', () => {
    // 5★ today (w = 1) and 3★ a half-life ago (w = 0.5): votes 1.5, Σwr = 6.5, Σwr² = 25 + 4.5.
    const aggregate = decayedAggregate([5, 3], [0, 7], 7);
    expect(aggregate.votes).toBeCloseTo(1.5, 12);
    expect(aggregate.sum).toBeCloseTo(6.5, 12);
    expect(aggregate.sumOfSquares).toBeCloseTo(29.5, 12);
    expect(decayedAggregate([5, 3], [0, 7], null)).toEqual({ votes: 2, sum: 8, sumOfSquares: 34 });
    expect(() => decayedAggregate([5], [0, 1], 7)).toThrow(RangeError);
  });
});

describe('percentile', () => {
  it('interpolates between the closest ranks like percentile_cont', () => {
    // Sorted 1 2 3 4 10, position 0.9·4 = 3.6: 4 + 0.6·(10 − 4) = 7.6.
    expect(percentile([10, 1, 4, 3, 2], 0.9)).toBeCloseTo(7.6, 12);
    expect(percentile([10, 1, 4, 3, 2], 0.5)).toBe(3);
    expect(percentile([7], 0.9)).toBe(7);
    expect(percentile([1, 2], 1)).toBe(2);
    expect(() => percentile([], 0.5)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
});

describe('trending asOf', () => {
  const now = new Date('2025-06-01T12:00:00Z');

  it('uses the requested time when given', () => {
    const requested = new Date('2020-01-01T00:00:00Z');
    expect(resolveTrendingAsOf(requested, now, new Date('2018-09-24T00:00:00Z'), 30)).toEqual({
      asOf: requested,
      source: 'requested',
    });
  });

  it('uses now when the newest rating is inside the window', () => {
    expect(resolveTrendingAsOf(null, now, new Date('2025-05-20T00:00:00Z'), 30)).toEqual({
      asOf: now,
      source: 'now',
    });
    expect(resolveTrendingAsOf(null, now, null, 30)).toEqual({ asOf: now, source: 'now' });
  });

  it('falls back to the newest rating on historical data', () => {
    const newest = new Date('2018-09-24T14:27:30Z');
    expect(resolveTrendingAsOf(null, now, newest, 30)).toEqual({ asOf: newest, source: 'newestRating' });
    // Thirty days and one second old is outside a 30-day window; exactly thirty days is not.
    const edge = new Date(now.getTime() - 30 * 86_400_000);
    expect(resolveTrendingAsOf(null, now, edge, 30).source).toBe('now');
    expect(resolveTrendingAsOf(null, now, new Date(edge.getTime() - 1000), 30).source).toBe('newestRating');
  });

  it('starts the window windowDays before asOf', () => {
    expect(windowStart(now, 1.5).toISOString()).toBe('2025-05-31T00:00:00.000Z');
  });
});
