import { availableParallelism } from 'node:os';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Embedder, EmbedOptions } from './embedder';
import { describeError } from './errors';
import type { EmbedChunkRequest, PoolWorkerData, PoolWorkerReply } from './pool-worker';
import { USE_LITE_DIMENSION, useLiteModelId } from './use-lite';
import { assertEmbeddableTexts, assertPositiveInteger } from './vectors';
import { workerEntry } from '../../../worker-entry';

export interface UseLitePoolOptions {
  /** Worker threads, each holding its own copy of the model; defaults to os.availableParallelism(). */
  workers?: number;
  /** Texts per model call inside a worker, as for the in-process use-lite embedder. */
  maxBatchSize?: number;
  /** Receives one line when a worker dies and is replaced; defaults to console.warn. */
  logger?: (message: string) => void;
  /** Starts one worker thread. Defaults to `new Worker(...)`; tests pass a wrapper to observe or fault it. */
  spawnWorker?: (file: string, options: WorkerOptions) => Worker;
}

/**
 * Rough cost of embedding one text, in characters: measured use-lite times fit about
 * 8 ms + 0.1 ms per character (11 ms at 50 chars, ~120 ms at 1,200), i.e. a fixed cost worth ~80 chars.
 */
const PER_TEXT_COST = 80;
/** Aim for this many chunks per worker per embed() call, so the last chunks to finish are small. */
const CHUNKS_PER_WORKER = 4;
/** ~40 ms of work: smaller chunks would spend a noticeable share of their time on message passing. */
const MIN_CHUNK_COST = 400;
/** ~0.4 s of work: caps how long one worker can still be busy after the others have run out of chunks. */
const MAX_CHUNK_COST = 4_000;

/**
 * Added to a worker's nice value while it embeds background work (up to 19). CFS weighs nice 10 at 110 against
 * 1,024 for nice 0, so on a cold start the first model's training (two threads at nice 0) gets ~90%
 * of the cores while the first index build runs beside it, instead of half each: at 25M the training
 * took 697.6 s sharing the two cores with the build and 358.6 s alone (README, Performance at scale).
 */
export const BACKGROUND_NICE = 10;

/** Elsewhere setpriority(2) on pid 0 would lower the whole process, event loop included. */
const NICE_IS_PER_THREAD = process.platform === 'linux';

function textCost(text: string): number {
  return text.length + PER_TEXT_COST;
}

/**
 * Splits a batch into chunks of input indices for `workerCount` workers that each take the next chunk
 * when they finish one. Texts are taken longest first, so chunks hold texts of similar length (the model
 * pads a call to its longest text) and the expensive chunks are handed out early, leaving cheap ones to
 * even out the finish.
 */
export function planChunks(texts: readonly string[], workerCount: number): number[][] {
  assertPositiveInteger('workerCount', workerCount);
  const longestFirst = texts.map((_, index) => index).sort((a, b) => texts[b].length - texts[a].length);
  const totalCost = texts.reduce((sum, text) => sum + textCost(text), 0);
  const budget = Math.min(
    MAX_CHUNK_COST,
    Math.max(MIN_CHUNK_COST, totalCost / (workerCount * CHUNKS_PER_WORKER)),
  );
  const chunks: number[][] = [];
  let current: number[] = [];
  let currentCost = 0;
  for (const index of longestFirst) {
    const cost = textCost(texts[index]);
    if (current.length > 0 && currentCost + cost > budget) {
      chunks.push(current);
      current = [];
      currentCost = 0;
    }
    current.push(index);
    currentCost += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

interface EmbedRequest {
  readonly vectors: Float32Array[];
  pendingChunks: number;
  settled: boolean;
  resolve(vectors: Float32Array[]): void;
  reject(error: Error): void;
}

interface Chunk {
  readonly id: number;
  readonly request: EmbedRequest;
  readonly indices: number[];
  readonly texts: string[];
  readonly background: boolean;
}

interface PoolWorker {
  readonly number: number;
  readonly thread: Worker;
  state: 'starting' | 'idle' | 'busy' | 'retired';
  chunk: Chunk | null;
  /** Settles the promise returned by `spawn` once the model is loaded (or cannot be). */
  started(error?: Error): void;
}

/**
 * Universal Sentence Encoder lite spread over worker threads. Each worker runs the in-process use-lite
 * embedder, so the pool reports the same provider and model id and returns the same vectors (up to float
 * rounding differences from how texts are grouped into model calls, well under 1e-6).
 *
 * Lifetime: workers are unref'd while idle, so a pool nobody disposed does not keep the process alive;
 * they hold it open only while loading or embedding. dispose() still matters: each worker keeps its own
 * copy of the model in memory until terminated.
 *
 * Failures: a worker that crashes, or whose embedding throws, fails the embed() call it was serving (not
 * other calls) and is replaced by a new worker. If a replacement cannot load the model its slot stays
 * empty; once no worker is left, embed() rejects.
 *
 * Priority: a background call's chunks run BACKGROUND_NICE above the process's nice value, others
 * at it; a worker that is not allowed to return (an unprivileged process may not lower its nice
 * value) is replaced once its chunk is delivered.
 */
class UseLiteWorkerPool implements Embedder {
  readonly provider = 'use-lite' as const;
  readonly modelId = useLiteModelId();
  readonly dimension = USE_LITE_DIMENSION;

  private readonly slots: (PoolWorker | null)[];
  private readonly queue: Chunk[] = [];
  private readonly unsettled = new Set<EmbedRequest>();
  private readonly entry = workerEntry(__dirname, 'pool-worker');
  private workersSpawned = 0;
  private chunksCreated = 0;
  private started = false;
  private disposed = false;
  private disposal: Promise<void> | null = null;
  private lastFailure = 'no worker could be started';

  constructor(
    workerCount: number,
    private readonly workerData: PoolWorkerData,
    private readonly logger: (message: string) => void,
    private readonly spawnWorker: (file: string, options: WorkerOptions) => Worker,
  ) {
    this.slots = Array.from({ length: workerCount }, () => null);
  }

  async start(): Promise<void> {
    const outcomes = await Promise.allSettled(this.slots.map((_, slot) => this.spawn(slot)));
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) {
      await this.dispose();
      throw failure.reason;
    }
    this.started = true;
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    assertEmbeddableTexts(texts);
    const background = options.background ?? false;
    if (this.disposed) throw new Error('The use-lite worker pool has been disposed');
    if (texts.length === 0) return [];
    if (this.slots.every((worker) => worker === null)) {
      throw new Error(`The use-lite worker pool has no workers left: ${this.lastFailure}`);
    }
    return new Promise<Float32Array[]>((resolve, reject) => {
      const chunks = planChunks(texts, this.slots.length);
      const request: EmbedRequest = {
        vectors: new Array<Float32Array>(texts.length),
        pendingChunks: chunks.length,
        settled: false,
        resolve,
        reject,
      };
      this.unsettled.add(request);
      for (const indices of chunks) {
        const chunkTexts = indices.map((index) => texts[index]);
        this.queue.push({ id: ++this.chunksCreated, request, indices, texts: chunkTexts, background });
      }
      this.dispatch();
    });
  }

  dispose(): Promise<void> {
    this.disposal ??= this.terminateAll();
    return this.disposal;
  }

  private async terminateAll(): Promise<void> {
    this.disposed = true;
    this.queue.length = 0;
    const error = new Error('The use-lite worker pool was disposed before this embed() call finished');
    for (const request of this.unsettled) this.settle(request, error);
    const threads: Worker[] = [];
    for (const worker of this.slots) {
      if (!worker || worker.state === 'retired') continue;
      if (worker.state === 'starting') {
        worker.started(new Error('The use-lite worker pool was disposed while its workers were starting'));
      }
      worker.state = 'retired';
      threads.push(worker.thread);
    }
    await Promise.all(threads.map((thread) => thread.terminate()));
  }

  private spawn(slot: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const thread = this.spawnWorker(this.entry.file, {
        workerData: this.workerData,
        execArgv: this.entry.execArgv,
      });
      const worker: PoolWorker = {
        number: ++this.workersSpawned,
        thread,
        state: 'starting',
        chunk: null,
        started: (error) => (error ? reject(error) : resolve()),
      };
      this.slots[slot] = worker;
      let uncaught: string | null = null;
      thread.on('message', (reply: PoolWorkerReply) => this.handleReply(worker, slot, reply));
      thread.on('messageerror', (error) =>
        this.retire(worker, slot, `sent an unreadable message (${describeError(error)})`),
      );
      // Always followed by 'exit'; kept so the exit can say why.
      thread.on('error', (error) => (uncaught = describeError(error)));
      thread.on('exit', (code) => {
        const cause = uncaught ?? `exit code ${code}`;
        this.retire(worker, slot, `crashed (${cause})`);
      });
    });
  }

  private handleReply(worker: PoolWorker, slot: number, reply: PoolWorkerReply): void {
    if (worker.state === 'retired') return;
    switch (reply.type) {
      case 'ready':
        if (reply.modelId !== this.modelId || reply.dimension !== this.dimension) {
          this.retire(
            worker,
            slot,
            `loaded ${reply.modelId} (${reply.dimension}-d), expected ${this.modelId} (${this.dimension}-d)`,
          );
          return;
        }
        worker.state = 'idle';
        worker.thread.unref();
        worker.started();
        this.dispatch();
        return;
      case 'load-failed':
        this.retire(worker, slot, `could not load the model: ${reply.message}`);
        return;
      case 'embedded':
        this.complete(worker, slot, reply.chunkId, reply.vectors, reply.priorityStuck ?? false);
        return;
      case 'embed-failed':
        this.retire(worker, slot, `threw: ${reply.message}`);
        return;
      default:
        this.retire(worker, slot, `sent an unknown reply ${JSON.stringify(reply satisfies never)}`);
    }
  }

  private dispatch(): void {
    for (const worker of this.slots) {
      if (worker?.state !== 'idle') continue;
      const chunk = this.nextChunk();
      if (!chunk) return;
      worker.state = 'busy';
      worker.chunk = chunk;
      worker.thread.ref();
      const request: EmbedChunkRequest = {
        type: 'embed',
        chunkId: chunk.id,
        texts: chunk.texts,
        niceIncrement: chunk.background && NICE_IS_PER_THREAD ? BACKGROUND_NICE : 0,
      };
      worker.thread.postMessage(request);
    }
  }

  private nextChunk(): Chunk | undefined {
    let chunk = this.queue.shift();
    // Chunks of a call that already failed are dropped rather than embedded for nothing.
    while (chunk?.request.settled) chunk = this.queue.shift();
    return chunk;
  }

  private complete(
    worker: PoolWorker,
    slot: number,
    chunkId: number,
    vectors: Float32Array[],
    priorityStuck: boolean,
  ): void {
    const chunk = worker.chunk;
    if (!chunk || chunk.id !== chunkId || vectors.length !== chunk.indices.length) {
      const got = `${vectors.length} vectors for chunk ${chunkId}`;
      const expected = chunk ? `${chunk.indices.length} for chunk ${chunk.id}` : 'no reply';
      this.retire(worker, slot, `sent ${got}, expected ${expected}`);
      return;
    }
    const wrongSize = vectors.find((vector) => vector.length !== this.dimension);
    if (wrongSize) {
      this.retire(worker, slot, `returned a ${wrongSize.length}-d embedding, expected ${this.dimension}`);
      return;
    }
    worker.chunk = null;
    worker.state = 'idle';
    worker.thread.unref();
    const { request } = chunk;
    if (!request.settled) {
      // Received arrays come from whichever realm deserialised the message, which under jest is not this
      // module's; a view over the same buffer makes them Float32Arrays of this realm without a copy.
      chunk.indices.forEach((index, position) => {
        const { buffer, byteOffset, length } = vectors[position];
        request.vectors[index] = new Float32Array(buffer, byteOffset, length);
      });
      request.pendingChunks -= 1;
      if (request.pendingChunks === 0) this.settle(request, request.vectors);
    }
    // Its chunk is delivered; a fresh thread starts at normal priority.
    if (priorityStuck) this.retire(worker, slot, 'could not return to normal priority after background work');
    this.dispatch();
  }

  private settle(request: EmbedRequest, outcome: Float32Array[] | Error): void {
    if (request.settled) return;
    request.settled = true;
    this.unsettled.delete(request);
    if (outcome instanceof Error) request.reject(outcome);
    else request.resolve(outcome);
  }

  /** Takes a worker out of service, fails what it was doing and, once the pool is running, replaces it. */
  private retire(worker: PoolWorker, slot: number, reason: string): void {
    if (worker.state === 'retired') return;
    const wasStarting = worker.state === 'starting';
    const chunk = worker.chunk;
    worker.state = 'retired';
    worker.chunk = null;
    void worker.thread.terminate();
    const description = `use-lite pool worker ${worker.number} ${reason}`;
    this.lastFailure = description;
    if (wasStarting) worker.started(new Error(description));
    if (chunk) {
      this.settle(
        chunk.request,
        new Error(`${description} while embedding a chunk of ${chunk.indices.length} texts`),
      );
    }
    if (this.disposed || !this.started) return;
    if (wasStarting) {
      // A replacement that cannot even load would fail again the same way; leave the slot empty.
      this.slots[slot] = null;
      this.logger(`Embeddings: ${description}; running with one worker fewer`);
      this.failEverythingIfNoWorkers();
      return;
    }
    this.logger(`Embeddings: ${description}; starting a replacement`);
    // Failures of the replacement are handled (and logged) by retire() itself.
    this.spawn(slot).catch(() => undefined);
  }

  private failEverythingIfNoWorkers(): void {
    if (this.slots.some((worker) => worker !== null)) return;
    this.queue.length = 0;
    const error = new Error(`The use-lite worker pool has no workers left: ${this.lastFailure}`);
    for (const request of this.unsettled) this.settle(request, error);
  }
}

/**
 * A use-lite embedder that embeds on worker threads, one model per thread. Resolves once every worker has
 * loaded the model; if any cannot, the others are terminated and the load error is thrown.
 */
export async function createUseLitePool(options: UseLitePoolOptions = {}): Promise<Embedder> {
  const workerCount = options.workers ?? availableParallelism();
  assertPositiveInteger('workers', workerCount);
  if (options.maxBatchSize !== undefined) assertPositiveInteger('maxBatchSize', options.maxBatchSize);
  const pool = new UseLiteWorkerPool(
    workerCount,
    { maxBatchSize: options.maxBatchSize },
    options.logger ?? console.warn,
    options.spawnWorker ?? ((file, workerOptions) => new Worker(file, workerOptions)),
  );
  await pool.start();
  return pool;
}
