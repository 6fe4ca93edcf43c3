import type { EpochStats } from '../../training/biased-mf';
import { logTrainingProgress } from '../../training/progress-log';

const epoch = (restart: number, number: number): EpochStats => ({
  restart,
  epoch: number,
  trainRmse: 0.9 - number / 100,
  validationRmse: 0.95 - number / 200,
  lrFactor: 0.005,
  seconds: 3,
});

describe('logTrainingProgress', () => {
  it('logs epoch k/n with elapsed time and ETA at most once per interval, then the top-N stage', () => {
    const lines: string[] = [];
    let now = 0;
    const onProgress = logTrainingProgress(
      { info: (line) => lines.push(line) },
      { intervalMs: 5_000, now: () => now },
    );
    // Two SGD runs of 10 epochs, 3 s each: 20 epochs over 60 s.
    for (let restart = 0; restart < 2; restart++)
      for (let n = 1; n <= 10; n++) {
        now += 3_000;
        onProgress({ stage: 'biased', epochs: 20, stats: epoch(restart, n) });
      }
    onProgress({ stage: 'topN', done: false });
    onProgress({ stage: 'topN', done: true });

    // The reporter starts at the first epoch (3 s); lines at 9 s, 15 s, … 57 s: one per 6 s, never closer.
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(
      'training biased MF: 3/20 epochs (15%), 0.5 epochs/s, 6s elapsed, ETA 34s, ' +
        'train RMSE 0.8700, validation RMSE 0.9350',
    );
    expect(lines.at(-1)).toBe('training the top-N model (biased MF done after 20 epochs)');

    // A chosen kind is logged with the validation figures that chose it.
    onProgress({
      stage: 'topN',
      done: true,
      selection: {
        kind: 'ease',
        split: 'temporal',
        validationNdcg10: { puresvd: 0.1019, ease: 0.1115 },
        fitRatings: 800,
        validationRatings: 200,
        seconds: 2,
      },
    });
    expect(lines.at(-1)).toBe(
      'top-N model: ease chosen on a temporal validation split of the training data ' +
        '(800 fit / 200 validation ratings): NDCG@10 PureSVD 0.1019, EASE 0.1115',
    );
  });
});
