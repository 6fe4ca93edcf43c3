import {
  predictAllItems,
  predictBiased,
  type BiasedMfParameters,
} from '../src/engines/collaborative/kernels/biased-mf';
import {
  pureSvdScores,
  pureSvdUserVector,
  type PureSvdModel,
} from '../src/engines/collaborative/kernels/pure-svd';
import { buildCsr, type CsrMatrix } from '../src/engines/collaborative/kernels/sparse';
import { DEFAULT_BASELINE_OPTIONS, fitBaseline, type BaselineModel } from './baseline';
import type { BiasedMfOptions } from './biased-mf';
import { countPerIndex, type RatingsDataset } from './dataset';
import { trainBiasedMfWithItemPrior, type ItemMetadataById, type ItemPriorOptions } from './item-prior';
import { movieMetadataFromRelease } from './movie-metadata';
import { DEFAULT_BIASED_MF_OPTIONS, DEFAULT_ITEM_PRIOR_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from './options';
import { registerStrategy, type EvaluationStrategy, type StrategyContext } from './strategies';
import { trainPureSvd, type PureSvdOptions } from './top-n';

function notFitted(name: string): never {
  throw new Error(`strategy ${name} used before fit()`);
}

/** Most-rated first, for every user alike; no rating predictions. */
export class PopularityStrategy implements EvaluationStrategy {
  readonly name = 'popularity';
  private counts: Int32Array | null = null;

  fit(train: RatingsDataset): void {
    this.counts = countPerIndex(train.items, train.numItems);
  }

  scoreAll(_user: number, out: Float32Array): void {
    const counts = this.counts ?? notFitted(this.name);
    for (let item = 0; item < counts.length; item++) out[item] = counts[item];
  }
}

/** μ + b_u + b_i by regularised ALS; ranks by the predicted rating. */
export class BaselineStrategy implements EvaluationStrategy {
  readonly name = 'baseline';
  private model: BaselineModel | null = null;

  fit(train: RatingsDataset): void {
    this.model = fitBaseline(train, train.numUsers, train.numItems, DEFAULT_BASELINE_OPTIONS);
  }

  predict(user: number, item: number): number {
    const model = this.model ?? notFitted(this.name);
    return model.mu + model.userBias[user] + model.itemBias[item];
  }

  scoreAll(user: number, out: Float32Array): void {
    const model = this.model ?? notFitted(this.name);
    const base = model.mu + model.userBias[user];
    for (let item = 0; item < model.itemBias.length; item++) out[item] = base + model.itemBias[item];
  }
}

/** Scores every item for a user of the training set with a PureSVD model. */
class PureSvdScorer {
  private readonly userVector: Float64Array;

  constructor(
    private readonly model: PureSvdModel,
    private readonly byUser: CsrMatrix,
  ) {
    this.userVector = new Float64Array(model.rank);
  }

  scoreAll(user: number, out: Float32Array): void {
    const start = this.byUser.offsets[user];
    const end = this.byUser.offsets[user + 1];
    pureSvdUserVector(
      this.model,
      this.byUser.columns.subarray(start, end),
      this.byUser.values.subarray(start, end),
      this.userVector,
    );
    pureSvdScores(this.model, this.userVector, out);
  }
}

function userRows(train: RatingsDataset): CsrMatrix {
  return buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
}

/** PureSVD alone: a ranking model with no rating predictions. */
export class PureSvdStrategy implements EvaluationStrategy {
  readonly name: string = 'puresvd';
  private scorer: PureSvdScorer | null = null;

  constructor(private readonly options: PureSvdOptions) {}

  fit(train: RatingsDataset): void {
    this.scorer = new PureSvdScorer(trainPureSvd(train, this.options).model, userRows(train));
  }

  scoreAll(user: number, out: Float32Array): void {
    (this.scorer ?? notFitted(this.name)).scoreAll(user, out);
  }
}

/** Loads the catalog's movie metadata (null: none available, train without item priors). */
export type ItemMetadataSource = () => Promise<ItemMetadataById | null>;

/** Reads a release directory once, however many folds and strategies ask. */
export function cachedMetadataSource(directory: string): ItemMetadataSource {
  let loaded: Promise<ItemMetadataById | null> | null = null;
  return () => (loaded ??= movieMetadataFromRelease(directory));
}

/**
 * The production collaborative model: biased MF answers rating predictions, the PureSVD top-N model
 * answers rankings (an RMSE-tuned MF ranks worse than popularity under the all-items protocol). With
 * movie metadata the MF learns item biases around a genre/decade prior, which also gives movies
 * without training ratings a prediction beyond μ + b_u.
 */
export class SvdStrategy implements EvaluationStrategy {
  readonly name: string = 'svd';
  private biased: BiasedMfParameters | null = null;
  private scorer: PureSvdScorer | null = null;

  constructor(
    private readonly biasedOptions: BiasedMfOptions,
    private readonly topNOptions: PureSvdOptions | null,
    private readonly metadata: ItemMetadataSource | null = null,
    private readonly priorOptions: ItemPriorOptions = DEFAULT_ITEM_PRIOR_OPTIONS,
  ) {}

  async fit(train: RatingsDataset): Promise<void> {
    const metadata = this.metadata ? await this.metadata() : null;
    this.biased = (
      await trainBiasedMfWithItemPrior(train, this.biasedOptions, this.priorOptions, metadata)
    ).model;
    if (this.topNOptions)
      this.scorer = new PureSvdScorer(trainPureSvd(train, this.topNOptions).model, userRows(train));
  }

  predict(user: number, item: number): number {
    return predictBiased(this.biased ?? notFitted(this.name), user, item);
  }

  scoreAll(user: number, out: Float32Array): void {
    if (this.scorer) this.scorer.scoreAll(user, out);
    else predictAllItems(this.biased ?? notFitted(this.name), user, out);
  }
}

/** For comparison: the biased MF ranking by its own predicted ratings. */
class SvdRatingRankStrategy extends SvdStrategy {
  override readonly name = 'svd-rating-rank';
  constructor(options: BiasedMfOptions, metadata: ItemMetadataSource | null) {
    super(options, null, metadata);
  }
}

function biasedOptionsFor(context: StrategyContext): BiasedMfOptions {
  return { ...DEFAULT_BIASED_MF_OPTIONS, seed: context.seed, threads: context.threads };
}

export interface BuiltinStrategyOptions {
  /** A MovieLens release directory whose movies file gives the rating models their item priors. */
  readonly movieDirectory?: string;
}

export function registerBuiltinStrategies(options: BuiltinStrategyOptions = {}): void {
  const metadata = options.movieDirectory ? cachedMetadataSource(options.movieDirectory) : null;
  registerStrategy({
    name: 'popularity',
    description: 'rank by number of ratings in train; no rating predictions',
    create: () => new PopularityStrategy(),
  });
  registerStrategy({
    name: 'baseline',
    description: 'μ + b_u + b_i (regularised ALS); ranks by predicted rating',
    create: () => new BaselineStrategy(),
  });
  registerStrategy({
    name: 'svd',
    description: 'biased MF (SGD, genre/decade item prior) for ratings, PureSVD top-N model for rankings',
    create: (context) =>
      new SvdStrategy(
        biasedOptionsFor(context),
        { ...DEFAULT_PURE_SVD_OPTIONS, seed: context.seed },
        metadata,
      ),
  });
  registerStrategy({
    name: 'puresvd',
    description: 'PureSVD top-N model alone (rankings only)',
    create: (context) => new PureSvdStrategy({ ...DEFAULT_PURE_SVD_OPTIONS, seed: context.seed }),
  });
  registerStrategy({
    name: 'svd-rating-rank',
    description: 'biased MF ranking by its predicted ratings (for comparison)',
    create: (context) => new SvdRatingRankStrategy(biasedOptionsFor(context), metadata),
  });
}
