import { Arg, Ctx, Float, Int, Mutation, Resolver } from 'type-graphql';
import { GraphQLContext, requireViewer } from '../context';
import { OnboardPayload, RatingType } from '../types/user.type';
import { RatingInput } from '../types/rating.input';
import { RecommendationArgs } from '../types/recommendation-args';
import { StrategyEnum } from '../types/strategy.enum';
import { recommendFor } from './recommendation.resolver';

@Resolver()
export class MutationResolver {
  @Mutation(() => OnboardPayload, {
    description:
      'Creates a user from their first ratings; returns their token and first recommendations. ' +
      'BAD_USER_INPUT for no ratings, more than 500, a movie rated twice or a rating off the scale; ' +
      'NOT_FOUND for an unknown movie. Nothing is written when it fails.',
  })
  async onboard(
    @Arg('ratings', () => [RatingInput], {
      validate: false,
      description: '1 to 500 ratings, each movie at most once.',
    })
    ratings: RatingInput[],
    @Ctx() context: GraphQLContext,
  ): Promise<OnboardPayload> {
    const { userId, token } = await context.services.users.onboard(ratings);
    const args = Object.assign(new RecommendationArgs(), { strategy: StrategyEnum.HYBRID, first: 20 });
    return { user: { id: userId }, token, recommendations: await recommendFor(context, userId, args) };
  }

  @Mutation(() => RatingType, {
    description:
      'Rates (or re-rates) a movie as the authenticated user. UNAUTHENTICATED without a valid token; ' +
      'NOT_FOUND for an unknown movie; BAD_USER_INPUT for a rating off the scale.',
  })
  async rate(
    @Arg('movieId', () => Int, { description: 'The movie rated (MovieLens id).' }) movieId: number,
    @Arg('rating', () => Float, { description: '0.5 to 5 in half steps.' }) rating: number,
    @Ctx() context: GraphQLContext,
  ): Promise<RatingType> {
    const viewer = await requireViewer(context);
    const saved = await context.services.ratings.rate(viewer.userId, movieId, rating);
    context.loaders.userRatingsCount.clear(viewer.userId);
    context.loaders.ratingSummary.clear(movieId);
    return saved;
  }

  @Mutation(() => Boolean, {
    description:
      'Removes the authenticated user’s rating; false when there was none. UNAUTHENTICATED without a ' +
      'valid token; NOT_FOUND for an unknown movie.',
  })
  async removeRating(
    @Arg('movieId', () => Int, { description: 'The movie whose rating goes (MovieLens id).' })
    movieId: number,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    const viewer = await requireViewer(context);
    const removed = await context.services.ratings.remove(viewer.userId, movieId);
    context.loaders.userRatingsCount.clear(viewer.userId);
    context.loaders.ratingSummary.clear(movieId);
    return removed;
  }
}
