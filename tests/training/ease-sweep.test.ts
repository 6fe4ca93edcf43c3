import {
  easeWeightsFromGram,
  invertSymmetricPositiveDefinite,
  sweepBlockBuffers,
} from '../../src/engines/collaborative/kernels/ease';
import { Mulberry32 } from '../../src/engines/collaborative/kernels/prng';
import { datasetFromRows } from '../../training/dataset';
import { trainEase } from '../../training/ease';
import { invertOnThreads, MIN_THREADED_COLUMNS, sharedFloat64Array } from '../../training/ease-sweep';
import { DEFAULT_EASE_OPTIONS } from '../../training/options';

/** The sweep as it was before blocking: every pivot passes over the whole upper triangle. */
function unblockedSweep(matrix: Float64Array, n: number): void {
  const column = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const pivot = matrix[k * n + k];
    for (let i = 0; i < k; i++) column[i] = matrix[i * n + k];
    for (let j = k; j < n; j++) column[j] = matrix[k * n + j];
    const inverse = 1 / pivot;
    for (let i = 0; i < n; i++) {
      if (i === k) continue;
      const factor = column[i] * inverse;
      if (factor === 0) continue;
      for (let j = i; j < n; j++) matrix[i * n + j] -= factor * column[j];
    }
    for (let i = 0; i < k; i++) matrix[i * n + k] = column[i] * inverse;
    for (let j = k + 1; j < n; j++) matrix[k * n + j] = column[j] * inverse;
    matrix[k * n + k] = -inverse;
  }
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      matrix[i * n + j] = -matrix[i * n + j];
      matrix[j * n + i] = matrix[i * n + j];
    }
}

/**
 * The upper triangle of a sparse Gram matrix plus a ridge, as EASE inverts: users rate a few of n
 * items, the popular ones more, so early pivots meet many zero factors (the skipped updates).
 */
function sparseGram(n: number, users: number, seed: number): Float64Array {
  const random = new Mulberry32(seed);
  const gram = new Float64Array(n * n);
  for (let u = 0; u < users; u++) {
    const rated = new Map<number, number>();
    const count = 2 + Math.floor(random.nextFloat() * 12);
    for (let t = 0; t < count; t++)
      rated.set(Math.floor(n * random.nextFloat() ** 2), 1 + Math.floor(random.nextFloat() * 5));
    for (const [a, va] of rated) for (const [b, vb] of rated) if (b >= a) gram[a * n + b] += va * vb;
  }
  for (let i = 0; i < n; i++) gram[i * n + i] += 3;
  return gram;
}

function expectSameBits(actual: Float64Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  const differing = actual.findIndex((value, i) => !Object.is(value, expected[i]));
  expect(differing).toBe(-1);
}

describe('blocked EASE inversion', () => {
  it('gives the unblocked sweep’s result bit for bit, at any block size (zeros and a ragged last block)', () => {
    const n = 157;
    const gram = sparseGram(n, 400, 11);
    const expected = Float64Array.from(gram);
    unblockedSweep(expected, n);
    for (const blockSize of [1, 5, 64, 200]) {
      const inverse = Float64Array.from(gram);
      invertSymmetricPositiveDefinite(inverse, n, sweepBlockBuffers(n, blockSize));
      expectSameBits(inverse, expected);
    }
  });

  it('shares the work with a worker thread and still gives the same bits', () => {
    const n = MIN_THREADED_COLUMNS + 13;
    const gram = sparseGram(n, 3 * n, 5);
    const expected = Float64Array.from(gram);
    invertSymmetricPositiveDefinite(expected, n);
    const shared = sharedFloat64Array(n * n);
    shared.set(gram);
    invertOnThreads(shared, n, 2);
    expectSameBits(shared, expected);
  });

  it('trainEase: the Gram matrix pairs each user’s ratings as a dense product would (a movie rated twice too)', () => {
    const random = new Mulberry32(3);
    const rows = [];
    for (let user = 1; user <= 60; user++)
      for (let movie = 1; movie <= 30; movie++)
        if (random.nextFloat() < 0.4)
          rows.push({
            userId: user,
            movieId: movie,
            rating: 1 + Math.floor(random.nextFloat() * 5),
            timestamp: 0,
          });
    rows.push({ ...rows[5] }, { ...rows[40], rating: 2 });
    const dataset = datasetFromRows(rows);
    const options = { ...DEFAULT_EASE_OPTIONS, minRatings: 1 };
    const { model, lambda } = trainEase(dataset, options);
    const n = model.columns.length;
    expect(n).toBe(dataset.numItems);
    const gram = new Float64Array(n * n);
    for (let user = 0; user < dataset.numUsers; user++) {
      const entries = [];
      for (let e = 0; e < dataset.size; e++) if (dataset.users[e] === user) entries.push(e);
      entries.sort((a, b) => dataset.items[a] - dataset.items[b] || a - b);
      for (const a of entries)
        for (const b of entries)
          if (dataset.items[b] >= dataset.items[a])
            gram[dataset.items[a] * n + dataset.items[b]] += dataset.ratings[a] * dataset.ratings[b];
    }
    expect(Array.from(easeWeightsFromGram(gram, n, lambda))).toEqual(Array.from(model.weights));
  });
});
