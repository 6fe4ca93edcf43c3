import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { StoredExperiment } from '../../experiments/store';
import { ExperimentReport, reportMarkdown } from '../../experiments/report';
import { MetricSummary } from '../../experiments/statistics';
import { requireScope } from '../acting-user';
import { GraphQLContext } from '../context';
import { checkText } from '../errors';
import {
  ExperimentMetricType,
  ExperimentReportType,
  ExperimentStatusEnum,
  ExperimentType,
} from '../types/experiment.type';
import { StrategyEnum } from '../types/strategy.enum';

const STATUS = { active: ExperimentStatusEnum.ACTIVE, stopped: ExperimentStatusEnum.STOPPED } as const;

function experimentType(e: StoredExperiment): ExperimentType {
  return {
    name: e.name,
    status: STATUS[e.status],
    control: e.control,
    createdAt: e.createdAt,
    stoppedAt: e.stoppedAt,
    variants: e.variants.map((v) => ({
      name: v.name,
      strategy: v.strategy as StrategyEnum,
      share: v.share,
      weights: v.weights
        ? {
            collaborative: v.weights.collaborative ?? null,
            content: v.weights.content ?? null,
            statistical: v.weights.statistical ?? null,
          }
        : null,
      diversity: v.diversity,
    })),
  };
}

function metricType(m: MetricSummary): ExperimentMetricType {
  const vs = m.vsControl;
  return {
    value: m.value,
    ciLow: m.ci?.[0] ?? null,
    ciHigh: m.ci?.[1] ?? null,
    n: m.items,
    difference: vs?.difference ?? null,
    differenceCiLow: vs?.differenceCi?.[0] ?? null,
    differenceCiHigh: vs?.differenceCi?.[1] ?? null,
    lift: vs?.lift ?? null,
    pValue: vs?.pValue ?? null,
    pValueIid: vs?.pValueIid ?? null,
  };
}

function reportType(r: ExperimentReport): ExperimentReportType {
  return {
    experiment: r.experiment,
    status: STATUS[r.status],
    control: r.control,
    since: new Date(r.window.since),
    until: new Date(r.window.until),
    variants: r.variants.map((v) => ({
      variant: v.variant,
      isControl: v.isControl,
      users: v.users,
      lists: v.lists,
      impressions: v.impressions,
      clicks: v.clicks,
      watchedThrough: v.watchedThrough,
      ctr: metricType(v.ctr),
      watchThrough: metricType(v.watchThrough),
      ndcg10: metricType(v.ndcg10),
    })),
    markdown: reportMarkdown(r),
  };
}

/**
 * Reading experiments and their reports: aggregates only, but the integrator's business, so a service
 * key with the `read` scope is needed (defining and stopping one is the CLI's, on the database).
 */
@Resolver()
export class ExperimentResolver {
  @Query(() => [ExperimentType], {
    description:
      'Every A/B experiment, newest first. Needs a service key with the read scope (UNAUTHENTICATED ' +
      'without one, FORBIDDEN with an end-user token or without the scope).',
  })
  async experiments(@Ctx() context: GraphQLContext): Promise<ExperimentType[]> {
    await requireScope(context, 'read');
    return (await context.services.experiments.list()).map(experimentType);
  }

  @Query(() => ExperimentReportType, {
    description:
      'Per-variant online metrics of an experiment over [since, until) (default: its whole run): lists, ' +
      'impressions, CTR, watch-through and NDCG@10 with 95% intervals, and each variant against control ' +
      '(difference, lift, p-value). Needs a service key with the read scope (UNAUTHENTICATED, FORBIDDEN); ' +
      'NOT_FOUND for an unknown name; BAD_USER_INPUT when since ≥ until.',
  })
  async experimentReport(
    @Arg('name', { description: 'The experiment’s name.' }) name: string,
    @Ctx() context: GraphQLContext,
    @Arg('since', () => Date, { nullable: true, description: 'Default: when the experiment was created.' })
    since?: Date | null,
    @Arg('until', () => Date, { nullable: true, description: 'Default: when it was stopped, or now.' })
    until?: Date | null,
  ): Promise<ExperimentReportType> {
    await requireScope(context, 'read');
    checkText(name, 'name');
    return reportType(await context.services.experiments.report(name, { since, until }));
  }
}
