import { Worker } from 'node:worker_threads';
import { workerEntry } from '../src/worker-entry';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import type { RegularizationWeights, SgdRates } from '../src/engines/collaborative/kernels/sgd';
import type { WasmMemory } from '../src/engines/collaborative/kernels/wasm-sgd';
import { sharedRef, type SharedArrayRef } from './sgd-memory';
import type { StratifiedLayout } from './sgd-schedule';

/** Everything a worker needs: views into shared memory, so updates land directly in the caller's model. */
export interface SharedSgdJob {
  readonly threads: number;
  readonly strata: number;
  readonly seed: number;
  readonly k: number;
  readonly mu: number;
  /** Set when the arrays live in this WebAssembly memory and the SIMD kernel is to run on it. */
  readonly memory: WasmMemory | null;
  readonly userBias: SharedArrayRef;
  readonly itemBias: SharedArrayRef;
  readonly userFactors: SharedArrayRef;
  readonly itemFactors: SharedArrayRef;
  readonly users: SharedArrayRef;
  readonly items: SharedArrayRef;
  readonly ratings: SharedArrayRef;
  readonly order: SharedArrayRef;
  readonly blockStarts: SharedArrayRef;
  readonly userRegWeight: SharedArrayRef | null;
  readonly itemRegWeight: SharedArrayRef | null;
  /** One Float64 per block: its squared error in the last epoch. */
  readonly blockErrors: SharedArrayBuffer;
  readonly barrier: SharedArrayBuffer;
}

export type WorkerRequest =
  { type: 'prepare'; job: SharedSgdJob } | { type: 'epoch'; epoch: number; rates: SgdRates };
export type WorkerReply = { type: 'prepared' } | { type: 'epoch-done' } | { type: 'failed'; message: string };

/**
 * Worker threads kept alive across trainings (spawning one costs tens of milliseconds, more than an
 * epoch on ml-100k). The calling thread only coordinates, so a server stays responsive while training.
 */
export class SgdWorkerPool {
  private job: SharedSgdJob | null = null;

  private constructor(private readonly workers: Worker[]) {}

  static async start(threads: number): Promise<SgdWorkerPool> {
    if (!Number.isInteger(threads) || threads < 1)
      throw new Error(`threads must be a positive integer, got ${threads}`);
    // Only the transpiler hook, never the parent's flags: a worker refuses V8 heap flags given
    // explicitly (ERR_WORKER_INVALID_EXEC_ARGV), and the training child runs with
    // --max-old-space-size, so a pool started there failed where one started from a shell did not.
    const { file, execArgv } = workerEntry(__dirname, 'sgd-worker');
    const workers = Array.from({ length: threads }, (_, workerIndex) => {
      return new Worker(file, { workerData: { workerIndex }, ...(execArgv ? { execArgv } : {}) });
    });
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise((resolve, reject) => {
            worker.once('online', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    // An idle pool must not keep the process alive; request() holds a reference while work is pending.
    for (const worker of workers) worker.unref();
    return new SgdWorkerPool(workers);
  }

  get threads(): number {
    return this.workers.length;
  }

  private request(worker: Worker, message: WorkerRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: WorkerReply) => {
        worker.off('error', onError);
        worker.unref();
        if (reply.type === 'failed') reject(new Error(`SGD worker failed: ${reply.message}`));
        else resolve();
      };
      const onError = (error: Error) => {
        worker.off('message', onMessage);
        worker.unref();
        reject(error);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      worker.ref();
      worker.postMessage(message);
    });
  }

  /**
   * Hands the workers one training run. Every array must live in shared memory; with `memory` set,
   * all of them must live in that WebAssembly memory, and the workers run the SIMD kernel on it.
   */
  async prepare(
    model: BiasedMfParameters,
    layout: StratifiedLayout,
    seed: number,
    weights: RegularizationWeights | null,
    memory: WasmMemory | null,
  ): Promise<void> {
    const blockCount = layout.strata * layout.strata;
    const job: SharedSgdJob = {
      threads: this.workers.length,
      strata: layout.strata,
      seed,
      k: model.k,
      mu: model.mu,
      memory,
      userBias: sharedRef(model.userBias, 'userBias'),
      itemBias: sharedRef(model.itemBias, 'itemBias'),
      userFactors: sharedRef(model.userFactors, 'userFactors'),
      itemFactors: sharedRef(model.itemFactors, 'itemFactors'),
      users: sharedRef(layout.triples.users, 'users'),
      items: sharedRef(layout.triples.items, 'items'),
      ratings: sharedRef(layout.triples.ratings, 'ratings'),
      order: sharedRef(layout.order, 'order'),
      blockStarts: sharedRef(layout.blockStarts, 'blockStarts'),
      userRegWeight: weights ? sharedRef(weights.user, 'user weights') : null,
      itemRegWeight: weights ? sharedRef(weights.item, 'item weights') : null,
      blockErrors: new SharedArrayBuffer(8 * blockCount),
      barrier: new SharedArrayBuffer(8),
    };
    this.job = job;
    await Promise.all(this.workers.map((worker) => this.request(worker, { type: 'prepare', job })));
  }

  /** Runs one epoch on all workers; returns the squared error of each block (summed in block order). */
  async runEpoch(epoch: number, rates: SgdRates): Promise<number> {
    const job = this.job;
    if (!job) throw new Error('runEpoch before prepare');
    await Promise.all(this.workers.map((worker) => this.request(worker, { type: 'epoch', epoch, rates })));
    let total = 0;
    for (const blockError of new Float64Array(job.blockErrors)) total += blockError;
    return total;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
