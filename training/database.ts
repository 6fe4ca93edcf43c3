import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { ModelStore, type StoredHybridWeights } from '../src/engines/collaborative/model-store';
import { EmbeddingStore } from '../src/engines/content/embedding-store';
import { MERGED_CONTENT_SCORING } from '../src/engines/content/neighbour-score';
import { topNStrategy } from './topn-strategies';
import type { EvaluationStrategy } from './strategies';
import type { TopNKind } from '../src/engines/collaborative/kernels';
import { calibrateHybridWeights } from './calibration';
import { ContentStrategy, StatisticalStrategy } from './hybrid-strategies';
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

export type CalibrationOutcome =
  | { readonly calibrated: StoredHybridWeights; readonly seconds: number }
  | { readonly calibrated: null; readonly reason: string };

/**
 * Chooses the hybrid weights for a new version on each user's latest 15% of the training ratings
 * (calibration.ts), with the engines as served: the served top-N model, the content scoring over
 * the vectors in the content index, the statistical appeal. Null, with the reason, when the
 * content index has no vectors yet or the catalog is too large for the content scorer.
 */
export async function calibrateOnDatabase(
  db: DataSource,
  dataset: RatingsDataset,
  options: TrainOptions,
  kind: TopNKind = 'puresvd',
): Promise<CalibrationOutcome> {
  if (dataset.numItems > MAX_CALIBRATION_ITEMS)
    return {
      calibrated: null,
      reason: `${dataset.numItems} movies is above the calibration limit of ${MAX_CALIBRATION_ITEMS}`,
    };
  const [model]: { model_id: string }[] = await db.query(
    `SELECT model_id FROM movie_embeddings GROUP BY model_id ORDER BY count(*) DESC, model_id LIMIT 1`,
  );
  if (!model) return { calibrated: null, reason: 'the content index has no vectors yet' };
  const vectors = await new EmbeddingStore(db).vectorsOf(Array.from(dataset.itemIds), model.model_id);
  const started = performance.now();
  const chosen = await calibrateHybridWeights(
    dataset,
    () => ({
      collaborative: servedTopNStrategy(options, kind),
      content: new ContentStrategy(
        async (itemIds) => Array.from(itemIds, (id) => vectors.get(id) ?? null),
        MERGED_CONTENT_SCORING,
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

/**
 * Trains on the database's ratings, calibrates the hybrid weights for the new version (when the
 * content index has vectors), and activates the result; the active model serves until then.
 */
export async function trainFromDatabase(
  db: DataSource,
  store: ModelStore,
  options: TrainOptions = DEFAULT_TRAIN_OPTIONS,
  onProgress?: (progress: TrainingProgress) => void,
): Promise<{ models: TrainedModels; version: string; calibration: CalibrationOutcome }> {
  const source = postgresRatingsSource(db);
  const dataset = await source.load();
  const itemMetadata = (await source.loadItemMetadata?.()) ?? null;
  // Movies watched to the end without a rating count as liked in the top-N model (not in the
  // rating model: a predicted rating should rest on stars).
  const implicit = withImplicitRatings(dataset, await loadWatchPositives(db));
  const models = await trainModels(dataset, options, onProgress, {
    itemMetadata,
    topNDataset: implicit.dataset,
  });
  const calibration = await calibrateOnDatabase(db, dataset, options, models.topN.kind);
  const version = await postgresModelSink(store, calibration.calibrated).save(models);
  return { models, version, calibration };
}
