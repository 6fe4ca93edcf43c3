import { promises as fs } from 'node:fs';
import path from 'node:path';
import { detectRelease, readRecords, type ReleaseFormat } from '../src/data/movielens/formats';
import type { ItemMetadata, ItemMetadataById } from './item-prior';

async function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (stat) => stat.isFile(),
    () => false,
  );
}

/** The movies file of a release directory; ml-100k's u.item also counts when u.data is absent. */
async function moviesFileOf(directory: string): Promise<{ file: string; format: ReleaseFormat } | null> {
  const release = await detectRelease(directory).catch(() => null);
  if (release) return { file: release.moviesFile, format: release.format };
  const item = path.join(directory, 'u.item');
  return (await isFile(item)) ? { file: item, format: 'ml-100k' } : null;
}

/**
 * Genres and year of every movie of a MovieLens release directory; null when the directory holds no
 * movies file (e.g. a bare pair of rating files), in which case models train without item priors.
 */
export async function movieMetadataFromRelease(directory: string): Promise<ItemMetadataById | null> {
  const source = await moviesFileOf(directory);
  if (!source) return null;
  const metadata = new Map<number, ItemMetadata>();
  for await (const movie of readRecords(source.file, 'movies', source.format))
    metadata.set(movie.movieId, { genres: movie.genres, year: movie.year });
  return metadata;
}
