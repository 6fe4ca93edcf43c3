import { once } from 'node:events';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import {
  CONTENT_SCORING,
  type ContentScoring,
  neighbourVotesOf,
  packRatedNeighbours,
  type RatedNeighbours,
} from '../../../src/engines/content/neighbour-score';
import { buildVectorIndexNow, searchVectorIndex } from '../../../src/engines/content/vector-index';
import {
  createVotePool,
  inThreadVoter,
  MIN_WORKER_MULTIPLY_ADDS,
  type NeighbourVoter,
} from '../../../src/engines/content/vote-pool';
import { bits, hitBits } from '../../helpers/bits';

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function unitVector(next: () => number, dimension: number): Float32Array {
  const vector = new Float32Array(dimension);
  let norm = 0;
  for (let d = 0; d < dimension; d++) {
    vector[d] = next() - 0.5;
    norm += vector[d] * vector[d];
  }
  norm = Math.sqrt(norm);
  for (let d = 0; d < dimension; d++) vector[d] /= norm;
  return vector;
}

function randomCall(seed: number, candidateCount: number, ratedCount: number, dimension: number) {
  const next = random(seed);
  const rated = packRatedNeighbours(
    Array.from({ length: ratedCount }, () => ({
      rating: 0.5 + Math.floor(next() * 10) / 2,
      vector: unitVector(next, dimension),
    })),
    3.1,
  ) as RatedNeighbours;
  const candidates = Array.from({ length: candidateCount }, () => unitVector(next, dimension));
  return { candidates, rated };
}

/** Spawns real workers and keeps them, so a test can see what the pool sent and kill them. */
function spawnRecorder() {
  const threads: Worker[] = [];
  const messages: { kind?: string }[] = [];
  const spawnWorker = (file: string, options: WorkerOptions): Worker => {
    const thread = new Worker(file, options);
    const post = thread.postMessage.bind(thread);
    thread.postMessage = (...args: Parameters<Worker['postMessage']>) => {
      messages.push(args[0] as { kind?: string });
      post(...args);
    };
    threads.push(thread);
    return thread;
  };
  return { threads, spawnWorker, messages, posted: () => messages.length };
}

/** The call's vectors copied into one SharedArrayBuffer (as the in-process index holds them), as views. */
function inSharedMemory({ candidates, rated }: ReturnType<typeof randomCall>) {
  const dimension = rated.dimension;
  const all = [...rated.rows, ...candidates];
  // Some slack before the first row, so positions are not all from zero.
  const memory = new Float32Array(new SharedArrayBuffer((all.length + 3) * dimension * 4));
  const views = all.map((vector, i) => {
    const view = memory.subarray((i + 3) * dimension, (i + 4) * dimension);
    view.set(vector);
    return view;
  });
  return {
    candidates: views.slice(rated.rows.length),
    rated: { ...rated, rows: views.slice(0, rated.rows.length) },
  };
}

/** An in-process index of `size` random movies (projected past 200 movies), and some queries. */
function searchCase(seed: number, size: number, dimension: number) {
  const next = random(seed);
  const genres = ['Drama', 'Comedy', 'Noir'];
  const index = buildVectorIndexNow(
    Array.from({ length: size }, (_, i) => ({
      movieId: 5 * i + 2,
      vector: unitVector(next, dimension),
      genres: [genres[i % 3]],
    })),
    { exactBelow: 200 },
  );
  const queries = Array.from({ length: 3 }, () => unitVector(next, dimension));
  const exclude = new Set(Array.from({ length: 40 }, (_, i) => 5 * i * 7 + 2));
  return { index, queries, exclude };
}

describe('the vote pool', () => {
  let pool: NeighbourVoter | null = null;
  afterEach(async () => {
    await pool?.dispose();
    pool = null;
  });

  it('returns the in-thread votes bit for bit, voting small calls in-thread', async () => {
    const recorder = spawnRecorder();
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: () => undefined });
    const mean: ContentScoring = { aggregate: 'mean', exponent: 8, popularityWeight: 0 };
    // 10 × 50 × 500 is exactly the threshold (to the worker), 9 × 50 × 500 just under it (in-thread).
    expect(10 * 50 * 500).toBe(MIN_WORKER_MULTIPLY_ADDS);
    const cases: [number, number, number, ContentScoring, boolean][] = [
      [1, 1, 8, CONTENT_SCORING, false],
      [9, 50, 500, CONTENT_SCORING, false],
      [10, 50, 500, CONTENT_SCORING, true],
      [10, 50, 500, mean, true],
      [7, 300, 512, CONTENT_SCORING, true],
      [150, 300, 512, CONTENT_SCORING, true],
      [61, 37, 512, mean, true],
    ];
    for (const [index, [candidateCount, ratedCount, dimension, scoring, toWorker]] of cases.entries()) {
      const { candidates, rated } = randomCall(index + 1, candidateCount, ratedCount, dimension);
      const before = recorder.posted();
      const votes = await pool.votesOf(candidates, rated, scoring);
      expect(recorder.posted() - before).toBe(toWorker ? 1 : 0);
      expect(votes).toHaveLength(candidateCount);
      expect(bits(votes)).toEqual(bits(neighbourVotesOf(candidates, rated, scoring)));
    }
  });

  it('sends positions, not vectors, when every vector is a view of one shared memory, and the memory once', async () => {
    const recorder = spawnRecorder();
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: () => undefined });
    const first = inSharedMemory(randomCall(21, 150, 300, 512));
    const votes = await pool.votesOf(first.candidates, first.rated, CONTENT_SCORING);
    expect(bits(votes)).toEqual(bits(neighbourVotesOf(first.candidates, first.rated, CONTENT_SCORING)));
    expect(recorder.messages.map((message) => message.kind)).toEqual(['store', 'shared']);
    const call = recorder.messages[1] as Record<string, unknown>;
    expect(call.candidates).toBeUndefined();
    expect(call.vectors).toBeUndefined();
    expect((call.candidateOffsets as Int32Array)[0]).toBe((3 + 300) * 512);

    // The same memory again: no second copy of the store; another memory: a store of its own.
    const again = await pool.votesOf(first.candidates.slice(0, 40), first.rated, CONTENT_SCORING);
    expect(bits(again)).toEqual(
      bits(neighbourVotesOf(first.candidates.slice(0, 40), first.rated, CONTENT_SCORING)),
    );
    const second = inSharedMemory(randomCall(22, 30, 100, 512));
    await pool.votesOf(second.candidates, second.rated, CONTENT_SCORING);
    expect(recorder.messages.map((message) => message.kind)).toEqual([
      'store',
      'shared',
      'shared',
      'store',
      'shared',
    ]);
  });

  it('copies the vectors when they are not all views of one shared memory', async () => {
    const recorder = spawnRecorder();
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: () => undefined });
    const plain = randomCall(23, 40, 100, 512);
    const shared = inSharedMemory(plain);
    const mixed = { candidates: shared.candidates, rated: plain.rated };
    const votes = await pool.votesOf(mixed.candidates, mixed.rated, CONTENT_SCORING);
    expect(bits(votes)).toEqual(bits(neighbourVotesOf(plain.candidates, plain.rated, CONTENT_SCORING)));
    expect(recorder.messages.map((message) => message.kind)).toEqual(['copied']);
  });

  it('gives a replacement worker the shared memory again', async () => {
    const recorder = spawnRecorder();
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: () => undefined });
    const { candidates, rated } = inSharedMemory(randomCall(24, 40, 100, 512));
    const expected = bits(neighbourVotesOf(candidates, rated, CONTENT_SCORING));
    expect(bits(await pool.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(expected);
    const exited = once(recorder.threads[0], 'exit');
    await recorder.threads[0].terminate();
    await exited;
    expect(recorder.threads).toHaveLength(2);
    const before = recorder.posted();
    expect(bits(await pool.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(expected);
    expect(recorder.messages.slice(before).map((message) => message.kind)).toEqual(['store', 'shared']);
  });

  it('answers calls in flight on several workers', async () => {
    pool = createVotePool({ workers: 2, logger: () => undefined });
    const calls = [20, 33, 48, 5].map((count, i) => randomCall(100 + i, count, 120, 512));
    const votes = await Promise.all(
      calls.map(({ candidates, rated }) => pool!.votesOf(candidates, rated, CONTENT_SCORING)),
    );
    votes.forEach((vote, i) =>
      expect(bits(vote)).toEqual(
        bits(neighbourVotesOf(calls[i].candidates, calls[i].rated, CONTENT_SCORING)),
      ),
    );
  });

  it('votes in-thread when its worker is killed, replaces it with one log line, and uses the replacement', async () => {
    const recorder = spawnRecorder();
    const logged: string[] = [];
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: (m) => logged.push(m) });
    const { candidates, rated } = randomCall(7, 40, 100, 512);
    const expected = bits(neighbourVotesOf(candidates, rated, CONTENT_SCORING));
    expect(bits(await pool.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(expected);

    // Killed with a call in flight: that call is answered in-thread.
    const inFlight = pool.votesOf(candidates, rated, CONTENT_SCORING);
    await recorder.threads[0].terminate();
    expect(bits(await inFlight)).toEqual(expected);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(
      /vote worker 1 exited .*1 call\(s\) answered in-thread; starting a replacement/,
    );

    expect(recorder.threads).toHaveLength(2);
    const before = recorder.posted();
    expect(bits(await pool.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(expected);
    expect(recorder.posted() - before).toBe(1);
    expect(logged).toHaveLength(1);
  });

  it('stops replacing workers that die before answering, and keeps answering in-thread', async () => {
    const logged: string[] = [];
    let spawned = 0;
    pool = createVotePool({
      workers: 1,
      logger: (m) => logged.push(m),
      spawnWorker: () => {
        spawned += 1;
        return new Worker('throw new Error("broken build")', { eval: true });
      },
    });
    const { candidates, rated } = randomCall(9, 30, 100, 512);
    const expected = bits(neighbourVotesOf(candidates, rated, CONTENT_SCORING));
    for (let call = 0; call < 5; call++)
      expect(bits(await pool.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(expected);
    // Let the remaining broken workers die.
    while (spawned < 3 || logged.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(spawned).toBe(3);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatch(/vote worker 1 exited \(Error: broken build\)/);
    expect(logged[2]).toMatch(/not replacing it/);
    expect(bits(await pool.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(expected);
  });

  it('terminates its workers on dispose and still answers afterwards', async () => {
    const recorder = spawnRecorder();
    const logged: string[] = [];
    const disposable = createVotePool({
      workers: 2,
      spawnWorker: recorder.spawnWorker,
      logger: (m) => logged.push(m),
    });
    const { candidates, rated } = randomCall(11, 40, 100, 512);
    await disposable.votesOf(candidates, rated, CONTENT_SCORING);
    const exits = recorder.threads.map((thread) => once(thread, 'exit'));
    await disposable.dispose();
    await Promise.all(exits);
    expect(logged).toEqual([]);
    const before = recorder.posted();
    expect(bits(await disposable.votesOf(candidates, rated, CONTENT_SCORING))).toEqual(
      bits(neighbourVotesOf(candidates, rated, CONTENT_SCORING)),
    );
    expect(recorder.posted()).toBe(before);
  });

  it('searches the in-process index on a worker, given the index once, with the in-thread hits bit for bit', async () => {
    const recorder = spawnRecorder();
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: () => undefined });
    const { index, queries, exclude } = searchCase(41, 1500, 64);
    const filters = [
      { kind: 'taste' as const, exclude, float32Similarities: true },
      { kind: 'movie' as const, genres: ['Noir'] },
      { kind: 'text' as const },
    ];
    for (const [i, filter] of filters.entries()) {
      const hits = await pool.nearest(index, queries[i], 50, filter);
      expect(hits).toHaveLength(50);
      expect(hitBits(hits)).toEqual(hitBits(searchVectorIndex(index, queries[i], 50, filter)));
    }
    expect(recorder.messages.map((message) => message.kind)).toEqual([
      'store',
      'index',
      'search',
      'search',
      'search',
    ]);
    // A vote on the same rows (to the worker: 900 × 10 × 64 multiply-adds) names the memory it holds.
    const rated = packRatedNeighbours(
      Array.from({ length: 10 }, (_, p) => ({ rating: 1 + (p % 5), vector: index.rows[p] })),
      3,
    ) as RatedNeighbours;
    const candidates = index.rows.slice(100, 1000);
    const votes = await pool.votesOf(candidates, rated, CONTENT_SCORING);
    expect(bits(votes)).toEqual(bits(neighbourVotesOf(candidates, rated, CONTENT_SCORING)));
    expect(recorder.messages.at(-1)?.kind).toBe('shared');
    // A query of another dimension is refused as in-thread.
    await expect(pool.nearest(index, new Float32Array(8), 10)).rejects.toThrow(/8 dimensions, not 64/);
  });

  it('searches in-thread when its worker dies with a search in flight, and gives the replacement the index again', async () => {
    const recorder = spawnRecorder();
    const logged: string[] = [];
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: (m) => logged.push(m) });
    const { index, queries, exclude } = searchCase(43, 900, 64);
    const filter = { kind: 'taste' as const, exclude };
    const expected = hitBits(searchVectorIndex(index, queries[0], 30, filter));
    expect(hitBits(await pool.nearest(index, queries[0], 30, filter))).toEqual(expected);
    const inFlight = pool.nearest(index, queries[0], 30, filter);
    await recorder.threads[0].terminate();
    expect(hitBits(await inFlight)).toEqual(expected);
    expect(logged[0]).toMatch(/1 call\(s\) answered in-thread; starting a replacement/);
    const before = recorder.messages.length;
    expect(hitBits(await pool.nearest(index, queries[0], 30, filter))).toEqual(expected);
    expect(recorder.messages.slice(before).map((message) => message.kind)).toEqual([
      'store',
      'index',
      'search',
    ]);
  });

  it('searches in-thread an index whose rows cannot be shared (no SIMD for their dimension)', async () => {
    const recorder = spawnRecorder();
    pool = createVotePool({ workers: 1, spawnWorker: recorder.spawnWorker, logger: () => undefined });
    const { index, queries } = searchCase(45, 300, 12);
    const hits = await pool.nearest(index, queries[1], 20, { kind: 'movie' });
    expect(hitBits(hits)).toEqual(hitBits(searchVectorIndex(index, queries[1], 20, { kind: 'movie' })));
    expect(recorder.messages.map((message) => message.kind)).toEqual(['store']);
    await pool.nearest(index, queries[2], 20, { kind: 'movie' });
    expect(recorder.messages).toHaveLength(1);
  });

  it('votes in-thread for 0 workers and rejects a negative count', () => {
    expect(createVotePool({ workers: 0 })).toBe(inThreadVoter);
    expect(() => createVotePool({ workers: -1 })).toThrow(RangeError);
  });
});
