import { assignVariant, bucketOf } from '../../src/experiments/assignment';
import { validateExperiment } from '../../src/experiments/definition';

const experiment = validateExperiment({
  name: 'exp-one',
  variants: [
    { name: 'control', strategy: 'HYBRID', share: 0.2 },
    { name: 'b', strategy: 'COLLABORATIVE', share: 0.3 },
    { name: 'c', strategy: 'CONTENT', share: 0.5 },
  ],
});
const USERS = 20_000;

describe('variant assignment', () => {
  it('is deterministic and sticky: the same user gets the same variant every time', () => {
    for (let user = 1; user <= 200; user++) {
      const first = assignVariant(experiment, user).name;
      expect(
        assignVariant({ ...experiment, variants: experiment.variants.map((v) => ({ ...v })) }, user).name,
      ).toBe(first);
    }
    // A fixed value pins the hash itself: changing it would reshuffle every running experiment.
    expect(bucketOf('exp-one', 42)).toBeCloseTo(0.8058656, 6);
  });

  it('gives each variant its share of users, within sampling error', () => {
    const counts = new Map<string, number>();
    for (let user = 1; user <= USERS; user++) {
      const name = assignVariant(experiment, user).name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    for (const variant of experiment.variants) {
      const share = (counts.get(variant.name) ?? 0) / USERS;
      // 4 standard errors of a binomial share: fails by chance about once in 16,000 runs of a fixed hash, i.e. never.
      expect(Math.abs(share - variant.share)).toBeLessThan(
        4 * Math.sqrt((variant.share * (1 - variant.share)) / USERS),
      );
    }
  });

  it('spreads buckets uniformly on [0, 1)', () => {
    const deciles = new Array<number>(10).fill(0);
    for (let user = 1; user <= USERS; user++) {
      const bucket = bucketOf('uniformity', user);
      expect(bucket).toBeGreaterThanOrEqual(0);
      expect(bucket).toBeLessThan(1);
      deciles[Math.floor(bucket * 10)] += 1;
    }
    const expected = USERS / 10;
    const chiSquare = deciles.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
    expect(chiSquare).toBeLessThan(27.88); // χ²(9) at p = 0.001
  });

  it('is independent across experiments: treatment in one says nothing about the next', () => {
    const halves = (name: string) =>
      validateExperiment({
        name,
        variants: [
          { name: 'control', strategy: 'HYBRID', share: 0.5 },
          { name: 'b', strategy: 'CONTENT', share: 0.5 },
        ],
      });
    const first = halves('first');
    const second = halves('second');
    let both = 0;
    let inFirst = 0;
    for (let user = 1; user <= USERS; user++) {
      const a = assignVariant(first, user).name === 'b';
      const b = assignVariant(second, user).name === 'b';
      if (a) inFirst += 1;
      if (a && b) both += 1;
    }
    // Independent halves: P(b in second | b in first) = 1/2.
    expect(Math.abs(both / inFirst - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / inFirst));
  });
});
