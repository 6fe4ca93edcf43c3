import { Arg, Args, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { Recommendation } from '../../orchestrator/orchestrator';
import { assertCanRead, GraphQLContext } from '../context';
import { checkPageSize, checkText } from '../errors';
import { MovieType } from '../types/movie.type';
import { RecommendationArgs } from '../types/recommendation-args';
import { Explanation, RecommendationType } from '../types/recommendation.type';
import { StrategyEnum } from '../types/strategy.enum';

function toType(item: Recommendation, movie: MovieType): RecommendationType {
  return {
    movie,
    rank: item.rank,
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
  const list = await context.services.orchestrator.recommend({
    userId,
    strategy: args.strategy,
    first: args.first,
    genres: args.genres ?? undefined,
    weights: args.weights ?? undefined,
    diversity: args.diversity ?? 0,
  });
  const movies = await context.loaders.movie.loadMany(list.items.map((item) => item.movieId));
  const found: RecommendationType[] = [];
  list.items.forEach((item, i) => {
    const movie = movies[i];
    // A movie deleted since the list was built is left out rather than failing the whole list.
    if (movie && !(movie instanceof Error)) found.push(toType(item, movie as MovieType));
  });
  return found;
}

@Resolver(() => RecommendationType)
export class RecommendationResolver {
  @Query(() => [RecommendationType], {
    description:
      'Personal recommendations, best first, with explanations. NOT_FOUND for an unknown user or ' +
      'another token’s user; BAD_USER_INPUT for an argument outside its bounds; SERVICE_UNAVAILABLE ' +
      'when the one engine a non-HYBRID strategy needs is not ready (HYBRID leaves it out instead).',
  })
  async recommendations(
    @Arg('userId', () => Int, {
      description:
        'Whose: an imported (public) user, or the user of the bearer token; another token’s user is NOT_FOUND.',
    })
    userId: number,
    @Args(() => RecommendationArgs) args: RecommendationArgs,
    @Ctx() context: GraphQLContext,
  ): Promise<RecommendationType[]> {
    await assertCanRead(context, userId);
    return recommendFor(context, userId, args);
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
