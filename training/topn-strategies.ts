import { performance } from 'node:perf_hooks';
import { factorScores } from '../src/engines/collaborative/kernels/linalg';
import { buildCsr } from '../src/engines/collaborative/kernels/sparse';
import { TOP_N_KINDS, TopNScorer, type TopNKind } from '../src/engines/collaborative/kernels/top-n-model';
import { sampleWithoutReplacement, selectRatings, type RatingsDataset } from './dataset';
import { Mulberry32 } from '../src/engines/collaborative/kernels/prng';
import { rankingMetrics } from './evaluate';
import { trainEase, type EaseOptions } from './ease';
import { trainIals, type IalsOptions } from './ials';
import { DEFAULT_EASE_OPTIONS, DEFAULT_IALS_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from './options';
import { PureSvdStrategy } from './builtin-strategies';
import { registerStrategy, type EvaluationStrategy, type StrategyContext } from './strategies';
import type { PureSvdOptions } from './top-n';
import { carveValidation, type ValidationSplitKind } from './validation-split';

/** iALS alone: users scored by their exact solve against the final item factors (as served). */
export class IalsStrategy implements EvaluationStrategy {
  readonly name = 'ials';
  private model: { rank: number; itemFactors: Float32Array; userFactors: Float32Array } | null = null;

  constructor(private readonly options: IalsOptions) {}

  fit(train: RatingsDataset): void {
    const { model, userFactors } = trainIals(train, this.options);
    if (!userFactors) throw new Error('trainIals returned no user factors');
    this.model = { rank: model.rank, itemFactors: model.itemFactors, userFactors };
  }

  scoreAll(user: number, out: Float32Array): void {
    const model = this.model;
    if (!model) throw new Error('strategy ials used before fit()');
    const { rank } = model;
    factorScores(model.itemFactors, rank, model.userFactors.subarray(user * rank, (user + 1) * rank), out);
  }
}

/** EASE alone: users scored by x_u B over its columns, as served. */
export class EaseStrategy implements EvaluationStrategy {
  readonly name = 'ease';
  private scorer: TopNScorer | null = null;
  private byUser: { offsets: Int32Array; columns: Int32Array; values: Float32Array } | null = null;
  private rankable: Uint8Array | null = null;

  constructor(
    private readonly options: EaseOptions,
    /** Threads the fit's inversion may use (the model is the same on any number). */
    private readonly threads = 1,
  ) {}

  fit(train: RatingsDataset): void {
    this.scorer = new TopNScorer({ kind: 'ease', ...trainEase(train, this.options, this.threads).model });
    this.rankable = null;
    this.byUser = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
  }

  scoreAll(user: number, out: Float32Array): void {
    const { scorer, byUser } = this;
    if (!scorer || !byUser) throw new Error('strategy ease used before fit()');
    const from = byUser.offsets[user];
    const to = byUser.offsets[user + 1];
    out.set(scorer.scoreUser(byUser.columns.subarray(from, to), byUser.values.subarray(from, to)).scores);
    // Movies without a column are not scored, as serving leaves them out (not 0, which would put them
    // above every movie EASE scores below 0, in a list and after the hybrid's normalisation).
    const rankable = this.rankable ?? (this.rankable = scorer.rankable());
    for (let item = 0; item < out.length; item++) if (!rankable[item]) out[item] = -Infinity;
  }
}

/** The top-N models a selection fits; a kind left out is not a candidate. */
export interface TopNCandidates {
  readonly puresvd: PureSvdOptions;
  readonly ials?: IalsOptions;
  readonly ease?: EaseOptions;
  /** Threads a fit may use where it can share its work (EASE's inversion); never changes a model. */
  readonly threads?: number;
}

export interface TopNSelection {
  readonly kind: TopNKind;
  readonly split: ValidationSplitKind;
  /** Validation NDCG@10 of each candidate fitted, on the rest of the training data. */
  readonly validationNdcg10: Partial<Record<TopNKind, number>>;
  readonly fitRatings: number;
  readonly validationRatings: number;
  readonly seconds: number;
}

/**
 * Validation users scored per candidate: every one of them costs a full ranking (at 25M ratings,
 * 162K users × 62K movies), while NDCG@10 over a seeded sample of 5,000 moves by ~±0.003 (its
 * standard error), well below the gaps the choice acts on.
 */
export const MAX_VALIDATION_USERS = 5_000;

/**
 * Users whose ratings the choice fits its candidates on: past this the choice is made on a seeded
 * sample of users (all their ratings), so it costs the same at 162K users as at 25K, and only the
 * winner's refit grows with the data. At ML-25M shape the sample is ~15% of the ratings.
 */
export const MAX_SELECTION_USERS = 25_000;

/** The ratings of at most `maxUsers` users, a seeded sample; the dataset itself when it has fewer. */
export function sampleUsers(dataset: RatingsDataset, maxUsers: number, seed: number): RatingsDataset {
  const present = new Uint8Array(dataset.numUsers);
  for (let n = 0; n < dataset.size; n++) present[dataset.users[n]] = 1;
  const users = Int32Array.from(present.keys()).filter((user) => present[user]);
  if (users.length <= maxUsers) return dataset;
  const kept = new Uint8Array(dataset.numUsers);
  for (const user of sampleWithoutReplacement(users, maxUsers, new Mulberry32(seed)).sample) kept[user] = 1;
  const positions: number[] = [];
  for (let n = 0; n < dataset.size; n++) if (kept[dataset.users[n]]) positions.push(n);
  return selectRatings(dataset, Int32Array.from(positions));
}

/** The top-N model of `kind` as an evaluation strategy, with its candidate's options (defaults when absent). */
export function topNStrategy(kind: TopNKind, candidates: TopNCandidates): EvaluationStrategy {
  if (kind === 'ials') return new IalsStrategy(candidates.ials ?? DEFAULT_IALS_OPTIONS);
  if (kind === 'ease') return new EaseStrategy(candidates.ease ?? DEFAULT_EASE_OPTIONS, candidates.threads);
  return new PureSvdStrategy(candidates.puresvd);
}

/**
 * Picks the top-N model to serve: each candidate is fitted on the training data (of at most
 * MAX_SELECTION_USERS users) minus a validation split carved from it, and the highest validation
 * NDCG@10 wins (on a tie, the earlier of PureSVD, iALS, EASE). Never sees a test set; the winner is
 * then refitted on all the training data by the caller.
 */
export async function selectTopNModel(
  train: RatingsDataset,
  candidates: TopNCandidates,
  split: ValidationSplitKind,
  seed: number,
): Promise<TopNSelection> {
  const started = performance.now();
  const carved = carveValidation(sampleUsers(train, MAX_SELECTION_USERS, seed), split, seed);
  const fit = carved.fit;
  const validation = sampleUsers(carved.validation, MAX_VALIDATION_USERS, seed);
  const validationNdcg10: Partial<Record<TopNKind, number>> = {};
  let kind: TopNKind = 'puresvd';
  for (const candidate of TOP_N_KINDS) {
    if (candidate !== 'puresvd' && !candidates[candidate]) continue;
    const strategy = topNStrategy(candidate, candidates);
    await strategy.fit(fit);
    const ndcg10 = rankingMetrics(strategy, fit, validation)?.ndcg10 ?? 0;
    validationNdcg10[candidate] = ndcg10;
    if (ndcg10 > (validationNdcg10[kind] ?? 0)) kind = candidate;
  }
  return {
    kind,
    split,
    validationNdcg10,
    fitRatings: fit.size,
    validationRatings: validation.size,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * What production serves, evaluated: the top-N model chosen on a validation split of the fold's own
 * training data (never its test set), refitted on the whole training data.
 */
export class SelectedTopNStrategy implements EvaluationStrategy {
  readonly name = 'topn';
  private chosen: EvaluationStrategy | null = null;
  selection: TopNSelection | null = null;

  constructor(
    private readonly candidates: TopNCandidates,
    private readonly split: ValidationSplitKind,
    private readonly seed: number,
    private readonly onSelected?: (selection: TopNSelection) => void,
  ) {}

  async fit(train: RatingsDataset): Promise<void> {
    this.selection = await selectTopNModel(train, this.candidates, this.split, this.seed);
    this.onSelected?.(this.selection);
    this.chosen = topNStrategy(this.selection.kind, this.candidates);
    await this.chosen.fit(train);
  }

  scoreAll(user: number, out: Float32Array): void {
    const chosen = this.chosen;
    if (!chosen?.scoreAll) throw new Error('strategy topn used before fit()');
    chosen.scoreAll(user, out);
  }
}

/**
 * What production chooses between: PureSVD and EASE. iALS is left out by default: fitting it for the
 * choice cost 60 s of a first start on ml-latest-small and it won on no validation split against
 * these two (training/options.ts); `--topn-model ials` or the `ials` strategy still fit it.
 */
export function defaultTopNCandidates(seed: number): TopNCandidates {
  return { puresvd: { ...DEFAULT_PURE_SVD_OPTIONS, seed }, ease: DEFAULT_EASE_OPTIONS };
}

/** The validation figures behind a choice, as one line for logs and evaluation records. */
export function describeTopNSelection(selection: TopNSelection): string {
  const names: Record<TopNKind, string> = { puresvd: 'PureSVD', ials: 'iALS', ease: 'EASE' };
  const figures = TOP_N_KINDS.filter((kind) => selection.validationNdcg10[kind] !== undefined)
    .map((kind) => `${names[kind]} ${(selection.validationNdcg10[kind] as number).toFixed(4)}`)
    .join(', ');
  return (
    `${selection.kind} chosen on a ${selection.split} validation split of the training data ` +
    `(${selection.fitRatings} fit / ${selection.validationRatings} validation ratings): NDCG@10 ${figures}`
  );
}

export function registerTopNStrategies(): void {
  registerStrategy({
    name: 'ease',
    description: 'EASE item-item top-N model alone (rankings only)',
    create: () => new EaseStrategy(DEFAULT_EASE_OPTIONS),
  });
  registerStrategy({
    name: 'ials',
    description: 'implicit ALS top-N model alone (rankings only)',
    create: (context: StrategyContext) => new IalsStrategy({ ...DEFAULT_IALS_OPTIONS, seed: context.seed }),
  });
  registerStrategy({
    name: 'topn',
    description:
      'the served top-N model: PureSVD or EASE, whichever wins on a validation split of the fold’s training data',
    create: (context: StrategyContext) =>
      new SelectedTopNStrategy(
        defaultTopNCandidates(context.seed),
        context.validationSplit ?? 'random',
        context.seed,
        // The figures behind the choice belong in the evaluation's record, next to the test figures.
        (selection) => process.stderr.write(`topn: ${describeTopNSelection(selection)}\n`),
      ),
  });
}
