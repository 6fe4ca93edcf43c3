import { Worker, type WorkerOptions } from 'node:worker_threads';
import { describeError } from './embedders/errors';
import { nearestNeighbourRows } from './neighbour-candidates';
import { type ContentScoring, neighbourVotesOf, type RatedNeighbours } from './neighbour-score';
import {
  searchVectorIndex,
  shareVectorIndex,
  type VectorHit,
  type VectorIndex,
  type VectorSearchFilter,
} from './vector-index';
import type {
  IndexShare,
  NeighbourRowsRequest,
  SearchRequest,
  VoteReply,
  VoteRequest,
  VoteStore,
  VoteStoreRelease,
} from './vote-worker';
import { workerEntry } from '../../worker-entry';

/**
 * Computes neighbourVotesOf and searchVectorIndex, in this thread or elsewhere; the votes and the
 * hits are the same bit for bit.
 */
export interface NeighbourVoter {
  votesOf(
    candidates: readonly Float32Array[],
    rated: RatedNeighbours,
    scoring: ContentScoring,
  ): Promise<Float64Array>;
  nearest(
    index: VectorIndex,
    query: Float32Array,
    limit: number,
    filter?: VectorSearchFilter,
  ): Promise<VectorHit[]>;
  /** nearestNeighbourRows: rows `from` to `to` of the content neighbour table over `index`. */
  neighbourRows(index: VectorIndex, from: number, to: number, perMovie: number): Promise<NeighbourRows>;
  dispose(): Promise<void>;
}

export type NeighbourRows = ReturnType<typeof nearestNeighbourRows>;

export interface VotePoolOptions {
  /** Worker threads; 0 votes in-thread. Defaults to 1. */
  workers?: number;
  /** Calls smaller than this (candidates × rated × dimension) vote in-thread; see MIN_WORKER_MULTIPLY_ADDS. */
  minWorkerMultiplyAdds?: number;
  /** Receives one line when a worker dies and is replaced; defaults to console.warn. */
  logger?: (message: string) => void;
  /** Starts one worker thread. Defaults to `new Worker(...)`; tests pass a wrapper to observe or fault it. */
  spawnWorker?: (file: string, options: WorkerOptions) => Worker;
}

/**
 * Below this many multiply-adds (candidates × rated × dimension) a call votes in-thread: the round
 * trip is not worth it. Measured on the 2-core machine (load ~2.5, /tmp script, 512-d, one idle
 * worker): in-thread 0.05 ms for 4 × 20, 0.29 ms for 10 × 50 (0.26 M), 0.94 ms for 20 × 100 (1 M),
 * 22 ms for 150 × 300 (23 M); the main thread's share of a worker call (packing, posting, copying
 * the rated vectors, the reply) 0.05, 0.13, 0.09 and 0.6 ms, and the call's latency 0.06–1 ms more
 * than in-thread. At 0.25 M the main thread already saves about half of its time. Those in-thread
 * times are the JavaScript loop's; the WebAssembly kernel (wasm-vote.ts) voted 3–6× faster (float64 lanes), and voting
 * whole first lists in-thread (CONTENT_VOTE_WORKERS=0) then served as many per second as the worker
 * (README, Performance), so the threshold and the default stay.
 */
export const MIN_WORKER_MULTIPLY_ADDS = 250_000;

/**
 * Workers that die before answering anything, in a row, after which the pool stops replacing them
 * and votes in-thread: a worker that cannot start (a missing file, a broken build) would otherwise be
 * respawned on every request.
 */
const MAX_FAILED_STARTS = 3;

/** In-thread voting behind the same interface: VOTE_WORKERS=0, and the pool's fallback. */
export const inThreadVoter: NeighbourVoter = {
  async votesOf(candidates, rated, scoring) {
    return neighbourVotesOf(candidates, rated, scoring);
  },
  async nearest(index, query, limit, filter) {
    return searchVectorIndex(index, query, limit, filter);
  },
  async neighbourRows(index, from, to, perMovie) {
    return nearestNeighbourRows(index, from, to, perMovie);
  },
  async dispose() {},
};

type WorkerAnswer = Extract<VoteReply, { type: 'voted' | 'found' | 'neighbour-rows' }>;

/** A call a worker holds. */
interface PendingCall {
  /** Answers the call in this thread instead (its worker failed, or cannot search that index). */
  inThread(): void;
  /** Settles the call with the worker's answer; else says what is wrong with the answer. */
  settle(answer: WorkerAnswer): string | null;
}

interface VoteWorker {
  readonly number: number;
  readonly thread: Worker;
  readonly pending: Map<number, PendingCall>;
  retired: boolean;
  answered: boolean;
  /** The shared memories (by number) this worker holds a reference to. */
  readonly stores: Set<number>;
  /** Per shared memory, whether the worker was given the search index whose rows it holds. */
  readonly indexes: Map<number, boolean>;
}

/**
 * The SharedArrayBuffer every vector is a view of, or null (a vector in ordinary memory, or two
 * memories): then the call copies the vectors.
 */
function sharedBufferOf(
  candidates: readonly Float32Array[],
  rated: readonly Float32Array[],
): SharedArrayBuffer | null {
  if (typeof SharedArrayBuffer !== 'function' || candidates.length === 0) return null;
  const buffer = candidates[0].buffer;
  if (!(buffer instanceof SharedArrayBuffer)) return null;
  for (const vector of candidates) if (vector.buffer !== buffer) return null;
  for (const vector of rated) if (vector.buffer !== buffer) return null;
  return buffer;
}

/**
 * Each vector's offset in its shared memory, in floats. By index: Int32Array.from over an array
 * walks it with the iterator protocol, an object per vector (two calls per first HYBRID list, ~430
 * vectors).
 */
function offsetsOf(vectors: readonly Float32Array[]): Int32Array {
  const offsets = new Int32Array(vectors.length);
  for (let i = 0; i < vectors.length; i++) offsets[i] = vectors[i].byteOffset / 4;
  return offsets;
}

/** What the worker would have returned, computed here instead: a request never fails because of the pool. */
function settleInThread<T>(
  compute: () => T,
  resolve: (value: T) => void,
  reject: (error: unknown) => void,
): void {
  try {
    resolve(compute());
  } catch (error) {
    reject(error);
  }
}

/**
 * neighbourVotesOf and searchVectorIndex on worker threads, so the API's one thread is free for other
 * requests while a user's candidates are found and voted on. Each call goes to the worker with the
 * fewest calls in flight.
 *
 * Failures: a worker that crashes, throws or answers nonsense is terminated and replaced (one log
 * line); the calls it held are answered in-thread. Workers are unref'd while idle, so an undisposed pool
 * does not keep the process alive; dispose() terminates them.
 */
class VoteWorkerPool implements NeighbourVoter {
  private readonly slots: (VoteWorker | null)[];
  private readonly entry = workerEntry(__dirname, 'vote-worker');
  private workersSpawned = 0;
  private callsSent = 0;
  /** Shared memories the workers were given, by number; weak, so an index that is dropped can go. */
  private readonly storeIds = new WeakMap<ArrayBufferLike, number>();
  private storesSeen = 0;
  private readonly storesReleased = new FinalizationRegistry<number>((store) => this.releaseStore(store));
  private failedStarts = 0;
  private disposal: Promise<void> | null = null;

  constructor(
    workerCount: number,
    private readonly minWorkerMultiplyAdds: number,
    private readonly logger: (message: string) => void,
    private readonly spawnWorker: (file: string, options: WorkerOptions) => Worker,
  ) {
    this.slots = Array.from({ length: workerCount }, (_, slot) => this.spawn(slot));
  }

  async votesOf(
    candidates: readonly Float32Array[],
    rated: RatedNeighbours,
    scoring: ContentScoring,
  ): Promise<Float64Array> {
    const { dimension } = rated;
    const count = rated.rows.length;
    const worker = this.leastBusyWorker();
    if (
      !worker ||
      candidates.length * count * dimension < this.minWorkerMultiplyAdds ||
      // neighbourVotesOf throws for these; in-thread, so it is thrown the same way.
      candidates.some((candidate) => candidate.length !== dimension)
    )
      return neighbourVotesOf(candidates, rated, scoring);
    const request = this.requestFor(worker, candidates, rated, scoring);
    return new Promise<Float64Array>((resolve, reject) => {
      this.send(
        worker,
        request,
        request.kind === 'copied' ? [request.candidates.buffer as ArrayBuffer] : [],
        {
          inThread: () => settleInThread(() => neighbourVotesOf(candidates, rated, scoring), resolve, reject),
          settle: (answer) => {
            if (answer.type !== 'voted') return `answered vote ${request.id} with ${answer.type}`;
            if (answer.votes.length !== candidates.length)
              return `sent ${answer.votes.length} votes for ${candidates.length} candidates`;
            // Under jest the reply is deserialised in another realm; a view over the same buffer makes
            // it a Float64Array of this one without a copy.
            const { buffer, byteOffset, length } = answer.votes;
            resolve(new Float64Array(buffer, byteOffset, length));
            return null;
          },
        },
      );
    });
  }

  /**
   * searchVectorIndex on a worker, which holds the index's rows (shared) and a copy of its
   * projections: the search was a fifth of the API thread's time per first HYBRID list at 25M
   * (1.56 of 7.3 ms). In this thread when no worker can take it.
   */
  async nearest(
    index: VectorIndex,
    query: Float32Array,
    limit: number,
    filter: VectorSearchFilter = {},
  ): Promise<VectorHit[]> {
    const worker = this.leastBusyWorker();
    const buffer = index.vectors.buffer;
    // searchVectorIndex throws for a query of another dimension: in-thread, so it is thrown the same way.
    if (!worker || !(buffer instanceof SharedArrayBuffer) || query.length !== index.dimension)
      return searchVectorIndex(index, query, limit, filter);
    const store = this.storeOf(worker, buffer);
    if (!this.hasIndex(worker, store, index)) return searchVectorIndex(index, query, limit, filter);
    const { exclude, ...rest } = filter;
    const request: SearchRequest = {
      kind: 'search',
      id: ++this.callsSent,
      store,
      query,
      limit,
      filter: { ...rest, exclude: exclude ? Int32Array.from(exclude) : undefined },
    };
    return new Promise<VectorHit[]>((resolve, reject) => {
      this.send(worker, request, [], {
        inThread: () => settleInThread(() => searchVectorIndex(index, query, limit, filter), resolve, reject),
        settle: (answer) => {
          if (answer.type !== 'found') return `answered search ${request.id} with ${answer.type}`;
          if (answer.movieIds.length !== answer.similarities.length || answer.movieIds.length > limit)
            return `sent ${answer.movieIds.length} movies and ${answer.similarities.length} similarities for ${limit}`;
          const hits: VectorHit[] = [];
          for (let i = 0; i < answer.movieIds.length; i++)
            hits.push({ movieId: answer.movieIds[i], similarity: answer.similarities[i] });
          resolve(hits);
          return null;
        },
      });
    });
  }

  /**
   * nearestNeighbourRows on a worker: the table is ~0.6 ms of search a movie at 62K movies, built in
   * the background once per index, and in small ranges so that votes queued behind one wait little.
   */
  async neighbourRows(
    index: VectorIndex,
    from: number,
    to: number,
    perMovie: number,
  ): Promise<NeighbourRows> {
    const worker = this.leastBusyWorker();
    const buffer = index.vectors.buffer;
    const inThread = () => nearestNeighbourRows(index, from, to, perMovie);
    if (!worker || !(buffer instanceof SharedArrayBuffer)) return inThread();
    const store = this.storeOf(worker, buffer);
    if (!this.hasIndex(worker, store, index)) return inThread();
    const request: NeighbourRowsRequest = {
      kind: 'neighbour-rows',
      id: ++this.callsSent,
      store,
      from,
      to,
      perMovie,
    };
    const slots = (to - from) * perMovie;
    return new Promise<NeighbourRows>((resolve, reject) => {
      this.send(worker, request, [], {
        inThread: () => settleInThread(inThread, resolve, reject),
        settle: (answer) => {
          if (answer.type !== 'neighbour-rows')
            return `answered neighbour rows ${request.id} with ${answer.type}`;
          if (answer.neighbours.length !== slots || answer.similarities.length !== slots)
            return `sent ${answer.neighbours.length} neighbours and ${answer.similarities.length} similarities for ${slots} slots`;
          const { neighbours, similarities } = answer;
          // Views in this realm (see votesOf).
          resolve({
            neighbours: new Int32Array(neighbours.buffer, neighbours.byteOffset, neighbours.length),
            similarities: new Float32Array(similarities.buffer, similarities.byteOffset, similarities.length),
          });
          return null;
        },
      });
    });
  }

  private send(
    worker: VoteWorker,
    request: VoteRequest | SearchRequest | NeighbourRowsRequest,
    transfer: ArrayBuffer[],
    call: PendingCall,
  ): void {
    if (worker.pending.size === 0) worker.thread.ref();
    worker.pending.set(request.id, call);
    try {
      worker.thread.postMessage(request, transfer);
    } catch (error) {
      this.retire(worker, `could not be sent a call (${describeError(error)})`);
    }
  }

  /** The number naming `buffer` to the worker, which is given the memory the first time. */
  private storeOf(worker: VoteWorker, buffer: SharedArrayBuffer): number {
    let store = this.storeIds.get(buffer);
    if (store === undefined) {
      store = ++this.storesSeen;
      this.storeIds.set(buffer, store);
      // The worker lets go of its reference once this thread's does (an index replaced by another).
      this.storesReleased.register(buffer, store);
    }
    if (!worker.stores.has(store)) {
      worker.stores.add(store);
      const share: VoteStore = { kind: 'store', store, buffer };
      worker.thread.postMessage(share);
    }
    return store;
  }

  /** Whether the worker holds `index` (whose rows are `store`), giving it the index the first time. */
  private hasIndex(worker: VoteWorker, store: number, index: VectorIndex): boolean {
    const known = worker.indexes.get(store);
    if (known !== undefined) return known;
    const share = shareVectorIndex(index);
    worker.indexes.set(store, share !== null);
    if (share) {
      const message: IndexShare = { kind: 'index', store, index: share };
      worker.thread.postMessage(message);
    }
    return share !== null;
  }

  /**
   * The call as the worker gets it: positions in a shared memory the worker holds when every vector
   * is a view of one (the in-process search index's rows), else the vectors themselves. Copying them
   * cost the API thread ~1.1 MB per first HYBRID list (a user's 300 latest rated movies and 250
   * candidates at 512-d): the packing, the structured clone and the garbage they leave, which
   * kept V8's collector threads busy.
   */
  private requestFor(
    worker: VoteWorker,
    candidates: readonly Float32Array[],
    rated: RatedNeighbours,
    scoring: ContentScoring,
  ): VoteRequest {
    const { dimension, weights } = rated;
    const id = ++this.callsSent;
    const buffer = sharedBufferOf(candidates, rated.rows);
    if (buffer) {
      return {
        kind: 'shared',
        id,
        store: this.storeOf(worker, buffer),
        candidateOffsets: offsetsOf(candidates),
        ratedOffsets: offsetsOf(rated.rows),
        weights,
        dimension,
        scoring: { ...scoring },
      };
    }
    const packed = new Float32Array(candidates.length * dimension);
    candidates.forEach((candidate, i) => packed.set(candidate, i * dimension));
    const count = rated.rows.length;
    const vectors = new Float32Array(count * dimension);
    rated.rows.forEach((row, j) => vectors.set(row, j * dimension));
    return {
      kind: 'copied',
      id,
      candidates: packed,
      candidateCount: candidates.length,
      vectors,
      weights,
      count,
      dimension,
      scoring: { ...scoring },
    };
  }

  /** Tells the workers holding `store` to drop it: nothing here can name it any more. */
  private releaseStore(store: number): void {
    for (const worker of this.slots) {
      if (!worker || worker.retired || !worker.stores.delete(store)) continue;
      worker.indexes.delete(store);
      const release: VoteStoreRelease = { kind: 'release', store };
      worker.thread.postMessage(release);
    }
  }

  dispose(): Promise<void> {
    this.disposal ??= this.terminateAll();
    return this.disposal;
  }

  private async terminateAll(): Promise<void> {
    const threads: Worker[] = [];
    this.slots.forEach((worker, slot) => {
      this.slots[slot] = null;
      if (!worker || worker.retired) return;
      worker.retired = true;
      threads.push(worker.thread);
      // Calls in flight still get their answers.
      for (const pending of worker.pending.values()) pending.inThread();
      worker.pending.clear();
    });
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  private leastBusyWorker(): VoteWorker | null {
    let best: VoteWorker | null = null;
    for (const worker of this.slots)
      if (worker && !worker.retired && (!best || worker.pending.size < best.pending.size)) best = worker;
    return best;
  }

  private spawn(slot: number): VoteWorker {
    const thread = this.spawnWorker(this.entry.file, { execArgv: this.entry.execArgv });
    thread.unref();
    const worker: VoteWorker = {
      number: ++this.workersSpawned,
      thread,
      pending: new Map(),
      retired: false,
      answered: false,
      stores: new Set(),
      indexes: new Map(),
    };
    let uncaught: string | null = null;
    thread.on('message', (reply: VoteReply) => this.handleReply(worker, reply));
    thread.on('messageerror', (error) =>
      this.retire(worker, `sent an unreadable message (${describeError(error)})`),
    );
    // Always followed by 'exit'; kept so the exit can say why.
    thread.on('error', (error) => (uncaught = describeError(error)));
    thread.on('exit', (code) => this.retire(worker, `exited (${uncaught ?? `exit code ${code}`})`, slot));
    return worker;
  }

  private handleReply(worker: VoteWorker, reply: VoteReply): void {
    if (worker.retired) return;
    const pending = worker.pending.get(reply.id);
    if (!pending) {
      this.retire(worker, `answered call ${reply.id}, which it was not given`);
      return;
    }
    switch (reply.type) {
      case 'voted':
      case 'found':
      case 'neighbour-rows': {
        const wrong = pending.settle(reply);
        if (wrong !== null) {
          this.retire(worker, wrong);
          return;
        }
        worker.answered = true;
        this.failedStarts = 0;
        worker.pending.delete(reply.id);
        if (worker.pending.size === 0) worker.thread.unref();
        return;
      }
      case 'unsearchable':
        // Not the worker's fault: searches of that index stay in this thread.
        worker.indexes.set(reply.store, false);
        worker.pending.delete(reply.id);
        if (worker.pending.size === 0) worker.thread.unref();
        pending.inThread();
        return;
      case 'vote-failed':
        this.retire(worker, `threw: ${reply.message}`);
        return;
      default:
        this.retire(worker, `sent an unknown reply ${JSON.stringify(reply satisfies never)}`);
    }
  }

  /** Takes a worker out of service, votes its calls in-thread and, unless disposed, replaces it. */
  private retire(worker: VoteWorker, reason: string, slot = this.slots.indexOf(worker)): void {
    if (worker.retired) return;
    worker.retired = true;
    void worker.thread.terminate();
    const calls = worker.pending.size;
    for (const pending of worker.pending.values()) pending.inThread();
    worker.pending.clear();
    if (slot < 0 || this.slots[slot] !== worker) return;
    if (!worker.answered) this.failedStarts += 1;
    const description = `Content votes: vote worker ${worker.number} ${reason}; ${calls} call(s) answered in-thread`;
    if (this.failedStarts >= MAX_FAILED_STARTS) {
      this.slots[slot] = null;
      this.logger(`${description}; ${this.failedStarts} workers in a row died unused, not replacing it`);
      return;
    }
    this.logger(`${description}; starting a replacement`);
    this.slots[slot] = this.spawn(slot);
  }
}

/** A NeighbourVoter: in-thread for `workers: 0`, else a pool of that many worker threads (started now). */
export function createVotePool(options: VotePoolOptions = {}): NeighbourVoter {
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 0)
    throw new RangeError(`workers must be a whole number ≥ 0, got ${workers}`);
  if (workers === 0) return inThreadVoter;
  return new VoteWorkerPool(
    workers,
    options.minWorkerMultiplyAdds ?? MIN_WORKER_MULTIPLY_ADDS,
    options.logger ?? console.warn,
    options.spawnWorker ?? ((file, workerOptions) => new Worker(file, workerOptions)),
  );
}
