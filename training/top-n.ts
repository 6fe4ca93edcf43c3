import { performance } from 'node:perf_hooks';
import type { PureSvdModel, RatingEncoding } from '../src/engines/collaborative/kernels/pure-svd';
import { encodeRating } from '../src/engines/collaborative/kernels/pure-svd';
import { randomizedSvd } from '../src/engines/collaborative/kernels/randomized-svd';
import { buildCsr } from '../src/engines/collaborative/kernels/sparse';
import type { RatingsDataset } from './dataset';
import { TrainingOptionsError } from './biased-mf';

export interface PureSvdOptions {
  readonly rank: number;
  readonly encoding: RatingEncoding;
  /**
   * Column j of the matrix is scaled by ‖column j‖^popularityExponent before the SVD (EigenRec's
   * d − 1; 0 is plain PureSVD). Negative values damp the dominance of blockbusters.
   */
  readonly popularityExponent: number;
  readonly oversampling: number;
  readonly powerIterations: number;
  readonly seed: number;
}

export interface PureSvdResult {
  readonly model: PureSvdModel;
  readonly singularValues: Float64Array;
  readonly trainSeconds: number;
}

export function validatePureSvdOptions(options: PureSvdOptions): void {
  if (!Number.isInteger(options.rank) || options.rank < 1) throw new TrainingOptionsError('rank must be ≥ 1');
  if (!['binary', 'rating', 'centered'].includes(options.encoding))
    throw new TrainingOptionsError("encoding must be 'binary', 'rating' or 'centered'");
  if (!Number.isFinite(options.popularityExponent))
    throw new TrainingOptionsError('popularityExponent must be finite');
  if (!Number.isInteger(options.oversampling) || options.oversampling < 0)
    throw new TrainingOptionsError('oversampling must be ≥ 0');
  if (!Number.isInteger(options.powerIterations) || options.powerIterations < 0)
    throw new TrainingOptionsError('powerIterations must be ≥ 0');
}

/** The encoded user × item matrix, columns scaled by their norm^popularityExponent. */
export function encodedMatrix(
  dataset: RatingsDataset,
  options: Pick<PureSvdOptions, 'encoding' | 'popularityExponent'>,
) {
  const userSums = new Float64Array(dataset.numUsers);
  const userCounts = new Float64Array(dataset.numUsers);
  for (let n = 0; n < dataset.size; n++) {
    userSums[dataset.users[n]] += dataset.ratings[n];
    userCounts[dataset.users[n]]++;
  }
  const values = new Float32Array(dataset.size);
  const columnNorms = new Float64Array(dataset.numItems);
  for (let n = 0; n < dataset.size; n++) {
    const user = dataset.users[n];
    values[n] = encodeRating(options.encoding, dataset.ratings[n], userSums[user] / userCounts[user]);
    columnNorms[dataset.items[n]] += values[n] * values[n];
  }
  if (options.popularityExponent !== 0) {
    for (let n = 0; n < dataset.size; n++) {
      const norm = Math.sqrt(columnNorms[dataset.items[n]]);
      values[n] = norm > 0 ? values[n] * norm ** options.popularityExponent : 0;
    }
  }
  return buildCsr(dataset.users, dataset.items, values, dataset.numUsers, dataset.numItems);
}

/** Fits PureSVD's item space by a randomised truncated SVD of the encoded rating matrix. */
export function trainPureSvd(dataset: RatingsDataset, options: PureSvdOptions): PureSvdResult {
  validatePureSvdOptions(options);
  const started = performance.now();
  const matrix = encodedMatrix(dataset, options);
  const svd = randomizedSvd(matrix, {
    rank: options.rank,
    oversampling: options.oversampling,
    powerIterations: options.powerIterations,
    seed: options.seed,
  });
  return {
    model: { rank: svd.rank, encoding: options.encoding, itemFactors: svd.rightVectors },
    singularValues: svd.singularValues,
    trainSeconds: (performance.now() - started) / 1000,
  };
}
