import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';
import { EngineScores } from './recommendation.type';
import { StrategyEnum } from './strategy.enum';

export enum ExperimentStatusEnum {
  ACTIVE = 'ACTIVE',
  STOPPED = 'STOPPED',
}

registerEnumType(ExperimentStatusEnum, {
  name: 'ExperimentStatus',
  description: 'Whether an experiment still assigns users.',
  valuesConfig: {
    ACTIVE: { description: 'Assigning users and shaping their lists (at most one experiment at a time).' },
    STOPPED: { description: 'Stopped for good: lists no longer follow it; its report stays.' },
  },
});

@ObjectType('ExperimentVariant', { simpleResolvers: true, description: 'One arm of an A/B experiment.' })
export class ExperimentVariantType {
  @Field({ description: 'The variant’s name, unique within its experiment.' })
  name: string;

  @Field(() => StrategyEnum, { description: 'The strategy every list of this variant is built with.' })
  strategy: StrategyEnum;

  @Field(() => Float, { description: 'The fraction of users in this variant; the shares sum to 1.' })
  share: number;

  @Field(() => EngineScores, {
    nullable: true,
    description: 'HYBRID engine weights the variant fixes (null per engine: the weights in force).',
  })
  weights: EngineScores | null;

  @Field(() => Float, { nullable: true, description: 'MMR diversity the variant fixes (null: 0).' })
  diversity: number | null;
}

@ObjectType('Experiment', {
  simpleResolvers: true,
  description:
    'An A/B experiment: each user is assigned a variant by a stable hash of the experiment name and the ' +
    'user id (sticky), and requests that leave strategy, weights and diversity open get its settings.',
})
export class ExperimentType {
  @Field({ description: 'The experiment’s unique name (also the salt of its assignment hash).' })
  name: string;

  @Field(() => ExperimentStatusEnum, { description: 'ACTIVE or STOPPED.' })
  status: ExperimentStatusEnum;

  @Field({ description: 'The variant the others are compared against.' })
  control: string;

  @Field(() => [ExperimentVariantType], { description: 'Its variants, control included.' })
  variants: ExperimentVariantType[];

  @Field(() => Date, { description: 'When it was created (and started assigning users).' })
  createdAt: Date;

  @Field(() => Date, { nullable: true, description: 'When it was stopped; null while active.' })
  stoppedAt: Date | null;
}

@ObjectType('ExperimentMetric', {
  simpleResolvers: true,
  description:
    'A rate with its 95% interval (user-clustered: Wilson at the effective sample size for proportions, ' +
    'normal for NDCG) and, for non-control variants, the difference against control with its p-value.',
})
export class ExperimentMetricType {
  @Field(() => Float, { nullable: true, description: 'Null without data.' })
  value: number | null;

  @Field(() => Float, { nullable: true, description: 'Lower end of the 95% interval of value.' })
  ciLow: number | null;

  @Field(() => Float, { nullable: true, description: 'Upper end of the 95% interval of value.' })
  ciHigh: number | null;

  @Field(() => Int, {
    description: 'The denominator: impressions (CTR), clicks (watch-through), lists (NDCG@10).',
  })
  n: number;

  @Field(() => Float, { nullable: true, description: 'This variant minus control.' })
  difference: number | null;

  @Field(() => Float, { nullable: true, description: 'Lower end of the 95% interval of difference.' })
  differenceCiLow: number | null;

  @Field(() => Float, { nullable: true, description: 'Upper end of the 95% interval of difference.' })
  differenceCiHigh: number | null;

  @Field(() => Float, { nullable: true, description: 'difference / control value.' })
  lift: number | null;

  @Field(() => Float, {
    nullable: true,
    description: 'Two-sided z-test of the difference with user-clustered (delta method) variances.',
  })
  pValue: number | null;

  @Field(() => Float, {
    nullable: true,
    description:
      'The same test assuming independent items (pooled two-proportion z-test); too small when users differ.',
  })
  pValueIid: number | null;
}

@ObjectType('ExperimentVariantReport', {
  simpleResolvers: true,
  description: 'What one variant served and what its users did with it, over the report’s window.',
})
export class ExperimentVariantReportType {
  @Field({ description: 'The variant’s name.' })
  variant: string;

  @Field({ description: 'Whether this is the control the others are compared against.' })
  isControl: boolean;

  @Field(() => Int, { description: 'Users served at least one list in the window.' })
  users: number;

  @Field(() => Int, { description: 'Lists served in the window.' })
  lists: number;

  @Field(() => Int, { description: 'Distinct (list, movie) items the user sent any event for.' })
  impressions: number;

  @Field(() => Int, { description: 'Items clicked or watched.' })
  clicks: number;

  @Field(() => Int, { description: 'Items watched to at least 80%.' })
  watchedThrough: number;

  @Field(() => ExperimentMetricType, { description: 'clicks / impressions.' })
  ctr: ExperimentMetricType;

  @Field(() => ExperimentMetricType, { description: 'watched through / clicks.' })
  watchThrough: ExperimentMetricType;

  @Field(() => ExperimentMetricType, {
    description:
      'NDCG@10 of each list against the user’s positive events in the 24 h after it (lists with one).',
  })
  ndcg10: ExperimentMetricType;
}

@ObjectType('ExperimentReport', {
  simpleResolvers: true,
  description: 'Online metrics per variant of one experiment over a window, with intervals and p-values.',
})
export class ExperimentReportType {
  @Field({ description: 'The experiment’s name.' })
  experiment: string;

  @Field(() => ExperimentStatusEnum, { description: 'Its status now.' })
  status: ExperimentStatusEnum;

  @Field({ description: 'The control variant’s name.' })
  control: string;

  @Field(() => Date, { description: 'Lists served from here (inclusive)…' })
  since: Date;

  @Field(() => Date, { description: '…up to here (exclusive); events count up to here too.' })
  until: Date;

  @Field(() => [ExperimentVariantReportType], { description: 'One report per variant, control first.' })
  variants: ExperimentVariantReportType[];

  @Field({
    description: 'The same report as a Markdown table (what `npm run experiments -- report` prints).',
  })
  markdown: string;
}
