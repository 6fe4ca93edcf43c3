import { generateSyntheticCatalog } from '../../../fixtures/synthetic';
import { datasetFromRows, splitHoldout, type RatingsDataset } from '../../../training/dataset';

/**
 * A seeded train/test split of the shared synthetic catalog (planted 4-factor structure, noise 0.4,
 * half-star rounding), small enough for unit tests.
 */
export function syntheticSplit(seed = 7): { train: RatingsDataset; test: RatingsDataset; noise: number } {
  const catalog = generateSyntheticCatalog({ seed, users: 300, movies: 300, factors: 4, noise: 0.4 });
  const { train, holdout } = splitHoldout(datasetFromRows(catalog.ratings), 0.2, seed);
  return { train, test: holdout, noise: catalog.truth.noise };
}
