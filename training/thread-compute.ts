import { Worker } from 'node:worker_threads';
import type { TopNKind } from '../src/engines/collaborative/kernels';
import { workerEntry } from '../src/worker-entry';
import type { CalibrationOutcome, TrainingCompute, TrainingInputs } from './database';
import type { RatingsDataset } from './dataset';
import type { TrainedModels, TrainingProgress, TrainOptions } from './train';

export type TrainingThreadTask =
  | { readonly kind: 'train'; readonly inputs: TrainingInputs; readonly options: TrainOptions }
  | {
      readonly kind: 'calibrate';
      readonly dataset: RatingsDataset;
      readonly options: TrainOptions;
      readonly topNKind: TopNKind;
      readonly vectors: ReadonlyMap<number, Float32Array>;
    };

export type TrainingThreadReply =
  | { readonly type: 'progress'; readonly progress: TrainingProgress }
  | { readonly type: 'trained'; readonly models: TrainedModels }
  | { readonly type: 'calibrated'; readonly outcome: CalibrationOutcome }
  | { readonly type: 'failed'; readonly message: string; readonly stack?: string };

/** A stage of a training that ended by its thread's failure, not by the caller's abort. */
export class TrainingThreadError extends Error {
  constructor(message: string, stack?: string) {
    super(message);
    this.name = 'TrainingThreadError';
    if (stack) this.stack = stack;
  }
}

/**
 * One worker thread per stage, ended when the stage ends or `signal` aborts (terminate() stops even
 * a synchronous inversion half-way, which an in-thread training could not).
 */
function runStage<T>(
  task: TrainingThreadTask,
  signal: AbortSignal,
  settle: (reply: TrainingThreadReply) => T | undefined,
): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  // Only the transpiler hook, never the parent's heap flags, which a worker refuses (sgd-workers.ts).
  const { file, execArgv } = workerEntry(__dirname, 'training-thread');
  const worker = new Worker(file, { workerData: task, ...(execArgv ? { execArgv } : {}) });
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
      void worker.terminate();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (reply: TrainingThreadReply) => {
      if (reply.type === 'failed') finish(() => reject(new TrainingThreadError(reply.message, reply.stack)));
      else {
        const value = settle(reply);
        if (value !== undefined) finish(() => resolve(value));
      }
    });
    worker.once('error', (error) => finish(() => reject(error)));
    worker.once('exit', (code) =>
      finish(() =>
        reject(new TrainingThreadError(`the training thread exited (code ${code}) without a result`)),
      ),
    );
  });
}

/**
 * The CPU-bound stages in worker threads, so a process that serves while it trains (the embedded
 * database, whose queries run on this event loop) keeps answering. Measured on ml-latest-small,
 * in-thread: /health went unanswered for 67.6 s during the top-N model's choice and 82.1 s during
 * calibration (load ~4). The inputs are copied to the thread (a demo-sized catalog: ~2 MB at 100K
 * ratings).
 */
export function threadCompute(signal: AbortSignal): TrainingCompute {
  return {
    train: (inputs, options, onProgress) =>
      runStage<TrainedModels>({ kind: 'train', inputs, options }, signal, (reply) => {
        if (reply.type === 'progress') onProgress?.(reply.progress);
        return reply.type === 'trained' ? reply.models : undefined;
      }),
    calibrate: (dataset, options, topNKind, vectors) =>
      runStage<CalibrationOutcome>(
        { kind: 'calibrate', dataset, options, topNKind, vectors },
        signal,
        (reply) => (reply.type === 'calibrated' ? reply.outcome : undefined),
      ),
  };
}
