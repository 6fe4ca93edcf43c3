import { performance } from 'node:perf_hooks';
import { buildCsr } from '../src/engines/collaborative/kernels/sparse';
import { topK } from '../src/engines/collaborative/kernels/top-k';
import { datasetFromRows, idSpaceOf, ratingScaleOf, type RatingRecord, type RatingsDataset } from './dataset';
import { CUTOFF, mae, RankingAccumulator, RELEVANCE_THRESHOLD, rmse, type RankingMetrics } from './metrics';
import type { EvaluationFold, EvaluationPlan } from './protocols';
import { pairedBootstrap, type PairedBootstrapOptions, type PairedDifference } from './paired-bootstrap';
import {
  createStrategy,
  strategyBlendsEngines,
  type EvaluationStrategy,
  type StrategyContext,
} from './strategies';
import { carveValidation, type ValidationSplitKind } from './validation-split';

/** The metrics the harness reports, null where a strategy or fold has none. */
export interface EvaluationMetrics {
  /** Rating metrics (strategies that predict ratings). */
  readonly rmse: number | null;
  readonly mae: number | null;
  /** Ranking metrics (folds with ranking metrics: only u1 in ml100k-folds). */
  readonly ndcg10: number | null;
  readonly recall10: number | null;
  readonly precision10: number | null;
  readonly hitRate10: number | null;
  readonly coverage: number | null;
}

export interface FoldResult extends EvaluationMetrics {
  readonly fold: string;
  readonly rankedUsers: number | null;
  readonly trainSeconds: number;
  readonly evaluateSeconds: number;
  /** What the strategy chose on validation inside this fold's training data, if anything. */
  readonly fitNote?: string | null;
}

/** Metrics are means over the folds that have them. */
export interface StrategyResult extends EvaluationMetrics {
  readonly strategy: string;
  /** Mean fitting time per fold. */
  readonly trainSeconds: number;
  /** Per-fold details when the protocol has several folds, else null. */
  readonly folds: FoldResult[] | null;
  /** Per fold, what the strategy chose on validation ("u1: …"); absent in older reports. */
  readonly fitNotes?: string[];
}

/**
 * A strategy that blends engines against the best single strategy of the same fold (by mean NDCG@10),
 * user by user on the same test users: is the blend's lead or lag more than the test set's noise?
 */
export interface PairedComparison extends PairedDifference {
  readonly fold: string;
  readonly strategy: string;
  readonly against: string;
}

export interface EvaluationReport {
  readonly dataset: string;
  readonly protocol: string;
  readonly results: StrategyResult[];
  /** Absent in reports written before paired comparisons, and where nothing blends engines. */
  readonly comparisons?: PairedComparison[];
}

/** The fold's ratings on one id space spanning train ∪ test (the catalog). */
export function prepareFold(fold: EvaluationFold): { train: RatingsDataset; test: RatingsDataset } {
  const space = idSpaceOf(fold.train, fold.test);
  return { train: datasetFromRows(fold.train, space), test: datasetFromRows(fold.test, space) };
}

/**
 * The plan with every test set replaced by a validation split carved from the fold's training data
 * (the strategies fit on the rest), so choices can be compared without any test set in view.
 */
export function validationPlan(
  plan: EvaluationPlan,
  kind: ValidationSplitKind,
  seed: number,
): EvaluationPlan {
  const records = (dataset: RatingsDataset): RatingRecord[] =>
    Array.from({ length: dataset.size }, (_, n) => ({
      userId: dataset.userIds[dataset.users[n]],
      movieId: dataset.itemIds[dataset.items[n]],
      rating: dataset.ratings[n],
      timestamp: dataset.timestamps[n],
    }));
  return {
    ...plan,
    dataset: `${plan.dataset} (${kind} validation split of the training data)`,
    folds: plan.folds.map((fold) => {
      const { fit, validation } = carveValidation(prepareFold(fold).train, kind, seed);
      return { ...fold, name: `${fold.name}:validation`, train: records(fit), test: records(validation) };
    }),
  };
}

function ratingMetrics(strategy: EvaluationStrategy, train: RatingsDataset, test: RatingsDataset) {
  const predict = strategy.predict?.bind(strategy);
  if (!predict) return { rmse: null, mae: null };
  const { min, max } = ratingScaleOf(train);
  const predicted = new Float64Array(test.size);
  for (let n = 0; n < test.size; n++) {
    const value = predict(test.users[n], test.items[n]);
    predicted[n] = value < min ? min : value > max ? max : value;
  }
  return { rmse: rmse(predicted, test.ratings), mae: mae(predicted, test.ratings) };
}

/**
 * Ranks every catalog item the user did not rate in train and scores the top CUTOFF against the
 * user's relevant test items, for each user with at least one.
 */
export function rankingMetrics(
  strategy: EvaluationStrategy,
  train: RatingsDataset,
  test: RatingsDataset,
  threshold = RELEVANCE_THRESHOLD,
): RankingMetrics | null {
  const scoreAll = strategy.scoreAll?.bind(strategy);
  const predict = strategy.predict?.bind(strategy);
  if (!scoreAll && !predict) return null;
  const rated = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
  const relevantByUser = new Map<number, Set<number>>();
  for (let n = 0; n < test.size; n++) {
    if (test.ratings[n] < threshold) continue;
    const user = test.users[n];
    const set = relevantByUser.get(user) ?? new Set<number>();
    set.add(test.items[n]);
    relevantByUser.set(user, set);
  }
  const accumulator = new RankingAccumulator(train.numItems, CUTOFF);
  const scores = new Float32Array(train.numItems);
  for (const user of [...relevantByUser.keys()].sort((a, b) => a - b)) {
    if (scoreAll) scoreAll(user, scores);
    else
      for (let item = 0; item < train.numItems; item++)
        scores[item] = (predict as NonNullable<typeof predict>)(user, item);
    for (let e = rated.offsets[user]; e < rated.offsets[user + 1]; e++) scores[rated.columns[e]] = -Infinity;
    accumulator.add(topK(scores, CUTOFF), relevantByUser.get(user) as Set<number>, user);
  }
  return accumulator.result();
}

/** The fold's result, and each ranked user's NDCG@10 (null without ranking metrics) for paired comparisons. */
export async function evaluateFold(
  fold: EvaluationFold,
  strategy: EvaluationStrategy,
  prepared = prepareFold(fold),
): Promise<{ result: FoldResult; ndcg10ByUser: ReadonlyMap<number, number> | null }> {
  const { train, test } = prepared;
  const fitStarted = performance.now();
  await strategy.fit(train);
  const trainSeconds = (performance.now() - fitStarted) / 1000;
  const evaluateStarted = performance.now();
  const rating = fold.ratingMetrics ? ratingMetrics(strategy, train, test) : { rmse: null, mae: null };
  const ranking = fold.rankingMetrics ? rankingMetrics(strategy, train, test) : null;
  const result: FoldResult = {
    fold: fold.name,
    ...rating,
    ndcg10: ranking?.ndcg10 ?? null,
    recall10: ranking?.recall10 ?? null,
    precision10: ranking?.precision10 ?? null,
    hitRate10: ranking?.hitRate10 ?? null,
    coverage: ranking?.coverage ?? null,
    rankedUsers: ranking?.users ?? null,
    trainSeconds,
    evaluateSeconds: (performance.now() - evaluateStarted) / 1000,
    fitNote: strategy.fitNote?.() ?? null,
  };
  return { result, ndcg10ByUser: ranking?.ndcg10ByUser ?? null };
}

function meanOf(values: (number | null)[]): number | null {
  const present = values.filter((value): value is number => value !== null);
  return present.length === 0 ? null : present.reduce((sum, value) => sum + value, 0) / present.length;
}

export function summarize(strategy: string, folds: FoldResult[]): StrategyResult {
  return {
    strategy,
    rmse: meanOf(folds.map((fold) => fold.rmse)),
    mae: meanOf(folds.map((fold) => fold.mae)),
    ndcg10: meanOf(folds.map((fold) => fold.ndcg10)),
    recall10: meanOf(folds.map((fold) => fold.recall10)),
    precision10: meanOf(folds.map((fold) => fold.precision10)),
    hitRate10: meanOf(folds.map((fold) => fold.hitRate10)),
    coverage: meanOf(folds.map((fold) => fold.coverage)),
    trainSeconds: meanOf(folds.map((fold) => fold.trainSeconds)) ?? 0,
    folds: folds.length > 1 ? folds : null,
    fitNotes: folds.flatMap((fold) => (fold.fitNote ? [`${fold.fold}: ${fold.fitNote}`] : [])),
  };
}

export async function runEvaluation(
  plan: EvaluationPlan,
  strategyNames: readonly string[],
  context: StrategyContext,
  onFold?: (strategy: string, result: FoldResult) => void,
): Promise<EvaluationReport> {
  // Validate every name before any (possibly long) training starts.
  for (const name of strategyNames) createStrategy(name, context);
  const prepared = plan.folds.map((fold) => prepareFold(fold));
  const results: StrategyResult[] = [];
  const ranked: RankedFold[] = [];
  for (const name of strategyNames) {
    const folds: FoldResult[] = [];
    for (let f = 0; f < plan.folds.length; f++) {
      const { result, ndcg10ByUser } = await evaluateFold(
        plan.folds[f],
        createStrategy(name, context),
        prepared[f],
      );
      onFold?.(name, result);
      folds.push(result);
      if (ndcg10ByUser && result.ndcg10 !== null)
        ranked.push({ strategy: name, fold: result.fold, ndcg10: result.ndcg10, ndcg10ByUser });
    }
    results.push(summarize(name, folds));
  }
  const comparisons = compareBlends(ranked);
  return {
    dataset: plan.dataset,
    protocol: plan.protocol,
    results,
    ...(comparisons.length > 0 ? { comparisons } : {}),
  };
}

/** One strategy on one fold: its mean NDCG@10 and each ranked user's. */
export interface RankedFold {
  readonly strategy: string;
  readonly fold: string;
  readonly ndcg10: number;
  readonly ndcg10ByUser: ReadonlyMap<number, number>;
}

/** Per fold, each strategy that blends engines against the fold's best strategy that does not. */
export function compareBlends(
  ranked: readonly RankedFold[],
  options?: PairedBootstrapOptions,
): PairedComparison[] {
  const comparisons: PairedComparison[] = [];
  for (const fold of [...new Set(ranked.map((r) => r.fold))]) {
    const inFold = ranked.filter((r) => r.fold === fold);
    const best = inFold
      .filter((r) => !strategyBlendsEngines(r.strategy))
      .reduce<RankedFold | null>((top, r) => (top === null || r.ndcg10 > top.ndcg10 ? r : top), null);
    if (!best) continue;
    for (const blend of inFold.filter((r) => strategyBlendsEngines(r.strategy)))
      comparisons.push({
        fold,
        strategy: blend.strategy,
        against: best.strategy,
        ...pairedBootstrap(blend.ndcg10ByUser, best.ndcg10ByUser, options),
      });
  }
  return comparisons;
}

function cell(value: number | null, digits: number): string {
  return value === null ? '–' : value.toFixed(digits);
}

export function formatMarkdownTable(report: EvaluationReport): string {
  const header =
    '| strategy | RMSE | MAE | NDCG@10 | Recall@10 | Precision@10 | HitRate@10 | Coverage | train s |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const rows = report.results.map(
    (r) =>
      `| ${r.strategy} | ${cell(r.rmse, 4)} | ${cell(r.mae, 4)} | ${cell(r.ndcg10, 4)} | ${cell(r.recall10, 4)} | ` +
      `${cell(r.precision10, 4)} | ${cell(r.hitRate10, 4)} | ${cell(r.coverage, 4)} | ${r.trainSeconds.toFixed(2)} |`,
  );
  const lines = [`**${report.dataset}**, protocol \`${report.protocol}\``, '', header, ...rows];
  const foldRows = report.results.flatMap((r) =>
    (r.folds ?? []).map(
      (f) =>
        `| ${r.strategy} | ${f.fold} | ${cell(f.rmse, 4)} | ${cell(f.mae, 4)} | ${cell(f.ndcg10, 4)} | ${f.trainSeconds.toFixed(2)} |`,
    ),
  );
  if (foldRows.length > 0) {
    lines.push(
      '',
      '| strategy | fold | RMSE | MAE | NDCG@10 | train s |',
      '|---|---|---:|---:|---:|---:|',
      ...foldRows,
    );
  }
  if (report.comparisons?.length) lines.push('', ...comparisonTable(report.comparisons));
  return lines.join('\n');
}

/** A difference with its sign, 4 decimals. */
export const signed = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(4)}`;

/** The comparison's interval as "[−0.0035, +0.0012]". */
export const signedInterval = (c: PairedDifference) => `[${signed(c.low)}, ${signed(c.high)}]`;

/**
 * The paired comparisons as a Markdown table; "within noise" where the interval holds zero, i.e.
 * these test users cannot tell the two strategies apart.
 */
export function comparisonTable(comparisons: readonly PairedComparison[]): string[] {
  const [first] = comparisons;
  return [
    `| fold | strategy | against (best unblended) | Δ NDCG@10 | ${Math.round(first.confidence * 100)}% interval | users | verdict |`,
    '|---|---|---|---:|---|---:|---|',
    ...comparisons.map(
      (c) =>
        `| ${c.fold} | ${c.strategy} | ${c.against} | ${signed(c.difference)} | ${signedInterval(c)} | ` +
        `${c.users} | ${c.low > 0 ? 'ahead' : c.high < 0 ? 'behind' : 'within noise'} |`,
    ),
    '',
    `Paired bootstrap over the test users (${first.resamples.toLocaleString('en-US')} resamples, seed ${first.seed}).`,
  ];
}
