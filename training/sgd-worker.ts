import { parentPort, workerData } from 'node:worker_threads';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import {
  sgdSweep,
  type RegularizationWeights,
  type SgdRates,
} from '../src/engines/collaborative/kernels/sgd';
import { WasmSgdKernel } from '../src/engines/collaborative/kernels/wasm-sgd';
import { float32View, float64View, int32View } from './sgd-memory';
import { blockFor, runBlock, type StratifiedLayout, type SweepKernel } from './sgd-schedule';
import type { SharedSgdJob, WorkerReply, WorkerRequest } from './sgd-workers';

/**
 * One DSGD worker. Worker w of T runs the user groups r ≡ w (mod T) in every sub-epoch; all workers
 * meet at a barrier between sub-epochs so that no two ever touch the same user or item rows.
 */
const workerIndex = (workerData as { workerIndex: number }).workerIndex;

interface PreparedRun {
  readonly job: SharedSgdJob;
  readonly model: BiasedMfParameters;
  readonly layout: StratifiedLayout;
  readonly weights: RegularizationWeights | null;
  readonly sweep: SweepKernel;
  readonly barrierState: Int32Array;
  readonly blockErrors: Float64Array;
}

let run: PreparedRun | null = null;

/** A reusable barrier: [0] counts arrivals, [1] is the generation the waiters sleep on. */
function barrier(state: Int32Array, parties: number): void {
  const generation = Atomics.load(state, 1);
  if (Atomics.add(state, 0, 1) === parties - 1) {
    Atomics.store(state, 0, 0);
    Atomics.add(state, 1, 1);
    Atomics.notify(state, 1);
  } else {
    while (Atomics.load(state, 1) === generation) Atomics.wait(state, 1, generation);
  }
}

function prepare(job: SharedSgdJob): PreparedRun {
  let sweep: SweepKernel = sgdSweep;
  if (job.memory) {
    const kernel = WasmSgdKernel.forMemory(job.memory);
    if (!kernel) throw new Error('this worker cannot run the WebAssembly SIMD kernel');
    sweep = kernel.sweep.bind(kernel);
  }
  return {
    job,
    model: {
      k: job.k,
      mu: job.mu,
      userBias: float64View(job.userBias),
      itemBias: float64View(job.itemBias),
      userFactors: float32View(job.userFactors),
      itemFactors: float32View(job.itemFactors),
    },
    layout: {
      strata: job.strata,
      triples: {
        users: int32View(job.users),
        items: int32View(job.items),
        ratings: float32View(job.ratings),
      },
      order: int32View(job.order),
      blockStarts: int32View(job.blockStarts),
    },
    weights:
      job.userRegWeight && job.itemRegWeight
        ? { user: float64View(job.userRegWeight), item: float64View(job.itemRegWeight) }
        : null,
    sweep,
    barrierState: new Int32Array(job.barrier),
    blockErrors: new Float64Array(job.blockErrors),
  };
}

function runEpoch(prepared: PreparedRun, epoch: number, rates: SgdRates): void {
  const { job, model, layout, weights, sweep, barrierState, blockErrors } = prepared;
  for (let subEpoch = 0; subEpoch < layout.strata; subEpoch++) {
    for (let row = workerIndex; row < layout.strata; row += job.threads) {
      const block = blockFor(row, subEpoch, layout.strata);
      blockErrors[block] = runBlock(model, layout, block, epoch, job.seed, rates, weights, sweep);
    }
    if (subEpoch < layout.strata - 1) barrier(barrierState, job.threads);
  }
}

parentPort?.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    if (request.type === 'prepare') {
      run = prepare(request.job);
      reply = { type: 'prepared' };
    } else {
      if (!run) throw new Error('epoch requested before prepare');
      runEpoch(run, request.epoch, request.rates);
      reply = { type: 'epoch-done' };
    }
  } catch (error) {
    reply = { type: 'failed', message: (error as Error).stack ?? String(error) };
  }
  parentPort?.postMessage(reply);
});
