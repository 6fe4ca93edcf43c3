import { DataSource } from 'typeorm';
import { withLongStatements } from '../src/db/guarded-pool';
import { ModelStore } from '../src/engines/collaborative/model-store';
import { datasetFromRows, distinctSorted, type RatingsDataset } from './dataset';
import type { ItemMetadata, ItemMetadataById } from './item-prior';
import type { ModelSink } from './model-files';
import type { RatingsSource } from './sources';
import {
  DEFAULT_TRAIN_OPTIONS,
  trainModels,
  type TrainedModels,
  type TrainingProgress,
  type TrainOptions,
} from './train';

/**
 * The ratings table as a training source. Its item space is the whole movies table, so that movies
 * nobody rated yet still get a model row (bias and factors from their genres and decade).
 */
export function postgresRatingsSource(db: DataSource): RatingsSource {
  return {
    description: 'the ratings table',
    async load(): Promise<RatingsDataset> {
      // Every rating in one read (a million on ml-1m): free of the request timeouts, and one snapshot.
      const { rows, catalog } = await withLongStatements(db, async (manager) => ({
        rows: (await manager.query(
          `SELECT user_id, movie_id, rating, extract(epoch FROM rated_at)::float8 AS ts FROM ratings`,
        )) as { user_id: number; movie_id: number; rating: number; ts: number }[],
        catalog: (await manager.query(`SELECT id FROM movies`)) as { id: number }[],
      }));
      if (rows.length === 0) throw new Error('the ratings table is empty: import a catalog first');
      return datasetFromRows(
        rows.map((r) => ({ userId: r.user_id, movieId: r.movie_id, rating: r.rating, timestamp: r.ts })),
        {
          userIds: distinctSorted(rows.map((r) => r.user_id)),
          itemIds: distinctSorted([...rows.map((r) => r.movie_id), ...catalog.map((m) => m.id)]),
        },
      );
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
