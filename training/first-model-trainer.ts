import type { FirstModelTrainer, FirstModelTraining } from '../src/composition/trainer';
import { trainFromDatabase, type CalibrationOutcome } from './database';
import { trainFirstModelInChild } from './first-model';
import { logTrainingProgress } from './progress-log';

/** One log line on the hybrid weights a new version calibrated, or why it did not. */
function calibrationSummary(calibration: CalibrationOutcome): string {
  return calibration.calibrated
    ? `calibrated hybrid weights ${JSON.stringify(calibration.calibrated.weights)} (validation NDCG@10 ` +
        `${calibration.calibrated.validationNdcg10.toFixed(4)}, ${calibration.seconds.toFixed(1)} s)`
    : `hybrid weights not calibrated: ${calibration.reason}`;
}

/**
 * The server's first model: on Postgres in a child process (the server keeps its event loop and
 * survives the training's failure); the embedded database admits one session, so there it runs in
 * this process (demo-sized catalogs).
 */
export const firstModelTrainer: FirstModelTrainer = ({ dataSource, url, embedded, store, logger }) => {
  if (!embedded)
    return trainFirstModelInChild({
      databaseUrl: url,
      onLine: (line, stream) => (stream === 'stderr' ? logger.warn(line) : logger.info(line)),
    });
  const training: FirstModelTraining = {
    done: trainFromDatabase(dataSource, store, undefined, logTrainingProgress(logger)).then(
      ({ models, version, calibration }) => {
        logger.info(calibrationSummary(calibration));
        return {
          version,
          ratings: models.metrics.numRatings,
          seconds: models.metrics.biasedSeconds + models.metrics.topNSeconds,
          maxRssBytes: process.resourceUsage().maxRSS * 1024,
        };
      },
    ),
    stop: () => undefined,
  };
  return training;
};
