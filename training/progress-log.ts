import type { Logger } from '../src/logger';
import { ProgressReporter, type ProgressReporterOptions } from '../src/progress';
import { describeTopNSelection } from './topn-strategies';
import type { TrainingProgress } from './train';

/**
 * Progress lines for training in a log (the server's first model, a retraining job): epoch k/n with
 * rate, elapsed time and ETA at most every few seconds, a line when the top-N model starts and one with
 * the validation figures that chose its kind. The ETA
 * is an upper bound when early stopping ends SGD runs before their last epoch.
 */
export function logTrainingProgress(
  logger: Pick<Logger, 'info'>,
  options: Pick<ProgressReporterOptions, 'intervalMs' | 'now'> = {},
): (progress: TrainingProgress) => void {
  let biased: ProgressReporter | null = null;
  let epochsRun = 0;
  return (progress) => {
    if (progress.stage === 'biased') {
      biased ??= new ProgressReporter({
        ...options,
        logger,
        label: 'training biased MF',
        unit: 'epochs',
        total: progress.epochs,
      });
      epochsRun++;
      const { trainRmse, validationRmse } = progress.stats;
      biased.update(epochsRun, {
        note:
          `train RMSE ${trainRmse.toFixed(4)}` +
          (validationRmse === null ? '' : `, validation RMSE ${validationRmse.toFixed(4)}`),
      });
    } else if (!progress.done) {
      logger.info(`training the top-N model (biased MF done after ${epochsRun} epochs)`);
    } else if (progress.selection) {
      logger.info(`top-N model: ${describeTopNSelection(progress.selection)}`);
    }
  };
}
