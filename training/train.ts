import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import type { IalsModel } from '../src/engines/collaborative/kernels/ials';
import type { PureSvdModel } from '../src/engines/collaborative/kernels/pure-svd';
import type { EaseModel } from '../src/engines/collaborative/kernels/ease';
import type { TopNKind } from '../src/engines/collaborative/kernels/top-n-model';
import type { BiasedMfOptions, EpochStats } from './biased-mf';
import { ratingScaleOf, type RatingsDataset } from './dataset';
import { trainBiasedMfWithItemPrior, type ItemMetadataById, type ItemPriorOptions } from './item-prior';
import { trainEase, type EaseOptions } from './ease';
import { trainIals, type IalsOptions } from './ials';
import {
  DEFAULT_BIASED_MF_OPTIONS,
  DEFAULT_EASE_OPTIONS,
  DEFAULT_IALS_OPTIONS,
  DEFAULT_ITEM_PRIOR_OPTIONS,
  DEFAULT_PURE_SVD_OPTIONS,
} from './options';
import type { SgdWorkerPool } from './sgd-workers';
import { trainPureSvd, type PureSvdOptions } from './top-n';
import { selectTopNModel, type TopNSelection } from './topn-strategies';
import type { ValidationSplitKind } from './validation-split';

export interface TrainOptions {
  readonly biased: BiasedMfOptions;
  /** The PureSVD top-N candidate. */
  readonly topN: PureSvdOptions;
  /** The iALS top-N candidate (default DEFAULT_IALS_OPTIONS); a candidate of 'select' only when given. */
  readonly ials?: IalsOptions;
  /** The EASE top-N candidate (default DEFAULT_EASE_OPTIONS); a candidate of 'select' only when given. */
  readonly ease?: EaseOptions;
  /**
   * Which top-N model the version serves: 'select' fits PureSVD and each candidate given (ials, ease)
   * on the training data minus a validation split and keeps the highest validation NDCG@10; or one
   * kind, forced (default: select).
   */
  readonly topNModel?: 'select' | TopNKind;
  /** How 'select' carves its validation split (default 'temporal': each user's latest 20%). */
  readonly topNValidation?: ValidationSplitKind;
  /** How movie metadata shapes the item biases; used only when metadata is given (default settings otherwise). */
  readonly itemPrior?: ItemPriorOptions;
}

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = {
  biased: DEFAULT_BIASED_MF_OPTIONS,
  topN: DEFAULT_PURE_SVD_OPTIONS,
  // PureSVD against EASE. iALS is not a default candidate: fitting it for the choice cost 60 s of a
  // first start on ml-latest-small (PureSVD 2 s, load ~20) and ~96 min single-threaded at 25M by
  // extrapolation, and on validation it lost to EASE on both ml100k-u1 and temporal.
  ease: DEFAULT_EASE_OPTIONS,
  topNModel: 'select',
  topNValidation: 'temporal',
  itemPrior: DEFAULT_ITEM_PRIOR_OPTIONS,
};

/**
 * DEFAULT_TRAIN_OPTIONS with the rating model's SGD on `threads` threads ('auto': one per core; with a
 * fixed number of DSGD strata, at most one per stratum, as more have nothing to run; the default
 * strata follow the data and are at least 2). Threads never change the model (see
 * sgd-schedule.ts), only how fast it comes: trainBiasedMf at these defaults on 4.5M ratings of the
 * ML-25M shape (`npm run generate -- --shape ml-25m --scale 0.2`), one epoch, interleaved, two
 * rounds: 6.85–7.05 s on one thread against 5.90–5.96 s on two (load average ~3 on 2 cores). The
 * schedule's serial parts keep it from 2×; the issue-12 first start at 25M had the second core idle.
 * The same threads share EASE's inversion (training/ease-sweep.ts), which no more changes the model.
 */
export function serverTrainOptions(threads: number | 'auto'): TrainOptions {
  const { biased } = DEFAULT_TRAIN_OPTIONS;
  const cores = os.availableParallelism();
  const resolved =
    threads === 'auto' ? (biased.strata === 'auto' ? cores : Math.min(biased.strata, cores)) : threads;
  return { ...DEFAULT_TRAIN_OPTIONS, biased: { ...biased, threads: Math.max(1, resolved) } };
}

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

/**
 * The ranking model: item space only, users are folded in from their ratings (PureSVD: p_u = r_u V;
 * iALS: an exact solve against the item factors).
 */
export type TrainedTopNModel =
  | (PureSvdModel & {
      readonly kind: 'puresvd';
      readonly itemIds: Int32Array;
      readonly singularValues: Float64Array;
      readonly popularityExponent: number;
    })
  | (IalsModel & { readonly kind: 'ials'; readonly itemIds: Int32Array })
  | (EaseModel & { readonly kind: 'ease'; readonly itemIds: Int32Array });

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
  /** The DSGD strata of the rating model's SGD (the default follows the data's shape). */
  readonly strata: number;
  readonly biasedSeconds: number;
  /** Selection (if any) and the final fit of the served top-N model. */
  readonly topNSeconds: number;
  readonly topNKind: TopNKind;
  /** The validation figures that chose topNKind; null when the kind was forced. */
  readonly topNSelection: TopNSelection | null;
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
  | {
      readonly stage: 'topN';
      readonly done: boolean;
      /** When done: the validation figures that chose the kind (absent when it was forced). */
      readonly selection?: TopNSelection;
    };

export interface TrainModelsHooks {
  readonly pool?: SgdWorkerPool;
  /**
   * Genres and years of the catalog: item biases are then learned around a genre/decade prior, and
   * items of the dataset's id space without ratings get that prior and their genres' mean factors.
   */
  readonly itemMetadata?: ItemMetadataById | null;
  /**
   * What the top-N model is fitted on when it differs from `dataset`: the ratings plus implicit
   * positives (WATCH events, training/implicit-feedback.ts). The rating model keeps to the stars.
   */
  readonly topNDataset?: RatingsDataset;
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
  const choice = options.topNModel ?? 'select';
  const topNData = hooks.topNDataset ?? dataset;
  // With PureSVD the only candidate there is nothing to choose, and no validation fit to pay for.
  const selection =
    choice === 'select' && (options.ials || options.ease)
      ? await selectTopNModel(
          topNData,
          { puresvd: options.topN, ials: options.ials, ease: options.ease, threads: options.biased.threads },
          options.topNValidation ?? 'temporal',
          options.topN.seed,
        )
      : null;
  const topN = fitTopN(topNData, selection?.kind ?? (choice === 'select' ? 'puresvd' : choice), options);
  const topNSeconds = (performance.now() - topNStarted) / 1000;
  onProgress?.(selection ? { stage: 'topN', done: true, selection } : { stage: 'topN', done: true });

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
    topN,
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
      strata: biased.strata,
      biasedSeconds: biased.trainSeconds,
      topNSeconds,
      topNKind: topN.kind,
      topNSelection: selection,
    },
    curve: biased.curve,
    options,
  };
}

/** Fits the top-N model of the given kind on all of `dataset`. */
export function fitTopN(dataset: RatingsDataset, kind: TopNKind, options: TrainOptions): TrainedTopNModel {
  if (kind === 'ials') {
    const fitted = trainIals(dataset, options.ials ?? DEFAULT_IALS_OPTIONS, undefined, { solveUsers: false });
    return { kind, ...fitted.model, itemIds: dataset.itemIds };
  }
  if (kind === 'ease')
    return {
      kind,
      ...trainEase(dataset, options.ease ?? DEFAULT_EASE_OPTIONS, options.biased.threads).model,
      itemIds: dataset.itemIds,
    };
  const pureSvdOptions = options.topN;
  const fitted = trainPureSvd(dataset, pureSvdOptions);
  return {
    kind,
    ...fitted.model,
    itemIds: dataset.itemIds,
    singularValues: fitted.singularValues,
    popularityExponent: pureSvdOptions.popularityExponent,
  };
}
