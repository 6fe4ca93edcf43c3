import type { DataSource } from 'typeorm';
import type { Logger } from '../src/logger';
import { ModelStore } from '../src/engines/collaborative/model-store';
import type { Trainer, TrainedVersion } from '../src/worker/training-job';
import { calibrationReadiness, trainFromDatabase } from './database';
import { trainFirstModelInChild } from './first-model';
import { logTrainingProgress } from './progress-log';
import { trainingFraction } from './train-database-cli';
import { threadCompute } from './thread-compute';
import { serverTrainOptions } from './train';

export interface TrainerDatabase {
  dataSource: DataSource;
  url: string;
  embedded: boolean;
}

/**
 * The worker's trainer. On PostgreSQL each training runs in a child process (the SGD sweeps would
 * hold the worker's event loop for seconds, and an out-of-memory is a failed run, not a dead worker);
 * the child dies with its parent, so a killed worker leaves no training behind to activate. The
 * embedded database admits one session (its socket server interleaves the messages of concurrent
 * connections), so there this process reads and writes, and the computing runs in worker threads
 * (thread-compute.ts), which a shutdown ends at once (demo-sized catalogs).
 */
export function databaseTrainer(
  database: TrainerDatabase,
  logger: Logger,
  /** TRAINING_THREADS, for the in-process training (the child reads it from its environment). */
  threads: number | 'auto' = 'auto',
): Trainer {
  return {
    wouldCalibrate: async () => 'modelId' in (await calibrationReadiness(database.dataSource)),
    async train({ signal, onProgress }): Promise<TrainedVersion> {
      signal.throwIfAborted();
      if (database.embedded) {
        const store = new ModelStore(database.dataSource);
        const log = logTrainingProgress(logger);
        const fraction = trainingFraction();
        const started = performance.now();
        const { models, version, calibration } = await trainFromDatabase(
          database.dataSource,
          store,
          serverTrainOptions(threads),
          (step) => {
            log(step);
            const reached = fraction(step);
            if (reached !== null) onProgress(reached);
          },
          { compute: threadCompute(signal), signal },
        );
        logger.info(
          calibration.calibrated
            ? `calibrated hybrid weights ${JSON.stringify(calibration.calibrated.weights)}`
            : `hybrid weights not calibrated: ${calibration.reason}`,
        );
        const versionId = await store.activeVersionId();
        if (versionId === null) throw new Error(`${version} was saved but is not active`);
        return {
          versionId,
          ratings: models.metrics.numRatings,
          seconds: (performance.now() - started) / 1000,
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
        };
      }
      const training = trainFirstModelInChild({
        databaseUrl: database.url,
        onLine: (line, stream) => (stream === 'stderr' ? logger.warn(line) : logger.info(line)),
        onProgress,
      });
      const stop = () => training.stop();
      signal.addEventListener('abort', stop, { once: true });
      try {
        const result = await training.done;
        return {
          versionId: result.versionId,
          ratings: result.ratings,
          seconds: result.seconds,
          maxRssBytes: result.maxRssBytes,
        };
      } finally {
        signal.removeEventListener('abort', stop);
      }
    },
  };
}
