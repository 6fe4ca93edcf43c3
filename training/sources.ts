import { promises as fs } from 'node:fs';
import path from 'node:path';
import { detectRelease, readRatingsFile } from '../src/data/movielens/formats';
import { datasetFromRows, type RatingsDataset } from './dataset';
import type { ItemMetadataById } from './item-prior';
import { movieMetadataFromRelease } from './movie-metadata';

/**
 * Where training ratings come from. The CLI reads MovieLens files; the server plugs in a source that
 * reads the ratings table (anything that can produce a RatingsDataset).
 */
export interface RatingsSource {
  /** For logs and reports, e.g. the file path or "postgres ratings table". */
  readonly description: string;
  load(): Promise<RatingsDataset>;
  /** Genres and years of the movies, when the source knows them (they shape the item biases). */
  loadItemMetadata?(): Promise<ItemMetadataById | null>;
}

/** A MovieLens release directory (its ratings file is detected) or a single ratings file. */
export function movieLensSource(location: string): RatingsSource {
  return {
    description: location,
    async load() {
      const stat = await fs.stat(location).catch(() => null);
      if (!stat) throw new Error(`${location} does not exist`);
      const file = stat.isDirectory() ? (await detectRelease(location)).ratingsFile : location;
      const rows = await readRatingsFile(file);
      if (rows.length === 0) throw new Error(`${path.resolve(file)} holds no ratings`);
      return datasetFromRows(rows);
    },
    async loadItemMetadata() {
      const stat = await fs.stat(location).catch(() => null);
      return movieMetadataFromRelease(stat?.isDirectory() ? location : path.dirname(location));
    },
  };
}
