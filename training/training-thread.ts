import { parentPort, workerData } from 'node:worker_threads';
import { IN_PROCESS_COMPUTE } from './database';
import type { TrainingThreadReply, TrainingThreadTask } from './thread-compute';

/**
 * A worker thread that runs one CPU-bound stage of a training (thread-compute.ts): its typed arrays
 * arrive as copies, its progress and result go back as messages.
 */
async function run(task: TrainingThreadTask): Promise<TrainingThreadReply> {
  if (task.kind === 'train') {
    const models = await IN_PROCESS_COMPUTE.train(task.inputs, task.options, (progress) =>
      parentPort!.postMessage({ type: 'progress', progress } satisfies TrainingThreadReply),
    );
    return { type: 'trained', models };
  }
  const outcome = await IN_PROCESS_COMPUTE.calibrate(task.dataset, task.options, task.topNKind, task.vectors);
  return { type: 'calibrated', outcome };
}

if (parentPort) {
  run(workerData as TrainingThreadTask).then(
    (reply) => parentPort!.postMessage(reply),
    (error: unknown) =>
      parentPort!.postMessage({
        type: 'failed',
        message: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      } satisfies TrainingThreadReply),
  );
}
