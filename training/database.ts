import { DataSource } from 'typeorm';
import { ModelStore } from '../src/engines/collaborative/model-store';
import type { RatingsDataset } from './dataset';
import type { ItemMetadata, ItemMetadataById } from './item-prior';
import type { ModelSink } from './model-files';
import { loadRatingsDataset } from './ratings-stream';
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

/** Writes trained models as a new version and activates it (the previous one is kept for rollback). */
export function postgresModelSink(store: ModelStore): ModelSink {
  return {
    async save(models: TrainedModels): Promise<string> {
      const versionId = await store.save({
        biased: models.biased,
        topN: models.topN,
        hyperparameters: models.options,
        metrics: models.metrics,
      });
      await store.activate(versionId);
      return `model version ${versionId}`;
    },
  };
}

/** Trains on the database's ratings and activates the result; the active model serves until then. */
export async function trainFromDatabase(
  db: DataSource,
  store: ModelStore,
  options: TrainOptions = DEFAULT_TRAIN_OPTIONS,
  onProgress?: (progress: TrainingProgress) => void,
): Promise<{ models: TrainedModels; version: string }> {
  const source = postgresRatingsSource(db);
  const dataset = await source.load();
  const itemMetadata = (await source.loadItemMetadata?.()) ?? null;
  const models = await trainModels(dataset, options, onProgress, { itemMetadata });
  const version = await postgresModelSink(store).save(models);
  return { models, version };
}
