import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { StoredExperiment } from '../../experiments/store';
import { ExperimentReport, reportMarkdown } from '../../experiments/report';
import { MetricSummary } from '../../experiments/statistics';
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
 * Reading experiments and their reports. Aggregates only, no user's data: open to any caller until
 * service keys exist, when they belong behind the `read` scope (see the README).
 */
@Resolver()
export class ExperimentResolver {
  @Query(() => [ExperimentType], { description: 'Every A/B experiment, newest first.' })
  async experiments(@Ctx() context: GraphQLContext): Promise<ExperimentType[]> {
    return (await context.services.experiments.list()).map(experimentType);
  }

  @Query(() => ExperimentReportType, {
    description:
      'Per-variant online metrics of an experiment over [since, until) (default: its whole run): lists, ' +
      'impressions, CTR, watch-through and NDCG@10 with 95% intervals, and each variant against control ' +
      '(difference, lift, p-value). NOT_FOUND for an unknown name; BAD_USER_INPUT when since ≥ until.',
  })
  async experimentReport(
    @Arg('name', { description: 'The experiment’s name.' }) name: string,
    @Ctx() context: GraphQLContext,
    @Arg('since', () => Date, { nullable: true, description: 'Default: when the experiment was created.' })
    since?: Date | null,
    @Arg('until', () => Date, { nullable: true, description: 'Default: when it was stopped, or now.' })
    until?: Date | null,
  ): Promise<ExperimentReportType> {
    checkText(name, 'name');
    return reportType(await context.services.experiments.report(name, { since, until }));
  }
}
