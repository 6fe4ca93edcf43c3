import { Mulberry32 } from '../../src/engines/collaborative/kernels/prng';
import { compareBlends } from '../../training/evaluate';
import { pairedBootstrap } from '../../training/paired-bootstrap';
import { registerStrategy } from '../../training/strategies';

/** Users 0..n−1 with values from `of`. */
const byUser = (n: number, of: (user: number) => number) =>
  new Map(Array.from({ length: n }, (_, user) => [user, of(user)] as [number, number]));

describe('paired bootstrap', () => {
  it('finds no difference between a strategy and itself', () => {
    const random = new Mulberry32(1);
    const a = byUser(300, () => random.nextFloat());
    expect(pairedBootstrap(a, new Map(a))).toMatchObject({ difference: 0, low: 0, high: 0, users: 300 });
  });

  it('sees a lead every user shares as certain, however much users differ', () => {
    const random = new Mulberry32(2);
    const b = byUser(200, () => random.nextFloat() * 0.8);
    const a = new Map([...b].map(([user, value]) => [user, value + 0.1] as [number, number]));
    const result = pairedBootstrap(a, b);
    expect(result.difference).toBeCloseTo(0.1, 12);
    expect(result.low).toBeCloseTo(0.1, 12);
    expect(result.high).toBeCloseTo(0.1, 12);
  });

  it('gives the normal interval’s width for noisy differences, and holds zero when the mean is zero', () => {
    // Differences ±σ with equal chance: mean 0, the mean's standard error σ/√n.
    const sigma = 0.2;
    const n = 900;
    const b = byUser(n, () => 0.5);
    const a = byUser(n, (user) => 0.5 + (user % 2 === 0 ? sigma : -sigma));
    const result = pairedBootstrap(a, b, { resamples: 4000, seed: 11 });
    expect(result.difference).toBeCloseTo(0, 12);
    expect(result.low).toBeLessThan(0);
    expect(result.high).toBeGreaterThan(0);
    const expectedWidth = 2 * 1.96 * (sigma / Math.sqrt(n));
    expect((result.high - result.low) / expectedWidth).toBeGreaterThan(0.9);
    expect((result.high - result.low) / expectedWidth).toBeLessThan(1.1);
    // Narrower at a lower confidence.
    const narrower = pairedBootstrap(a, b, { resamples: 4000, seed: 11, confidence: 0.5 });
    expect(narrower.high - narrower.low).toBeLessThan(result.high - result.low);
  });

  it('is the same for the same seed and pairs by user, not by position', () => {
    const random = new Mulberry32(3);
    const a = byUser(100, () => random.nextFloat());
    const b = byUser(100, () => random.nextFloat());
    const reversed = new Map([...b].reverse());
    expect(pairedBootstrap(a, reversed, { seed: 5 })).toEqual(pairedBootstrap(a, b, { seed: 5 }));
    expect(pairedBootstrap(a, b, { seed: 6 }).low).not.toBe(pairedBootstrap(a, b, { seed: 5 }).low);
  });

  it('refuses users that do not pair up and meaningless options', () => {
    const a = byUser(3, () => 1);
    expect(() =>
      pairedBootstrap(
        a,
        byUser(2, () => 1),
      ),
    ).toThrow('paired users differ: 3 against 2');
    expect(() => pairedBootstrap(a, new Map([...byUser(2, () => 1), [7, 1]]))).toThrow('user 2');
    expect(() => pairedBootstrap(new Map(), new Map())).toThrow('no users');
    expect(() => pairedBootstrap(a, a, { confidence: 1 })).toThrow(RangeError);
    expect(() => pairedBootstrap(a, a, { resamples: 0 })).toThrow(RangeError);
  });
});

describe('blends against the best unblended strategy', () => {
  beforeAll(() => {
    for (const name of ['test-blend-a', 'test-blend-b'])
      registerStrategy({
        name,
        blendsEngines: true,
        description: 'a test blend',
        create: () => ({ name, fit: () => undefined }),
      });
    for (const name of ['test-single-weak', 'test-single-strong'])
      registerStrategy({
        name,
        description: 'a test engine',
        create: () => ({ name, fit: () => undefined }),
      });
  });

  const fold = (strategy: string, name: string, values: number[]) => ({
    strategy,
    fold: name,
    ndcg10: values.reduce((s, v) => s + v, 0) / values.length,
    ndcg10ByUser: new Map(values.map((v, user) => [user, v] as [number, number])),
  });

  it('compares each blend, fold by fold, with the fold’s best single strategy', () => {
    const comparisons = compareBlends(
      [
        fold('test-single-weak', 'u1', [0.1, 0.1, 0.1]),
        fold('test-single-strong', 'u1', [0.5, 0.4, 0.6]),
        fold('test-blend-a', 'u1', [0.6, 0.5, 0.7]),
        fold('test-blend-b', 'u1', [0.5, 0.4, 0.6]),
        fold('test-single-weak', 'u2', [0.9, 0.8]),
        fold('test-single-strong', 'u2', [0.1, 0.2]),
        fold('test-blend-a', 'u2', [0.8, 0.8]),
        // A fold with blends only has nothing to compare them with.
        fold('test-blend-a', 'u3', [0.3]),
      ],
      { resamples: 500 },
    );
    expect(comparisons.map((c) => [c.fold, c.strategy, c.against])).toEqual([
      ['u1', 'test-blend-a', 'test-single-strong'],
      ['u1', 'test-blend-b', 'test-single-strong'],
      ['u2', 'test-blend-a', 'test-single-weak'],
    ]);
    expect(comparisons[0]).toMatchObject({ users: 3 });
    expect(comparisons[0].difference).toBeCloseTo(0.1, 12);
    expect(comparisons[0].low).toBeCloseTo(0.1, 12);
    expect(comparisons[1]).toMatchObject({ difference: 0, low: 0, high: 0 });
    expect(comparisons[2].difference).toBeCloseTo(-0.05, 12);
  });
});
