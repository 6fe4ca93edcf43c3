import { ArrayMaxSize, IsOptional, Max, Min } from 'class-validator';
import { ArgsType, Field, Float, InputType, Int } from 'type-graphql';
import { pageSize } from '../errors';
import { StrategyEnum } from './strategy.enum';

@InputType({
  description:
    'Relative engine weights; missing ones keep the weights in force (the specified collaborative 0.5, ' +
    'content 0.3, statistical 0.2 unless HYBRID_WEIGHTS=calibrated; see hybridWeights), then all are ' +
    'rescaled to sum 1. BAD_USER_INPUT for a weight outside 0 to 1000 or all of them zero.',
})
export class EngineWeightsInput {
  @Field(() => Float, { nullable: true, description: 'The collaborative engine’s weight, 0 to 1000.' })
  collaborative?: number | null;

  @Field(() => Float, { nullable: true, description: 'The content engine’s weight, 0 to 1000.' })
  content?: number | null;

  @Field(() => Float, { nullable: true, description: 'The statistical engine’s weight, 0 to 1000.' })
  statistical?: number | null;
}

@ArgsType()
export class RecommendationArgs {
  @Field(() => StrategyEnum, {
    nullable: true,
    description:
      'The engine(s) to rank with; HYBRID when omitted. Omitting strategy, weights and diversity lets an ' +
      'active A/B experiment choose them (the list then names its experiment and variant); setting any of ' +
      'them opts this request out of the experiment.',
  })
  strategy?: StrategyEnum | null;

  @Field(() => Int, { defaultValue: 20, description: pageSize(20) })
  first: number = 20;

  @Field(() => [String], {
    nullable: true,
    description: 'Only movies having any of these genres; at most 20.',
  })
  @IsOptional()
  @ArrayMaxSize(20)
  genres?: string[] | null;

  @Field(() => EngineWeightsInput, {
    nullable: true,
    description: 'How HYBRID weighs its engines for this request; ignored by the other strategies.',
  })
  weights?: EngineWeightsInput | null;

  @Field(() => Float, {
    nullable: true,
    description: '0 (default) keeps relevance order; up to 1 favours variety. 0 to 1.',
  })
  @IsOptional()
  @Min(0)
  @Max(1)
  diversity?: number | null;
}
