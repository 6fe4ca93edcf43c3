import { Worker, type WorkerOptions } from 'node:worker_threads';
import { describeError } from './embedders/errors';
import { type ContentScoring, neighbourVotesOf, type RatedNeighbours } from './neighbour-score';
import type { VoteReply, VoteRequest, VoteStore, VoteStoreRelease } from './vote-worker';
import { workerEntry } from '../../worker-entry';

/** Computes neighbourVotesOf, in this thread or elsewhere; the votes are the same bit for bit. */
export interface NeighbourVoter {
  votesOf(
    candidates: readonly Float32Array[],
    rated: RatedNeighbours,
    scoring: ContentScoring,
  ): Promise<Float64Array>;
  dispose(): Promise<void>;
}

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
  async dispose() {},
};

interface PendingVote {
  readonly candidates: readonly Float32Array[];
  readonly rated: RatedNeighbours;
  readonly scoring: ContentScoring;
  resolve(votes: Float64Array): void;
  reject(error: unknown): void;
}

interface VoteWorker {
  readonly number: number;
  readonly thread: Worker;
  readonly pending: Map<number, PendingVote>;
  retired: boolean;
  answered: boolean;
  /** The shared memories (by number) this worker holds a reference to. */
  readonly stores: Set<number>;
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

/** Votes the worker would have returned, computed here instead: a request never fails because of the pool. */
function voteInThread(pending: PendingVote): void {
  try {
    pending.resolve(neighbourVotesOf(pending.candidates, pending.rated, pending.scoring));
  } catch (error) {
    pending.reject(error);
  }
}

/**
 * neighbourVotesOf on worker threads, so the API's one thread is free for other requests while a
 * user's candidates are voted on. Each call goes to the worker with the fewest calls in flight.
 *
 * Failures: a worker that crashes, throws or answers nonsense is terminated and replaced (one log
 * line); the calls it held are voted in-thread. Workers are unref'd while idle, so an undisposed pool
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
      if (worker.pending.size === 0) worker.thread.ref();
      worker.pending.set(request.id, { candidates, rated, scoring, resolve, reject });
      try {
        if (request.kind === 'copied')
          worker.thread.postMessage(request, [request.candidates.buffer as ArrayBuffer]);
        else worker.thread.postMessage(request);
      } catch (error) {
        this.retire(worker, `could not be sent a call (${describeError(error)})`);
      }
    });
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
      return {
        kind: 'shared',
        id,
        store,
        candidateOffsets: Int32Array.from(candidates, (vector) => vector.byteOffset / 4),
        ratedOffsets: Int32Array.from(rated.rows, (vector) => vector.byteOffset / 4),
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
      // Calls in flight still get their votes.
      for (const pending of worker.pending.values()) voteInThread(pending);
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
      case 'voted': {
        if (reply.votes.length !== pending.candidates.length) {
          this.retire(worker, `sent ${reply.votes.length} votes for ${pending.candidates.length} candidates`);
          return;
        }
        worker.answered = true;
        this.failedStarts = 0;
        worker.pending.delete(reply.id);
        if (worker.pending.size === 0) worker.thread.unref();
        // Under jest the reply is deserialised in another realm; a view over the same buffer makes it a
        // Float64Array of this one without a copy.
        const { buffer, byteOffset, length } = reply.votes;
        pending.resolve(new Float64Array(buffer, byteOffset, length));
        return;
      }
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
    for (const pending of worker.pending.values()) voteInThread(pending);
    worker.pending.clear();
    if (slot < 0 || this.slots[slot] !== worker) return;
    if (!worker.answered) this.failedStarts += 1;
    const description = `Content votes: vote worker ${worker.number} ${reason}; ${calls} call(s) voted in-thread`;
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
