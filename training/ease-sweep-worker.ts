import { workerData } from 'node:worker_threads';
import { claimAndSweep, CLAIM, STOP, type SweepWorkerData } from './ease-sweep';

/**
 * A helper of invertOnThreads (ease-sweep.ts): waits for each block to be published, takes chunks of
 * its trailing update alongside the caller, until told to stop.
 */
const data = workerData as SweepWorkerData;
const control = new Int32Array(data.control);
const matrix = new Float64Array(data.matrix);
const buffers = {
  blockSize: data.blockSize,
  columns: new Float64Array(data.columns),
  factors: new Float64Array(data.factors),
};
while (!Atomics.load(control, STOP)) {
  const exhausted = claimAndSweep(control, matrix, data.n, buffers);
  if (exhausted < 0) break;
  // Sleeps until the word moves on (the next block is published, or the inversion ends); returns
  // at once when it already has.
  Atomics.wait(control, CLAIM, exhausted, 1000);
}
