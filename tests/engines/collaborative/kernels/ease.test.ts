import {
  easeWeightsFromGram,
  invertSymmetricPositiveDefinite,
  TopNScorer,
} from '../../../../src/engines/collaborative/kernels';
import { Mulberry32 } from '../../../../src/engines/collaborative/kernels/prng';
import { generateSyntheticCatalog } from '../../../../fixtures/synthetic';
import { datasetFromRows } from '../../../../training/dataset';
import { easeColumnsOf, trainEase } from '../../../../training/ease';
import { DEFAULT_EASE_OPTIONS } from '../../../../training/options';

function randomSpd(n: number, seed: number): Float64Array {
  const random = new Mulberry32(seed);
  const m = Array.from({ length: n * n }, () => random.nextFloat() - 0.5);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let sum = i === j ? 0.5 : 0;
      for (let k = 0; k < n; k++) sum += m[i * n + k] * m[j * n + k];
      a[i * n + j] = sum;
    }
  return a;
}

/** Gaussian elimination with partial pivoting: x solving a x = b. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i][k]) > Math.abs(m[p][k])) p = i;
    [m[k], m[p]] = [m[p], m[k]];
    for (let i = k + 1; i < n; i++) {
      const f = m[i][k] / m[k][k];
      for (let j = k; j <= n; j++) m[i][j] -= f * m[k][j];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let sum = m[i][n];
    for (let j = i + 1; j < n; j++) sum -= m[i][j] * x[j];
    x[i] = sum / m[i][i];
  }
  return x;
}

describe('EASE kernel', () => {
  it('inverts a symmetric positive definite matrix (the sweep reads only the upper triangle)', () => {
    const n = 7;
    const a = randomSpd(n, 3);
    const inverse = Float64Array.from(a);
    for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) inverse[i * n + j] = NaN; // never read
    invertSymmetricPositiveDefinite(inverse, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += a[i * n + k] * inverse[k * n + j];
        expect(sum).toBeCloseTo(i === j ? 1 : 0, 10);
      }
    expect(() => invertSymmetricPositiveDefinite(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(
      /positive definite/,
    );
  });

  it('each column of B is the ridge regression of that item on the others (zero diagonal)', () => {
    const users = 12;
    const n = 5;
    const random = new Mulberry32(9);
    const x = Array.from({ length: users }, () =>
      Array.from({ length: n }, () =>
        random.nextFloat() < 0.5 ? 1 + Math.floor(random.nextFloat() * 5) : 0,
      ),
    );
    const lambda = 2.5;
    const gram = new Float64Array(n * n);
    for (const row of x)
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gram[i * n + j] += row[i] * row[j];
    const weights = easeWeightsFromGram(gram, n, lambda);
    for (let j = 0; j < n; j++) {
      expect(weights[j * n + j]).toBe(0);
      const others = [...Array(n).keys()].filter((i) => i !== j);
      const normal = others.map((a) =>
        others.map((b) => x.reduce((s, row) => s + row[a] * row[b], 0) + (a === b ? lambda : 0)),
      );
      const target = others.map((a) => x.reduce((s, row) => s + row[a] * row[j], 0));
      const expected = solve(normal, target);
      others.forEach((i, k) => expect(weights[i * n + j]).toBeCloseTo(expected[k], 5));
    }
  });

  it('columns: the most rated movies with enough ratings; scores, one score and contributions agree', () => {
    const catalog = generateSyntheticCatalog({ seed: 5, users: 80, movies: 60 });
    const dataset = datasetFromRows(catalog.ratings);
    const options = { ...DEFAULT_EASE_OPTIONS, minRatings: 3, maxColumns: 25 };
    const columns = easeColumnsOf(dataset, options);
    const counts = new Int32Array(dataset.numItems);
    for (const item of dataset.items) counts[item]++;
    expect(columns.length).toBe(25);
    const weakestKept = Math.min(...Array.from(columns, (c) => counts[c]));
    for (let item = 0; item < dataset.numItems; item++)
      if (!columns.includes(item)) expect(counts[item]).toBeLessThanOrEqual(weakestKept);

    const { model } = trainEase(dataset, options);
    const scorer = new TopNScorer({ kind: 'ease', ...model });
    const rankable = scorer.rankable();
    expect(rankable.reduce((s, r) => s + r, 0)).toBe(25);
    const items = [
      columns[0],
      columns[3],
      columns[7],
      [...Array(dataset.numItems).keys()].find((i) => !rankable[i])!,
    ];
    const ratings = [5, 2, 4, 3];
    const user = scorer.scoreUser(items, ratings);
    const lazy = scorer.scoreUser(items, ratings);
    expect(user.vector).toBeNull();
    for (const item of [columns[1], columns[10], columns[24]]) {
      const single = lazy.score(item);
      expect(single).toBe(user.scores[item]);
      const shares = user.contributions(item);
      expect(shares[3]).toBe(0); // a movie without a column contributes nothing
      expect(shares.reduce((s, v) => s + v, 0)).toBeCloseTo(user.scores[item], 5);
    }
    // Ranked, then pushed out of the last users' column scores by 32 others: the same scores.
    const ranked = scorer.scoreUser(items, ratings);
    const listed = Array.from(ranked.rankedItems!.scores);
    for (let other = 0; other < 32; other++) void scorer.scoreUser([columns[other % 25]], [4]).rankedItems;
    columns.forEach((item, column) => expect(ranked.score(item)).toBe(listed[column]));
  });
});
