import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { ContentIndexer } from '../../src/engines/content';
import { CONTENT_INDEX_JOB } from '../../src/worker/content-index-job';
import { JobRunLog } from '../../src/worker/job-runs';
import { trainingJob, type Trainer } from '../../src/worker/training-job';
import { reportingTrainer } from '../../src/app';
import { trainFromDatabase } from '../../training/database';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../training/train';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { importSyntheticCatalog } from '../helpers/synthetic-database';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';

const OPTIONS: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 8, threads: 1 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
};

const CONTEXT = { trigger: 'test', signal: new AbortController().signal, progress: () => undefined };

/**
 * A first start trains while the content index is being built, so its version has no calibrated
 * weights; once the index completes, the training job is due again, once.
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

  function jobWith(calibrationMaxItems: number | undefined) {
    const store = new ModelStore(db.dataSource);
    const trainer: Trainer = {
      calibrationMaxItems,
      async train() {
        const { models } = await trainFromDatabase(db.dataSource, store, OPTIONS);
        const versionId = (await store.activeVersionId())!;
        return { versionId, ratings: models.metrics.numRatings, seconds: 0 };
      },
    };
    return trainingJob({ dataSource: db.dataSource, trainer, runs, intervalMs: 0, minNewRatings: 0 });
  }

  async function indexCompleted(): Promise<void> {
    await new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();
    const run = await runs.start(CONTENT_INDEX_JOB, 'test', 'first index');
    await runs.finish(run.id, 'succeeded', {});
  }

  async function activeWeights(): Promise<unknown> {
    const [active] = await db.dataSource.query(
      `SELECT hybrid_weights FROM model_versions WHERE status = 'active'`,
    );
    return active.hybrid_weights;
  }

  it('trains again once the index completes after an uncalibrated version, and then no more', async () => {
    const job = jobWith(12_000);
    expect(await job.due()).toBe('first model');
    await job.run(CONTEXT);
    expect(await activeWeights()).toBeNull();
    expect(await job.due()).toBeNull();

    await indexCompleted();
    expect(await job.due()).toMatch(/content index completed after model version \d+ was trained/);
    await job.run(CONTEXT);
    expect(await activeWeights()).not.toBeNull();
    expect(await job.due()).toBeNull();
  }, 60_000);

  it('is not due for calibration above the trainer’s catalog limit, nor for a trainer that does not calibrate', async () => {
    await jobWith(undefined).run(CONTEXT);
    await indexCompleted();
    expect(await jobWith(89).due()).toBeNull();
    expect(await jobWith(undefined).due()).toBeNull();
    expect(await jobWith(90).due()).toMatch(/calibrating the hybrid weights/);
  }, 60_000);

  it('is not due again when the version trained after the index still has no weights', async () => {
    await indexCompleted();
    await db.dataSource.query(`DELETE FROM movie_embeddings`);
    const job = jobWith(12_000);
    await job.run(CONTEXT);
    expect(await activeWeights()).toBeNull();
    expect(await job.due()).toBeNull();
  }, 60_000);
});

describe('the embedded worker’s reporting trainer', () => {
  it('passes on what the trainer declares besides train()', async () => {
    let reason: string | null = null;
    const trainer: Trainer = {
      calibrationMaxItems: 12_000,
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
    expect(reporting.calibrationMaxItems).toBe(12_000);
    await expect(reporting.train({ signal: CONTEXT.signal, onProgress: () => undefined })).rejects.toThrow(
      'no ratings',
    );
    expect(reason).toBe('training failed: no ratings');
  });
});
