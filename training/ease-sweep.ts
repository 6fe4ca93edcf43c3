import { Worker } from 'node:worker_threads';
import {
  invertSymmetricPositiveDefinite,
  sweepTrailingRows,
  SWEEP_BLOCK_SIZE,
  type SweepBlockBuffers,
} from '../src/engines/collaborative/kernels/ease';
import { workerEntry } from '../src/worker-entry';

/**
 * Below this many columns the inversion runs on the calling thread alone: starting a worker (it
 * loads its code, ~0.5 s under the TypeScript hook) costs more than it would save.
 */
export const MIN_THREADED_COLUMNS = 768;

/** Rows a thread claims at a time from a block's trailing update. */
const CHUNK_ROWS = 8;

// The control words shared with the worker (Int32Array indices).
/** (generation << 16) | next unclaimed chunk; a claim is a compare-and-swap of it. */
export const CLAIM = 0;
export const BLOCK_START = 1;
export const BLOCK_END = 2;
export const CHUNKS = 3;
/** Chunks of the current generation done, by either thread. */
export const FINISHED = 4;
export const STOP = 5;
const CONTROL_WORDS = 6;

/** What the worker is given: views of the caller's shared buffers. */
export interface SweepWorkerData {
  readonly n: number;
  readonly blockSize: number;
  readonly matrix: SharedArrayBuffer;
  readonly columns: SharedArrayBuffer;
  readonly factors: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
}

/** A float64 array on shared memory, so that a worker thread can write into it. */
export function sharedFloat64Array(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));
}

/**
 * Claims chunks of the published block until none is left, applying each (every thread runs this).
 * Returns the claim word it found with nothing left to claim, for a worker to wait on.
 */
export function claimAndSweep(
  control: Int32Array,
  matrix: Float64Array,
  n: number,
  buffers: SweepBlockBuffers,
): number {
  for (;;) {
    const word = Atomics.load(control, CLAIM);
    if (word < 0) return word;
    const chunk = word & 0xffff;
    // Read before the claim: a claim that succeeds proves the word, and so these, were current.
    const start = Atomics.load(control, BLOCK_START);
    const end = Atomics.load(control, BLOCK_END);
    const chunks = Atomics.load(control, CHUNKS);
    if (chunk >= chunks) return word;
    if (Atomics.compareExchange(control, CLAIM, word, word + 1) !== word) continue;
    sweepTrailingRows(
      matrix,
      n,
      start,
      end,
      buffers,
      chunk * CHUNK_ROWS,
      Math.min(n, (chunk + 1) * CHUNK_ROWS),
    );
    if (Atomics.add(control, FINISHED, 1) + 1 === chunks) Atomics.notify(control, FINISHED);
  }
}

/** Longest wait for a chunk the worker claimed before the inversion gives up on it. */
const STALLED_MS = 120_000;

/**
 * invertSymmetricPositiveDefinite with the trailing update of every block shared between this thread
 * and `threads − 1` workers; `matrix` must be on a SharedArrayBuffer (sharedFloat64Array). The
 * result is the same bit for bit as on one thread (see the kernel): threads only split rows. This
 * thread blocks until the inversion is done and claims work itself, so a worker that starts late
 * (or not at all) makes it slower, never wrong.
 */
export function invertOnThreads(matrix: Float64Array, n: number, threads: number): void {
  if (threads <= 1 || n < MIN_THREADED_COLUMNS || !(matrix.buffer instanceof SharedArrayBuffer)) {
    invertSymmetricPositiveDefinite(matrix, n);
    return;
  }
  const blockSize = SWEEP_BLOCK_SIZE;
  const buffers: SweepBlockBuffers = {
    blockSize,
    columns: sharedFloat64Array(blockSize * n),
    factors: sharedFloat64Array(blockSize * n),
  };
  const control = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * Int32Array.BYTES_PER_ELEMENT));
  Atomics.store(control, CLAIM, 0);
  const data: SweepWorkerData = {
    n,
    blockSize,
    matrix: matrix.buffer,
    columns: buffers.columns.buffer as SharedArrayBuffer,
    factors: buffers.factors.buffer as SharedArrayBuffer,
    control: control.buffer,
  };
  const { file, execArgv } = workerEntry(__dirname, 'ease-sweep-worker');
  const workers = Array.from({ length: threads - 1 }, () => {
    const worker = new Worker(file, { workerData: data, ...(execArgv ? { execArgv } : {}) });
    // A worker that fails to start leaves its share to this thread; its error must not end the process.
    worker.on('error', () => undefined);
    worker.unref();
    return worker;
  });
  let generation = 0;
  try {
    invertSymmetricPositiveDefinite(matrix, n, buffers, (start, end) => {
      const chunks = Math.ceil(n / CHUNK_ROWS);
      Atomics.store(control, BLOCK_START, start);
      Atomics.store(control, BLOCK_END, end);
      Atomics.store(control, CHUNKS, chunks);
      Atomics.store(control, FINISHED, 0);
      generation = (generation + 1) & 0x7fff;
      Atomics.store(control, CLAIM, generation << 16);
      Atomics.notify(control, CLAIM);
      claimAndSweep(control, matrix, n, buffers);
      let finished = Atomics.load(control, FINISHED);
      let lastProgress = Date.now();
      while (finished < chunks) {
        Atomics.wait(control, FINISHED, finished, 1000);
        const now = Atomics.load(control, FINISHED);
        if (now !== finished) lastProgress = Date.now();
        else if (Date.now() - lastProgress > STALLED_MS)
          throw new Error(`an EASE inversion worker stopped in block ${start}..${end}`);
        finished = now;
      }
    });
  } finally {
    Atomics.store(control, STOP, 1);
    Atomics.store(control, CLAIM, -1);
    Atomics.notify(control, CLAIM);
    for (const worker of workers) void worker.terminate().catch(() => undefined);
  }
}
