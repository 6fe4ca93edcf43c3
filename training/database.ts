import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { ModelStore, type StoredHybridWeights } from '../src/engines/collaborative/model-store';
import { EmbeddingStore } from '../src/engines/content/embedding-store';
import { MERGED_CONTENT_SCORING } from '../src/engines/content/neighbour-score';
import { topNStrategy } from './topn-strategies';
import type { EvaluationStrategy } from './strategies';
import type { TopNKind } from '../src/engines/collaborative/kernels';
import { calibrateHybridWeights } from './calibration';
import { ContentStrategy, SERVED_IN_HYBRID, StatisticalStrategy } from './hybrid-strategies';
import type { RatingsDataset } from './dataset';
import type { ItemMetadata, ItemMetadataById } from './item-prior';
import type { ModelSink } from './model-files';
import { loadRatingsDataset } from './ratings-stream';
import { loadWatchPositives, withImplicitRatings } from './implicit-feedback';
import type { RatingsSource } from './sources';
import {
  DEFAULT_TRAIN_OPTIONS,
  trainModels,
  type TrainedModels,
  type TrainingProgress,
  type TrainOptions,
} from './train';

/**
 * The ratings table as a training source, read in streamed batches into typed arrays (ratings-stream).
 * Its item space is the whole movies table, so that movies nobody rated yet still get a model row
 * (bias and factors from their genres and decade).
 */
export function postgresRatingsSource(db: DataSource): RatingsSource {
  return {
    description: 'the ratings table',
    load(): Promise<RatingsDataset> {
      return loadRatingsDataset(db);
    },
    async loadItemMetadata(): Promise<ItemMetadataById> {
      const movies: { id: number; genres: string[]; year: number | null }[] = await db.query(
        `SELECT id, genres, year FROM movies`,
      );
      return new Map<number, ItemMetadata>(movies.map((m) => [m.id, { genres: m.genres, year: m.year }]));
    },
  };
}

/**
 * Above this many movies calibration is skipped (the version keeps no calibrated weights and
 * HYBRID_WEIGHTS=calibrated falls back to the defaults): the content scorer holds an items × items
 * float32 cosine matrix, 576 MB at 12,000 movies.
 */
export const MAX_CALIBRATION_ITEMS = 12_000;

/**
 * Calibration waits until the content index holds a vector for at least this share of the movies.
 * Weights chosen while most movies have none say nothing about content: a first start calibrated
 * against 64 of 9,742 vectors (the index a minute into its build) and stored content 0, statistical 0.3.
 */
export const MIN_CALIBRATION_COVERAGE = 0.95;

export type CalibrationOutcome =
  | { readonly calibrated: StoredHybridWeights; readonly seconds: number }
  | { readonly calibrated: null; readonly reason: string };

export interface CalibrationLimits {
  readonly maxItems: number;
  /** 0..1 */
  readonly minCoverage: number;
}

export const CALIBRATION_LIMITS: CalibrationLimits = {
  maxItems: MAX_CALIBRATION_ITEMS,
  minCoverage: MIN_CALIBRATION_COVERAGE,
};

/**
 * Whether a training on this database would calibrate now, and with which content model's vectors:
 * the one rule both the training and the training job's "due again to calibrate" apply.
 */
export async function calibrationReadiness(
  db: DataSource,
  limits: CalibrationLimits = CALIBRATION_LIMITS,
): Promise<{ readonly modelId: string } | { readonly reason: string }> {
  const [{ movies }]: { movies: number }[] = await db.query(`SELECT count(*)::int AS movies FROM movies`);
  if (movies > limits.maxItems)
    return { reason: `${movies} movies is above the calibration limit of ${limits.maxItems}` };
  const [index]: { model_id: string; vectors: number }[] = await db.query(
    `SELECT model_id, count(*)::int AS vectors FROM movie_embeddings
      GROUP BY model_id ORDER BY count(*) DESC, model_id LIMIT 1`,
  );
  if (!index) return { reason: 'the content index has no vectors yet' };
  if (movies === 0 || index.vectors < limits.minCoverage * movies)
    return {
      reason:
        `the content index holds vectors for ${index.vectors} of ${movies} movies ` +
        `(calibration waits for ${limits.minCoverage * 100}%); the next training calibrates`,
    };
  return { modelId: index.model_id };
}

/** The content vectors calibration scores with, or why it cannot run on this database yet. */
export async function calibrationVectors(
  db: DataSource,
  dataset: RatingsDataset,
): Promise<{ vectors: Map<number, Float32Array> } | { reason: string }> {
  const readiness = await calibrationReadiness(db);
  if ('reason' in readiness) return readiness;
  return { vectors: await new EmbeddingStore(db).vectorsOf(Array.from(dataset.itemIds), readiness.modelId) };
}

/**
 * Chooses the hybrid weights for a new version on each user's latest 15% of the training ratings
 * (calibration.ts), with the engines as served: the served top-N model, the content scoring over
 * the given vectors, the statistical appeal. CPU only: no database.
 */
export async function calibrateWithVectors(
  dataset: RatingsDataset,
  options: TrainOptions,
  kind: TopNKind,
  vectors: ReadonlyMap<number, Float32Array>,
): Promise<CalibrationOutcome> {
  const started = performance.now();
  const chosen = await calibrateHybridWeights(
    dataset,
    () => ({
      collaborative: servedTopNStrategy(options, kind),
      content: new ContentStrategy(
        async (itemIds) => Array.from(itemIds, (id) => vectors.get(id) ?? null),
        MERGED_CONTENT_SCORING,
        undefined,
        SERVED_IN_HYBRID,
      ),
      statistical: new StatisticalStrategy(),
    }),
    { scheme: 'temporal', seed: options.topN.seed },
  );
  return {
    calibrated: {
      weights: chosen.weights,
      validationNdcg10: chosen.validationNdcg10,
      defaultValidationNdcg10: chosen.defaultValidationNdcg10,
      scheme: chosen.scheme,
      validationUsers: chosen.validationUsers,
    },
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * Calibration on this database's content index: null, with the reason, when the index covers too
 * few movies yet or the catalog is too large for the content scorer.
 */
export async function calibrateOnDatabase(
  db: DataSource,
  dataset: RatingsDataset,
  options: TrainOptions,
  kind: TopNKind = 'puresvd',
  compute: TrainingCompute = IN_PROCESS_COMPUTE,
): Promise<CalibrationOutcome> {
  const found = await calibrationVectors(db, dataset);
  if ('reason' in found) return { calibrated: null, reason: found.reason };
  return compute.calibrate(dataset, options, kind, found.vectors);
}

/** The ranking model serving answers COLLABORATIVE with, as an evaluation strategy for calibration. */
export function servedTopNStrategy(options: TrainOptions, kind: TopNKind): EvaluationStrategy {
  return topNStrategy(kind, {
    puresvd: options.topN,
    ials: options.ials,
    ease: options.ease,
    threads: options.biased.threads,
  });
}

/** Writes trained models as a new version and activates it (the previous one is kept for rollback). */
export function postgresModelSink(
  store: ModelStore,
  hybridWeights: StoredHybridWeights | null = null,
): ModelSink {
  return {
    async save(models: TrainedModels): Promise<string> {
      const versionId = await store.save({
        biased: models.biased,
        topN: models.topN,
        hyperparameters: models.options,
        metrics: models.metrics,
        hybridWeights,
      });
      await store.activate(versionId);
      return `model version ${versionId}`;
    },
  };
}

/** What a training reads from the database before any computing starts. */
export interface TrainingInputs {
  readonly dataset: RatingsDataset;
  readonly itemMetadata: ItemMetadataById | null;
  /** The ratings plus the watched-to-the-end positives, for the top-N model. */
  readonly topNDataset: RatingsDataset;
}

export async function loadTrainingInputs(db: DataSource): Promise<TrainingInputs> {
  const source = postgresRatingsSource(db);
  const dataset = await source.load();
  const itemMetadata = (await source.loadItemMetadata?.()) ?? null;
  // Movies watched to the end without a rating count as liked in the top-N model (not in the
  // rating model: a predicted rating should rest on stars).
  const implicit = withImplicitRatings(dataset, await loadWatchPositives(db));
  return { dataset, itemMetadata, topNDataset: implicit.dataset };
}

/**
 * Where a training's CPU-bound stages run: in this thread (the training child process, tests,
 * benchmarks), or in a worker thread (training-thread.ts) when this thread also serves requests.
 */
export interface TrainingCompute {
  train(
    inputs: TrainingInputs,
    options: TrainOptions,
    onProgress?: (progress: TrainingProgress) => void,
  ): Promise<TrainedModels>;
  calibrate(
    dataset: RatingsDataset,
    options: TrainOptions,
    kind: TopNKind,
    vectors: ReadonlyMap<number, Float32Array>,
  ): Promise<CalibrationOutcome>;
}

export const IN_PROCESS_COMPUTE: TrainingCompute = {
  train: (inputs, options, onProgress) =>
    trainModels(inputs.dataset, options, onProgress, {
      itemMetadata: inputs.itemMetadata,
      topNDataset: inputs.topNDataset,
    }),
  calibrate: calibrateWithVectors,
};

/**
 * Trains on the database's ratings, calibrates the hybrid weights for the new version (when the
 * content index covers the catalog), and activates the result; the active model serves until then.
 */
export async function trainFromDatabase(
  db: DataSource,
  store: ModelStore,
  options: TrainOptions = DEFAULT_TRAIN_OPTIONS,
  onProgress?: (progress: TrainingProgress) => void,
  run: {
    compute?: TrainingCompute;
    /** Once aborted, nothing is activated: the call rejects with the abort's reason. */
    signal?: AbortSignal;
  } = {},
): Promise<{ models: TrainedModels; version: string; calibration: CalibrationOutcome }> {
  const { compute = IN_PROCESS_COMPUTE, signal } = run;
  const inputs = await loadTrainingInputs(db);
  signal?.throwIfAborted();
  const models = await compute.train(inputs, options, onProgress);
  const calibration = await calibrateOnDatabase(db, inputs.dataset, options, models.topN.kind, compute);
  signal?.throwIfAborted();
  const version = await postgresModelSink(store, calibration.calibrated).save(models);
  return { models, version, calibration };
}
