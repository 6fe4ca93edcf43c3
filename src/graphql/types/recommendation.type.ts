import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { MovieType } from './movie.type';
import { StrategyEnum } from './strategy.enum';

@ObjectType({
  simpleResolvers: true,
  description: 'Each engine’s min-max normalised score in [0, 1]; null where it did not take part.',
})
export class EngineScores {
  @Field(() => Float, { nullable: true })
  collaborative: number | null;

  @Field(() => Float, { nullable: true })
  content: number | null;

  @Field(() => Float, { nullable: true })
  statistical: number | null;
}

@ObjectType({ simpleResolvers: true })
export class Explanation {
  @Field({ description: 'One short sentence, e.g. "Because you rated Heat 5★".' })
  text: string;

  /** Resolved to movies by a field resolver. */
  basedOnIds: number[];
}

@ObjectType('Recommendation', { simpleResolvers: true })
export class RecommendationType {
  /**
   * Loaded for the whole list at once (recommendFor): a field resolver per item made every item an
   * object with a pending promise, which graphql-js then awaits one by one.
   */
  @Field(() => MovieType)
  movie: MovieType;

  @Field(() => Int, { description: 'The position in the list: 1 for the best.' })
  rank: number;

  @Field(() => ID, {
    description:
      'The id of the list this item belongs to (the same on every item of one list): send it with ' +
      'recordEvents so feedback is attributed to the list and strategy that showed the movie. A list ' +
      'served again from the cache (same request, same ratings, within 30–60 s) keeps its id.',
  })
  listId: string;

  @Field(() => String, {
    nullable: true,
    description: 'The A/B experiment that chose this list’s parameters; null outside experiments.',
  })
  experiment: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'The experiment’s variant this user is in; null outside experiments.',
  })
  variant: string | null;

  @Field(() => Float, { description: 'The merged score in [0, 1].' })
  score: number;

  @Field(() => StrategyEnum, { description: 'The strategy that actually ran (STATISTICAL for cold start).' })
  strategyUsed: StrategyEnum;

  @Field(() => EngineScores)
  engineScores: EngineScores;

  @Field(() => Explanation)
  explanation: Explanation;
}
