import { Worker, type WorkerOptions } from 'node:worker_threads';
import {
  CandidateScratch,
  emptyNeighbourTable,
  nearestNeighbourRows,
  bestByTableVote,
  tableVotes,
  type ContentNeighbourTable,
} from '../../../src/engines/content/neighbour-candidates';
import { CONTENT_SCORING, neighbourVote, similarity32 } from '../../../src/engines/content/neighbour-score';
import { buildVectorIndexNow, searchVectorIndex } from '../../../src/engines/content/vector-index';
import { createVotePool } from '../../../src/engines/content/vote-pool';

function randomUnitVectors(count: number, dimension: number, seed: number): Float32Array[] {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31 - 0.5;
  };
  // A few clusters, so that movies have near neighbours as real catalogs do.
  const centres = Array.from({ length: 6 }, () => Array.from({ length: dimension }, next));
  return Array.from({ length: count }, (_, i) => {
    const centre = centres[i % centres.length];
    const vector = Float32Array.from(centre, (value) => value + 0.6 * next());
    const norm = Math.hypot(...vector);
    return vector.map((value) => value / norm);
  });
}

/** Every other movie, nearest first: the table holds the whole similarity matrix. */
function completeTable(vectors: Float32Array[]): ContentNeighbourTable {
  const n = vectors.length;
  const table = emptyNeighbourTable(n, n - 1);
  for (let a = 0; a < n; a++) {
    const others = [...Array(n).keys()]
      .filter((b) => b !== a)
      .map((b) => ({ b, s: similarity32(vectors[a], vectors[b], vectors[a].length) }))
      .sort((x, y) => y.s - x.s || x.b - y.b);
    others.forEach(({ b, s }, slot) => {
      table.neighbours[a * (n - 1) + slot] = b;
      table.similarities[a * (n - 1) + slot] = s;
    });
  }
  return table;
}

/** A list's candidates as the engine picks them: the best of the vote through the table. */
function tableVoteCandidates(
  table: ContentNeighbourTable,
  rated: ArrayLike<number>,
  weights: ArrayLike<number>,
  exponent: number,
  limit: number,
  excluded: (position: number) => boolean,
  scratch?: CandidateScratch,
): Int32Array {
  return bestByTableVote(tableVotes(table, rated, weights, exponent, scratch), limit, excluded);
}

describe('candidates through the content neighbour table', () => {
  const vectors = randomUnitVectors(60, 16, 3);
  const rated = [2, 7, 11, 30, 41, 55];
  const weights = [1.5, -0.5, 0.5, 1, -1.5, 0.25];
  const exactVote = (movie: number) =>
    neighbourVote((j) => similarity32(vectors[movie], vectors[rated[j]], 16), weights, CONTENT_SCORING);

  it('with every pair in the table, ranks as the exact vote does', () => {
    const table = completeTable(vectors);
    const found = tableVoteCandidates(table, rated, weights, 16, 15, (p) => rated.includes(p));
    const exact = [...Array(60).keys()]
      .filter((movie) => !rated.includes(movie))
      .sort((a, b) => exactVote(b) - exactVote(a) || a - b)
      .slice(0, 15);
    expect(Array.from(found)).toEqual(exact);
  });

  it('keeps only movies some rated movie reaches, never an excluded one, and leaves its scratch clear', () => {
    const table = emptyNeighbourTable(5, 2);
    // Movie 0 reaches 1 (0.9) and 2 (0.5); movie 3 reaches 2 (0.8) and 4 (0.1).
    table.neighbours.set([1, 2], 0);
    table.similarities.set([0.9, 0.5], 0);
    table.neighbours.set([2, 4], 6);
    table.similarities.set([0.8, 0.1], 6);
    const scratch = new CandidateScratch(5);
    const found = tableVoteCandidates(table, [0, 3], [1, 1], 2, 10, (p) => p === 4, scratch);
    // 2: 0.25 + 0.64 = 0.89 > 1: 0.81.
    expect(Array.from(found)).toEqual([2, 1]);
    expect(Array.from(scratch.sums)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(scratch.seen)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(tableVoteCandidates(table, [0, 3], [1, 1], 2, 1, () => false, scratch))).toEqual([2]);
    // A negative weight pushes a movie down, not out; a movie reached twice is listed once.
    expect(Array.from(tableVoteCandidates(table, [0, 3], [1, -1], 2, 10, () => false, scratch))).toEqual([
      1, 4, 2,
    ]);
  });

  it('refuses a scratch smaller than the table and a table with no slots', () => {
    expect(() => emptyNeighbourTable(3, 0)).toThrow(RangeError);
    const table = emptyNeighbourTable(5, 1);
    expect(() => tableVoteCandidates(table, [0], [1], 2, 1, () => false, new CandidateScratch(4))).toThrow(
      RangeError,
    );
  });

  const index = buildVectorIndexNow(
    vectors.map((vector, i) => ({ movieId: 100 + i, vector, genres: [] })),
    { exactBelow: 0, calibrationQueries: 20 },
  );

  it("holds each movie's nearest others as the index's similar-movies search finds them", () => {
    const { neighbours, similarities } = nearestNeighbourRows(index, 10, 14, 5);
    for (let p = 10; p < 14; p++) {
      const hits = searchVectorIndex(index, index.rows[p], 5, {
        kind: 'movie',
        exclude: new Set([index.ids[p]]),
        float32Similarities: true,
      });
      const row = (p - 10) * 5;
      expect(Array.from(neighbours.subarray(row, row + 5), (q) => index.ids[q])).toEqual(
        hits.map((hit) => hit.movieId),
      );
      expect(Array.from(similarities.subarray(row, row + 5))).toEqual(
        hits.map((hit) => Math.fround(hit.similarity)),
      );
      expect(Array.from(neighbours.subarray(row, row + 5))).not.toContain(p);
    }
    expect(() => nearestNeighbourRows(index, 5, 61, 5)).toThrow(RangeError);
  });

  it('gives the same rows from a vote worker as in this thread', async () => {
    const kinds: unknown[] = [];
    const spawnWorker = (file: string, options: WorkerOptions): Worker => {
      const thread = new Worker(file, options);
      const post = thread.postMessage.bind(thread);
      thread.postMessage = (...args: Parameters<Worker['postMessage']>) => {
        kinds.push((args[0] as { kind?: string }).kind);
        post(...args);
      };
      return thread;
    };
    const pool = createVotePool({ workers: 1, spawnWorker, logger: () => undefined });
    try {
      const pooled = await pool.neighbourRows(index, 0, 60, 7);
      const inThread = nearestNeighbourRows(index, 0, 60, 7);
      expect(Array.from(pooled.neighbours)).toEqual(Array.from(inThread.neighbours));
      expect(Array.from(pooled.similarities)).toEqual(Array.from(inThread.similarities));
      expect(kinds).toEqual(['store', 'index', 'neighbour-rows']);
    } finally {
      await pool.dispose();
    }
  });
});
