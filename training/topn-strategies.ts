import { performance } from 'node:perf_hooks';
import { factorScores } from '../src/engines/collaborative/kernels/linalg';
import { TOP_N_KINDS, type TopNKind } from '../src/engines/collaborative/kernels/top-n-model';
import type { RatingsDataset } from './dataset';
import { rankingMetrics } from './evaluate';
import { trainIals, type IalsOptions } from './ials';
import { DEFAULT_IALS_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from './options';
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

export interface TopNCandidates {
  readonly puresvd: PureSvdOptions;
  readonly ials: IalsOptions;
}

export interface TopNSelection {
  readonly kind: TopNKind;
  readonly split: ValidationSplitKind;
  /** Validation NDCG@10 of each candidate, fitted on the rest of the training data. */
  readonly validationNdcg10: Record<TopNKind, number>;
  readonly fitRatings: number;
  readonly validationRatings: number;
  readonly seconds: number;
}

function candidateStrategy(kind: TopNKind, candidates: TopNCandidates): EvaluationStrategy {
  return kind === 'ials' ? new IalsStrategy(candidates.ials) : new PureSvdStrategy(candidates.puresvd);
}

/**
 * Picks the top-N model to serve: each candidate is fitted on the training data minus a validation
 * split carved from it, and the higher validation NDCG@10 wins (PureSVD on a tie: the cheaper one).
 * Never sees a test set; the winner is then refitted on all the training data by the caller.
 */
export async function selectTopNModel(
  train: RatingsDataset,
  candidates: TopNCandidates,
  split: ValidationSplitKind,
  seed: number,
): Promise<TopNSelection> {
  const started = performance.now();
  const { fit, validation } = carveValidation(train, split, seed);
  const validationNdcg10 = { puresvd: 0, ials: 0 };
  for (const kind of TOP_N_KINDS) {
    const strategy = candidateStrategy(kind, candidates);
    await strategy.fit(fit);
    validationNdcg10[kind] = rankingMetrics(strategy, fit, validation)?.ndcg10 ?? 0;
  }
  return {
    kind: validationNdcg10.ials > validationNdcg10.puresvd ? 'ials' : 'puresvd',
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
    this.chosen = candidateStrategy(this.selection.kind, this.candidates);
    await this.chosen.fit(train);
  }

  scoreAll(user: number, out: Float32Array): void {
    const chosen = this.chosen;
    if (!chosen?.scoreAll) throw new Error('strategy topn used before fit()');
    chosen.scoreAll(user, out);
  }
}

export function defaultTopNCandidates(seed: number): TopNCandidates {
  return { puresvd: { ...DEFAULT_PURE_SVD_OPTIONS, seed }, ials: { ...DEFAULT_IALS_OPTIONS, seed } };
}

export function registerTopNStrategies(): void {
  registerStrategy({
    name: 'ials',
    description: 'implicit ALS top-N model alone (rankings only)',
    create: (context: StrategyContext) => new IalsStrategy({ ...DEFAULT_IALS_OPTIONS, seed: context.seed }),
  });
  registerStrategy({
    name: 'topn',
    description:
      'the served top-N model: PureSVD or iALS, whichever wins on a validation split of the fold’s training data',
    create: (context: StrategyContext) =>
      new SelectedTopNStrategy(
        defaultTopNCandidates(context.seed),
        context.validationSplit ?? 'random',
        context.seed,
        // The figures behind the choice belong in the evaluation's record, next to the test figures.
        (selection) =>
          process.stderr.write(
            `topn: ${selection.kind} chosen on a ${selection.split} validation split of the training data ` +
              `(${selection.fitRatings} fit / ${selection.validationRatings} validation ratings): NDCG@10 ` +
              `PureSVD ${selection.validationNdcg10.puresvd.toFixed(4)}, iALS ${selection.validationNdcg10.ials.toFixed(4)}\n`,
          ),
      ),
  });
}
