import { Arg, Args, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { effectiveSettings } from '../../experiments/precedence';
import { Recommendation, RecommendationList } from '../../orchestrator/orchestrator';
import { readRatingsBeforeAccess, resolveActingUser, USER_ARGUMENT_DOCS } from '../acting-user';
import { GraphQLContext } from '../context';
import { checkPageSize, checkText } from '../errors';
import { MovieType } from '../types/movie.type';
import { RecommendationArgs } from '../types/recommendation-args';
import { Explanation, RecommendationType } from '../types/recommendation.type';
import { StrategyEnum } from '../types/strategy.enum';

function toType(list: RecommendationList, item: Recommendation, movie: MovieType): RecommendationType {
  return {
    movie,
    rank: item.rank,
    listId: list.listId,
    experiment: list.experiment,
    variant: list.variant,
    score: item.score,
    strategyUsed: item.strategyUsed as StrategyEnum,
    engineScores: item.engineScores,
    explanation: { text: item.explanation.text, basedOnIds: item.explanation.movieIds },
  };
}

/** Shared by Query.recommendations, User.recommendations and onboard. */
export async function recommendFor(
  context: GraphQLContext,
  userId: number,
  args: RecommendationArgs,
): Promise<RecommendationType[]> {
  checkPageSize(args.first);
  checkText(args.genres, 'genres');
  const requested = { strategy: args.strategy, weights: args.weights, diversity: args.diversity };
  const assignment = await context.services.experiments.assignmentFor(userId, requested);
  const settings = effectiveSettings(requested, assignment);
  const list = await context.services.orchestrator.recommend({
    userId,
    strategy: settings.strategy,
    first: args.first,
    genres: args.genres ?? undefined,
    weights: settings.weights,
    diversity: settings.diversity,
    attribution: settings.attribution,
  });
  const movies = await context.loaders.movie.loadMany(list.items.map((item) => item.movieId));
  const found: RecommendationType[] = [];
  list.items.forEach((item, i) => {
    const movie = movies[i];
    // A movie deleted since the list was built is left out rather than failing the whole list.
    if (movie && !(movie instanceof Error)) found.push(toType(list, item, movie as MovieType));
  });
  return found;
}

@Resolver(() => RecommendationType)
export class RecommendationResolver {
  @Query(() => [RecommendationType], {
    description:
      'Personal recommendations for the user named by userId or externalId, best first, with ' +
      'explanations. NOT_FOUND for an unknown user or another token’s user; BAD_USER_INPUT for an ' +
      'argument outside its bounds; SERVICE_UNAVAILABLE when the one engine a non-HYBRID strategy ' +
      'needs is not ready (HYBRID leaves it out instead).',
  })
  async recommendations(
    @Args(() => RecommendationArgs) args: RecommendationArgs,
    @Ctx() context: GraphQLContext,
    @Arg('userId', () => Int, { nullable: true, description: USER_ARGUMENT_DOCS.readUserId })
    userId?: number | null,
    @Arg('externalId', () => String, { nullable: true, description: USER_ARGUMENT_DOCS.readExternalId })
    externalId?: string | null,
  ): Promise<RecommendationType[]> {
    await readRatingsBeforeAccess(context, { userId, externalId });
    const reader = await resolveActingUser(context, { userId, externalId }, 'read');
    return recommendFor(context, reader, args);
  }
}

@Resolver(() => Explanation)
export class ExplanationResolver {
  @FieldResolver(() => [MovieType], { description: 'The movies the explanation rests on.' })
  async basedOn(@Root() explanation: Explanation, @Ctx() { loaders }: GraphQLContext): Promise<MovieType[]> {
    const movies = await loaders.movie.loadMany(explanation.basedOnIds);
    return movies.filter((m): m is MovieType => m !== null && !(m instanceof Error));
  }
}
