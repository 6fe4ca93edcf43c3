import { Experiment, Variant } from './definition';
import { UserOutcome, Window } from './outcomes';
import { MetricSummary, ratioEstimate, RatioEstimate, summarise } from './statistics';

export const SIGNIFICANCE_LEVEL = 0.05;

export interface VariantReport {
  variant: string;
  isControl: boolean;
  settings: Pick<Variant, 'strategy' | 'weights' | 'diversity' | 'share'>;
  users: number;
  lists: number;
  impressions: number;
  clicks: number;
  watchedThrough: number;
  ctr: MetricSummary;
  watchThrough: MetricSummary;
  ndcg10: MetricSummary;
}

export interface ExperimentReport {
  experiment: string;
  status: Experiment['status'];
  control: string;
  window: Window;
  variants: VariantReport[];
}

interface Estimates {
  ctr: RatioEstimate;
  watchThrough: RatioEstimate;
  ndcg10: RatioEstimate;
}

function estimatesOf(outcomes: readonly UserOutcome[]): Estimates {
  return {
    ctr: ratioEstimate(outcomes.map((o) => ({ num: o.clicked, den: o.shown, sumSq: o.clicked }))),
    watchThrough: ratioEstimate(outcomes.map((o) => ({ num: o.watched, den: o.clicked, sumSq: o.watched }))),
    ndcg10: ratioEstimate(outcomes.map((o) => ({ num: o.ndcgSum, den: o.ndcgLists, sumSq: o.ndcgSumSq }))),
  };
}

/** Every variant of the experiment, in its defined order, with or without traffic. */
export function buildReport(
  experiment: Pick<Experiment, 'name' | 'status' | 'control' | 'variants'>,
  outcomes: readonly UserOutcome[],
  window: Window,
): ExperimentReport {
  const byVariant = new Map<string, UserOutcome[]>();
  for (const outcome of outcomes) {
    const own = byVariant.get(outcome.variant) ?? [];
    own.push(outcome);
    byVariant.set(outcome.variant, own);
  }
  const control = estimatesOf(byVariant.get(experiment.control) ?? []);
  const variants = experiment.variants.map((variant): VariantReport => {
    const own = byVariant.get(variant.name) ?? [];
    const isControl = variant.name === experiment.control;
    const estimates = estimatesOf(own);
    const sum = (pick: (o: UserOutcome) => number): number => own.reduce((s, o) => s + pick(o), 0);
    return {
      variant: variant.name,
      isControl,
      settings: {
        strategy: variant.strategy,
        weights: variant.weights,
        diversity: variant.diversity,
        share: variant.share,
      },
      users: own.filter((o) => o.lists > 0).length,
      lists: sum((o) => o.lists),
      impressions: sum((o) => o.shown),
      clicks: sum((o) => o.clicked),
      watchedThrough: sum((o) => o.watched),
      ctr: summarise(estimates.ctr, isControl ? null : control.ctr, 'proportion'),
      watchThrough: summarise(estimates.watchThrough, isControl ? null : control.watchThrough, 'proportion'),
      ndcg10: summarise(estimates.ndcg10, isControl ? null : control.ndcg10, 'mean'),
    };
  });
  return {
    experiment: experiment.name,
    status: experiment.status,
    control: experiment.control,
    window,
    variants,
  };
}

function pct(x: number | null, digits = 2): string {
  return x === null ? '–' : `${(x * 100).toFixed(digits)}%`;
}

function interval(metric: MetricSummary, asPercent: boolean): string {
  if (metric.value === null) return '–';
  const show = (x: number): string => (asPercent ? pct(x) : x.toFixed(4));
  const ci = metric.ci ? ` [${show(metric.ci[0])}, ${show(metric.ci[1])}]` : '';
  return `${show(metric.value)}${ci}`;
}

export function formatP(p: number | null): string {
  if (p === null) return '–';
  return p < 0.0001 ? '<0.0001' : p.toFixed(4);
}

function lift(metric: MetricSummary): string {
  const lift = metric.vsControl?.lift;
  if (lift === null || lift === undefined) return '–';
  return `${lift >= 0 ? '+' : ''}${(lift * 100).toFixed(1)}%`;
}

function pCell(metric: MetricSummary): string {
  const p = metric.vsControl?.pValue ?? null;
  return p !== null && p < SIGNIFICANCE_LEVEL ? `**${formatP(p)}**` : formatP(p);
}

/** The report as a Markdown table: one row per variant, p-values below 0.05 in bold. */
export function reportMarkdown(report: ExperimentReport): string {
  const rows = [
    '| variant | users | lists | impressions | CTR [95% CI] | CTR lift | p | p (iid) | watch-through [95% CI] | p | NDCG@10 [95% CI] | p |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | --- | ---: |',
  ];
  for (const v of report.variants) {
    const name = v.isControl ? `${v.variant} (control)` : v.variant;
    rows.push(
      `| ${name} | ${v.users} | ${v.lists} | ${v.impressions} | ${interval(v.ctr, true)} | ${lift(v.ctr)} | ${pCell(v.ctr)} | ${formatP(v.ctr.vsControl?.pValueIid ?? null)} | ${interval(v.watchThrough, true)} | ${pCell(v.watchThrough)} | ${interval(v.ndcg10, false)} (${v.ndcg10.items}) | ${pCell(v.ndcg10)} |`,
    );
  }
  return rows.join('\n');
}
