import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { unitVectors } from '../../fixtures/unit-vectors';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { ContentIndexer } from '../../src/engines/content';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';
import {
  calibrationVectors,
  IN_PROCESS_COMPUTE,
  loadTrainingInputs,
  MIN_CALIBRATION_COVERAGE,
  trainFromDatabase,
  type TrainingInputs,
} from '../../training/database';
import { threadCompute, TrainingThreadError } from '../../training/thread-compute';
import { DEFAULT_TRAIN_OPTIONS, type TrainingProgress, type TrainOptions } from '../../training/train';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { importSyntheticCatalog } from '../helpers/synthetic-database';

const OPTIONS: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 12, threads: 1 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
};

/**
 * The embedded database's trainings compute in worker threads (its queries run on the serving
 * thread). What they produce must be what the same training produces in-thread.
 */
describe('training stages in a worker thread', () => {
  let db: TestDatabase;
  let inputs: TrainingInputs;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    await importSyntheticCatalog(
      db.dataSource,
      generateSyntheticCatalog({ seed: 5, users: 90, movies: 120 }),
    );
    inputs = await loadTrainingInputs(db.dataSource);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('trains the same models, with the same progress, as in this thread', async () => {
    const here: TrainingProgress[] = [];
    const there: TrainingProgress[] = [];
    const expected = await IN_PROCESS_COMPUTE.train(inputs, OPTIONS, (step) => here.push(step));
    const actual = await threadCompute(new AbortController().signal).train(inputs, OPTIONS, (step) =>
      there.push(step),
    );
    expect(actual.biased.itemFactors).toEqual(expected.biased.itemFactors);
    expect(actual.biased.userBias).toEqual(expected.biased.userBias);
    expect(actual.topN).toEqual(expected.topN);
    expect(withoutSeconds(actual.curve)).toEqual(withoutSeconds(expected.curve));
    expect(withoutSeconds(there)).toEqual(withoutSeconds(here));
  }, 60_000);

  it('calibrates the same weights as in this thread', async () => {
    const vector = unitVectors(3);
    const vectors = new Map(Array.from(inputs.dataset.itemIds, (id) => [id, vector(16)]));
    const expected = await IN_PROCESS_COMPUTE.calibrate(inputs.dataset, OPTIONS, 'puresvd', vectors);
    const actual = await threadCompute(new AbortController().signal).calibrate(
      inputs.dataset,
      OPTIONS,
      'puresvd',
      vectors,
    );
    expect(actual.calibrated).not.toBeNull();
    expect(actual.calibrated).toEqual(expected.calibrated);
  }, 60_000);

  it('stops at once when aborted, with the abort’s reason', async () => {
    const abort = new AbortController();
    const training = threadCompute(abort.signal).train(inputs, {
      ...OPTIONS,
      biased: { ...OPTIONS.biased, epochs: 100_000, patience: 100_000 },
    });
    abort.abort(new Error('the worker is stopping'));
    await expect(training).rejects.toThrow('the worker is stopping');
    await expect(threadCompute(abort.signal).train(inputs, OPTIONS)).rejects.toThrow(
      'the worker is stopping',
    );
  });

  it('reports a failure inside the thread as a TrainingThreadError with its message', async () => {
    const bad = { ...OPTIONS, biased: { ...OPTIONS.biased, factors: -1 } };
    const there = await threadCompute(new AbortController().signal)
      .train(inputs, bad)
      .then(
        () => null,
        (error: unknown) => error,
      );
    const here = await IN_PROCESS_COMPUTE.train(inputs, bad).then(
      () => null,
      (error: unknown) => error,
    );
    expect(there).toBeInstanceOf(TrainingThreadError);
    expect(here).toBeInstanceOf(Error);
    expect((there as Error).message).toBe((here as Error).message);
  }, 60_000);
});

/** A first start trains while the content index is still being built. */
describe('calibration and the content index', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase(2);
    await importSyntheticCatalog(
      db.dataSource,
      generateSyntheticCatalog({ seed: 6, users: 80, movies: 100 }),
    );
  });

  afterEach(async () => {
    await db?.drop();
  });

  it('waits until the index covers the catalog: a partial index stores no weights, and says why', async () => {
    await new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();
    const { dataset } = await loadTrainingInputs(db.dataSource);
    const keep = Math.floor(MIN_CALIBRATION_COVERAGE * dataset.numItems) - 1;
    await db.dataSource.query(
      `DELETE FROM movie_embeddings WHERE movie_id NOT IN (SELECT id FROM movies ORDER BY id LIMIT $1)`,
      [keep],
    );
    const partial = await calibrationVectors(db.dataSource, dataset);
    expect(partial).toEqual({
      reason: expect.stringMatching(new RegExp(`vectors for ${keep} of ${dataset.numItems} movies`)),
    });

    const store = new ModelStore(db.dataSource);
    const { calibration } = await trainFromDatabase(db.dataSource, store, OPTIONS);
    expect(calibration.calibrated).toBeNull();
    const [version] = await db.dataSource.query(
      `SELECT hybrid_weights FROM model_versions WHERE status = 'active'`,
    );
    expect(version.hybrid_weights).toBeNull();
  }, 60_000);

  it('calibrates once the index covers the catalog', async () => {
    await new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();
    const store = new ModelStore(db.dataSource);
    const { calibration } = await trainFromDatabase(db.dataSource, store, OPTIONS, undefined, {
      compute: threadCompute(new AbortController().signal),
    });
    expect(calibration.calibrated).not.toBeNull();
    const [version] = await db.dataSource.query(
      `SELECT hybrid_weights FROM model_versions WHERE status = 'active'`,
    );
    expect(version.hybrid_weights.weights).toEqual(calibration.calibrated!.weights);
  }, 60_000);

  it('activates nothing once aborted', async () => {
    const abort = new AbortController();
    abort.abort(new Error('stopping'));
    await expect(
      trainFromDatabase(db.dataSource, new ModelStore(db.dataSource), OPTIONS, undefined, {
        compute: threadCompute(abort.signal),
        signal: abort.signal,
      }),
    ).rejects.toThrow('stopping');
    expect(await db.dataSource.query(`SELECT id FROM model_versions`)).toEqual([]);
  });
});

/** Wall times differ from run to run; everything else must not. */
function withoutSeconds(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (key, field: unknown) => (key === 'seconds' ? undefined : field)));
}
