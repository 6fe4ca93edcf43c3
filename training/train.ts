import { performance } from 'node:perf_hooks';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import type { PureSvdModel } from '../src/engines/collaborative/kernels/pure-svd';
import type { BiasedMfOptions, EpochStats } from './biased-mf';
import { ratingScaleOf, type RatingsDataset } from './dataset';
import { trainBiasedMfWithItemPrior, type ItemMetadataById, type ItemPriorOptions } from './item-prior';
import { DEFAULT_BIASED_MF_OPTIONS, DEFAULT_ITEM_PRIOR_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from './options';
import type { SgdWorkerPool } from './sgd-workers';
import { trainPureSvd, type PureSvdOptions } from './top-n';

export interface TrainOptions {
  readonly biased: BiasedMfOptions;
  readonly topN: PureSvdOptions;
  /** How movie metadata shapes the item biases; used only when metadata is given (default settings otherwise). */
  readonly itemPrior?: ItemPriorOptions;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  biased: DEFAULT_BIASED_MF_OPTIONS,
  topN: DEFAULT_PURE_SVD_OPTIONS,
  itemPrior: DEFAULT_ITEM_PRIOR_OPTIONS,
};

/** The rating model, with the external ids of its rows (userIds[u] is row u of userFactors). */
export interface TrainedBiasedModel extends BiasedMfParameters {
  readonly userIds: Int32Array;
  readonly itemIds: Int32Array;
  readonly ratingScale: { readonly min: number; readonly max: number };
  /** What serving needs to fold in new ratings consistently with training. */
  readonly regBias: number;
  readonly regFactor: number;
  readonly regExponent: number;
  /** 0 = off; otherwise fold in with userRecencyWeights(timestamps, recencyHalfLifeDays). */
  readonly recencyHalfLifeDays: number;
}

/** The ranking model: item space only, users are folded in from their ratings (p_u = r_u V). */
export interface TrainedTopNModel extends PureSvdModel {
  readonly itemIds: Int32Array;
  readonly singularValues: Float64Array;
  readonly popularityExponent: number;
}

export interface TrainingMetrics {
  readonly numUsers: number;
  readonly numItems: number;
  readonly numRatings: number;
  readonly trainRatings: number;
  readonly validationRatings: number;
  /** Exact RMSE of the kept model on its training ratings (clipped predictions). */
  readonly trainRmse: number;
  readonly validationRmse: number | null;
  /** Validation RMSE before the recency refit of user biases (see BiasedMfResult). */
  readonly validationRmseBeforeRefit: number | null;
  /** Per SGD restart, the epoch kept. */
  readonly bestEpochs: number[];
  /** Epochs run, over all restarts. */
  readonly epochsRun: number;
  readonly biasedSeconds: number;
  readonly topNSeconds: number;
}

export interface TrainedModels {
  readonly biased: TrainedBiasedModel;
  readonly topN: TrainedTopNModel;
  readonly metrics: TrainingMetrics;
  readonly curve: EpochStats[];
  readonly options: TrainOptions;
}

export type TrainingProgress =
  | { readonly stage: 'biased'; readonly epochs: number; readonly stats: EpochStats }
  | { readonly stage: 'topN'; readonly done: boolean };

export interface TrainModelsHooks {
  readonly pool?: SgdWorkerPool;
  /**
   * Genres and years of the catalog: item biases are then learned around a genre/decade prior, and
   * items of the dataset's id space without ratings get that prior and their genres' mean factors.
   */
  readonly itemMetadata?: ItemMetadataById | null;
}

/**
 * Trains both collaborative models on one dataset: biased MF (rating predictions) and the PureSVD
 * top-N model (rankings). The entry point for the CLI and for the server's retraining job.
 */
export async function trainModels(
  dataset: RatingsDataset,
  options: TrainOptions = DEFAULT_TRAIN_OPTIONS,
  onProgress?: (progress: TrainingProgress) => void,
  hooks: TrainModelsHooks = {},
): Promise<TrainedModels> {
  const biased = await trainBiasedMfWithItemPrior(
    dataset,
    options.biased,
    options.itemPrior ?? DEFAULT_ITEM_PRIOR_OPTIONS,
    hooks.itemMetadata ?? null,
    {
      onEpoch: (stats) =>
        onProgress?.({ stage: 'biased', epochs: options.biased.epochs * options.biased.restarts, stats }),
      pool: hooks.pool,
    },
  );
  onProgress?.({ stage: 'topN', done: false });
  const topNStarted = performance.now();
  const topN = trainPureSvd(dataset, options.topN);
  const topNSeconds = (performance.now() - topNStarted) / 1000;
  onProgress?.({ stage: 'topN', done: true });

  const scale = ratingScaleOf(dataset);
  return {
    biased: {
      ...biased.model,
      userIds: dataset.userIds,
      itemIds: dataset.itemIds,
      ratingScale: scale,
      regBias: options.biased.regBias,
      regFactor: options.biased.regFactor,
      regExponent: options.biased.regExponent,
      recencyHalfLifeDays: options.biased.recencyHalfLifeDays,
    },
    topN: {
      ...topN.model,
      itemIds: dataset.itemIds,
      singularValues: topN.singularValues,
      popularityExponent: options.topN.popularityExponent,
    },
    metrics: {
      numUsers: dataset.numUsers,
      numItems: dataset.numItems,
      numRatings: dataset.size,
      trainRatings: biased.trainRatings,
      validationRatings: biased.validationRatings,
      trainRmse: biased.trainRmse,
      validationRmse: biased.validationRmse,
      validationRmseBeforeRefit: biased.validationRmseBeforeRefit,
      bestEpochs: biased.bestEpochs,
      epochsRun: biased.curve.length,
      biasedSeconds: biased.trainSeconds,
      topNSeconds,
    },
    curve: biased.curve,
    options,
  };
}
