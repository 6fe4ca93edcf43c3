import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { ContentIndexer } from '../../src/engines/content';
import { JobRunLog } from '../../src/worker/job-runs';
import { trainingJob, type Trainer } from '../../src/worker/training-job';
import { reportingTrainer } from '../../src/app';
import {
  CALIBRATION_LIMITS,
  calibrationReadiness,
  trainFromDatabase,
  type CalibrationLimits,
} from '../../training/database';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../training/train';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { importSyntheticCatalog } from '../helpers/synthetic-database';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';

const OPTIONS: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 8, threads: 1 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
};

const CALIBRATES = CALIBRATION_LIMITS;

const CONTEXT = { trigger: 'test', signal: new AbortController().signal, progress: () => undefined };

/**
 * A first start trains while the content index is being built, so its version has no calibrated
 * weights; once the index covers the catalog, the training job is due again, once.
 */
describe('the training job and calibration', () => {
  let db: TestDatabase;
  let runs: JobRunLog;

  beforeEach(async () => {
    db = await createTestDatabase(2);
    await importSyntheticCatalog(db.dataSource, generateSyntheticCatalog({ seed: 8, users: 70, movies: 90 }));
    runs = new JobRunLog(db.dataSource);
  });

  afterEach(async () => {
    await db?.drop();
  });

  /** A trainer that calibrates within `limits` (as training/worker-trainer.ts with the defaults), or not at all. */
  function jobWith(limits: CalibrationLimits | undefined) {
    const store = new ModelStore(db.dataSource);
    const trainer: Trainer = {
      ...(limits && {
        wouldCalibrate: async () => 'modelId' in (await calibrationReadiness(db.dataSource, limits)),
      }),
      async train() {
        const { models } = await trainFromDatabase(db.dataSource, store, OPTIONS);
        const versionId = (await store.activeVersionId())!;
        return { versionId, ratings: models.metrics.numRatings, seconds: 0 };
      },
    };
    return trainingJob({ dataSource: db.dataSource, trainer, runs, intervalMs: 0, minNewRatings: 0 });
  }

  const indexed = () =>
    new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();

  async function activeWeights(): Promise<unknown> {
    const [active] = await db.dataSource.query(
      `SELECT hybrid_weights FROM model_versions WHERE status = 'active'`,
    );
    return active.hybrid_weights;
  }

  it('trains again once the index covers the catalog after an uncalibrated version, and then no more', async () => {
    const job = jobWith(CALIBRATES);
    expect(await job.due()).toBe('first model');
    await job.run(CONTEXT);
    expect(await activeWeights()).toBeNull();
    expect(await job.due()).toBeNull();

    await indexed();
    expect(await job.due()).toMatch(
      /content index now covers the catalog, and model version \d+ has no calibrated/,
    );
    await job.run(CONTEXT);
    expect(await activeWeights()).not.toBeNull();
    expect(await job.due()).toBeNull();
  }, 60_000);

  it('is not due for calibration above the catalog limit, below the coverage, or for a trainer that does not calibrate', async () => {
    await jobWith(undefined).run(CONTEXT);
    await indexed();
    expect(await jobWith({ ...CALIBRATES, maxItems: 89 }).due()).toBeNull();
    expect(await jobWith(undefined).due()).toBeNull();
    expect(await jobWith({ ...CALIBRATES, maxItems: 90 }).due()).toMatch(/no calibrated hybrid weights/);

    // 85 of 90 movies: below 95%, as when many movies have no usable text; a training now would
    // store no weights either, so it is not due.
    await db.dataSource.query(
      `DELETE FROM movie_embeddings WHERE movie_id IN (SELECT id FROM movies ORDER BY id DESC LIMIT 5)`,
    );
    expect(await jobWith(CALIBRATES).due()).toBeNull();
    await jobWith(CALIBRATES).run(CONTEXT);
    expect(await activeWeights()).toBeNull();
    expect(await jobWith({ ...CALIBRATES, minCoverage: 0.9 }).due()).toMatch(/no calibrated hybrid weights/);
  }, 60_000);
});

describe('the embedded worker’s reporting trainer', () => {
  it('passes on what the trainer declares besides train()', async () => {
    let reason: string | null = null;
    const wouldCalibrate = async () => true;
    const trainer: Trainer = {
      wouldCalibrate,
      train: async () => {
        throw new Error('no ratings');
      },
    };
    const reporting = reportingTrainer(trainer, {
      activeVersionId: () => null,
      setNotReadyReason: (why: string) => {
        reason = why;
      },
    });
    expect(reporting.wouldCalibrate).toBe(wouldCalibrate);
    await expect(reporting.train({ signal: CONTEXT.signal, onProgress: () => undefined })).rejects.toThrow(
      'no ratings',
    );
    expect(reason).toBe('training failed: no ratings');
  });
});
