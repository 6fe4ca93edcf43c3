import { parentPort, workerData } from 'node:worker_threads';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import type {
  RatingTriples,
  RegularizationWeights,
  SgdRates,
} from '../src/engines/collaborative/kernels/sgd';
import { blockFor, runBlock, type StratifiedLayout } from './sgd-schedule';
import type { SharedSgdJob, WorkerReply, WorkerRequest } from './sgd-workers';

/**
 * One DSGD worker. Worker w of T runs the user groups r ≡ w (mod T) in every sub-epoch; all workers
 * meet at a barrier between sub-epochs so that no two ever touch the same user or item rows.
 */
const workerIndex = (workerData as { workerIndex: number }).workerIndex;

let model: BiasedMfParameters | null = null;
let triples: RatingTriples | null = null;
let layout: StratifiedLayout | null = null;
let job: SharedSgdJob | null = null;
let barrierState: Int32Array | null = null;
let weights: RegularizationWeights | null = null;

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

function runEpoch(epoch: number, rates: SgdRates): void {
  if (!model || !triples || !layout || !job || !barrierState)
    throw new Error('epoch requested before prepare');
  const { strata } = layout;
  const blockErrors = new Float64Array(job.blockErrors);
  for (let subEpoch = 0; subEpoch < strata; subEpoch++) {
    for (let row = workerIndex; row < strata; row += job.threads) {
      const block = blockFor(row, subEpoch, strata);
      blockErrors[block] = runBlock(model, triples, layout, block, epoch, job.seed, rates, weights);
    }
    if (subEpoch < strata - 1) barrier(barrierState, job.threads);
  }
}

parentPort?.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    if (request.type === 'prepare') {
      job = request.job;
      model = {
        k: job.k,
        mu: job.mu,
        userBias: new Float64Array(job.userBias),
        itemBias: new Float64Array(job.itemBias),
        userFactors: new Float32Array(job.userFactors),
        itemFactors: new Float32Array(job.itemFactors),
      };
      triples = {
        users: new Int32Array(job.users),
        items: new Int32Array(job.items),
        ratings: new Float32Array(job.ratings),
      };
      layout = {
        strata: job.strata,
        order: new Int32Array(job.order),
        blockStarts: new Int32Array(job.blockStarts),
      };
      barrierState = new Int32Array(job.barrier);
      weights =
        job.userRegWeight && job.itemRegWeight
          ? { user: new Float64Array(job.userRegWeight), item: new Float64Array(job.itemRegWeight) }
          : null;
      reply = { type: 'prepared' };
    } else {
      runEpoch(request.epoch, request.rates);
      reply = { type: 'epoch-done' };
    }
  } catch (error) {
    reply = { type: 'failed', message: (error as Error).stack ?? String(error) };
  }
  parentPort?.postMessage(reply);
});
