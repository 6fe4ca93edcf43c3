import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import type {
  RatingTriples,
  RegularizationWeights,
  SgdRates,
} from '../src/engines/collaborative/kernels/sgd';
import type { StratifiedLayout } from './sgd-schedule';

/** Everything a worker needs, as SharedArrayBuffers so updates land directly in the caller's model. */
export interface SharedSgdJob {
  readonly threads: number;
  readonly strata: number;
  readonly seed: number;
  readonly k: number;
  readonly mu: number;
  readonly userBias: SharedArrayBuffer;
  readonly itemBias: SharedArrayBuffer;
  readonly userFactors: SharedArrayBuffer;
  readonly itemFactors: SharedArrayBuffer;
  readonly users: SharedArrayBuffer;
  readonly items: SharedArrayBuffer;
  readonly ratings: SharedArrayBuffer;
  readonly order: SharedArrayBuffer;
  readonly blockStarts: SharedArrayBuffer;
  /** One Float64 per block: its squared error in the last epoch. */
  readonly blockErrors: SharedArrayBuffer;
  readonly barrier: SharedArrayBuffer;
  readonly userRegWeight: SharedArrayBuffer | null;
  readonly itemRegWeight: SharedArrayBuffer | null;
}

export type WorkerRequest =
  { type: 'prepare'; job: SharedSgdJob } | { type: 'epoch'; epoch: number; rates: SgdRates };
export type WorkerReply = { type: 'prepared' } | { type: 'epoch-done' } | { type: 'failed'; message: string };

/** Array views over SharedArrayBuffers (the model must already live in shared memory). */
function sharedBuffer(array: { buffer: ArrayBufferLike }, what: string): SharedArrayBuffer {
  if (!(array.buffer instanceof SharedArrayBuffer))
    throw new Error(`${what} must be backed by a SharedArrayBuffer`);
  return array.buffer;
}

/** Copies a typed array into shared memory, or returns it if it already lives there. */
export function toShared<T extends Int32Array | Float32Array | Float64Array>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer && array.byteOffset === 0) return array;
  const Constructor = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new Constructor(new SharedArrayBuffer(array.byteLength));
  copy.set(array as never);
  return copy;
}

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
    const isTypeScript = __filename.endsWith('.ts');
    const file = path.join(__dirname, `sgd-worker${path.extname(__filename)}`);
    // Under ts sources (swc-node, jest) the worker needs the same on-the-fly transpiler as its parent.
    const execArgv =
      isTypeScript && !process.execArgv.some((arg) => arg.includes('@swc-node/register'))
        ? [...process.execArgv, '-r', '@swc-node/register']
        : process.execArgv;
    const workers = Array.from({ length: threads }, (_, workerIndex) => {
      return new Worker(file, { workerData: { workerIndex }, execArgv });
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

  async prepare(
    model: BiasedMfParameters,
    triples: RatingTriples,
    layout: StratifiedLayout,
    seed: number,
    weights: RegularizationWeights | null,
  ): Promise<void> {
    const blockCount = layout.strata * layout.strata;
    this.job = {
      threads: this.workers.length,
      strata: layout.strata,
      seed,
      k: model.k,
      mu: model.mu,
      userBias: sharedBuffer(model.userBias, 'userBias'),
      itemBias: sharedBuffer(model.itemBias, 'itemBias'),
      userFactors: sharedBuffer(model.userFactors, 'userFactors'),
      itemFactors: sharedBuffer(model.itemFactors, 'itemFactors'),
      users: sharedBuffer(toShared(triples.users), 'users'),
      items: sharedBuffer(toShared(triples.items), 'items'),
      ratings: sharedBuffer(toShared(triples.ratings), 'ratings'),
      order: sharedBuffer(layout.order, 'order'),
      blockStarts: sharedBuffer(layout.blockStarts, 'blockStarts'),
      blockErrors: new SharedArrayBuffer(8 * blockCount),
      barrier: new SharedArrayBuffer(8),
      userRegWeight: weights ? sharedBuffer(toShared(weights.user), 'user weights') : null,
      itemRegWeight: weights ? sharedBuffer(toShared(weights.item), 'item weights') : null,
    };
    const job = this.job;
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
