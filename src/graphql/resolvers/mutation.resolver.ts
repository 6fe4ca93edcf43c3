import { Arg, Ctx, Float, Int, Mutation, Resolver } from 'type-graphql';
import { GraphQLContext, requireViewer } from '../context';
import { OnboardPayload, RatingType } from '../types/user.type';
import { EventInput, RECORD_EVENTS_DESCRIPTION, RecordEventsResult } from '../types/feedback.type';
import { RatingInput } from '../types/rating.input';
import { RecommendationArgs } from '../types/recommendation-args';
import { StrategyEnum } from '../types/strategy.enum';
import { recommendFor } from './recommendation.resolver';

@Resolver()
export class MutationResolver {
  @Mutation(() => OnboardPayload, {
    description: 'Creates a user from their first ratings; returns their token and first recommendations.',
  })
  async onboard(
    @Arg('ratings', () => [RatingInput], { validate: false }) ratings: RatingInput[],
    @Ctx() context: GraphQLContext,
  ): Promise<OnboardPayload> {
    const { userId, token } = await context.services.users.onboard(ratings);
    const args = Object.assign(new RecommendationArgs(), { strategy: StrategyEnum.HYBRID, first: 20 });
    return { user: { id: userId }, token, recommendations: await recommendFor(context, userId, args) };
  }

  @Mutation(() => RatingType, { description: 'Rates (or re-rates) a movie as the authenticated user.' })
  async rate(
    @Arg('movieId', () => Int) movieId: number,
    @Arg('rating', () => Float) rating: number,
    @Ctx() context: GraphQLContext,
  ): Promise<RatingType> {
    const viewer = await requireViewer(context);
    const saved = await context.services.ratings.rate(viewer.userId, movieId, rating);
    context.loaders.userRatingsCount.clear(viewer.userId);
    context.loaders.ratingSummary.clear(movieId);
    return saved;
  }

  @Mutation(() => Boolean, {
    description: 'Removes the authenticated user’s rating; false when there was none.',
  })
  async removeRating(
    @Arg('movieId', () => Int) movieId: number,
    @Ctx() context: GraphQLContext,
  ): Promise<boolean> {
    const viewer = await requireViewer(context);
    const removed = await context.services.ratings.remove(viewer.userId, movieId);
    context.loaders.userRatingsCount.clear(viewer.userId);
    context.loaders.ratingSummary.clear(movieId);
    return removed;
  }

  @Mutation(() => RecordEventsResult, { description: RECORD_EVENTS_DESCRIPTION })
  async recordEvents(
    @Arg('events', () => [EventInput], { validate: false }) events: EventInput[],
    @Ctx() context: GraphQLContext,
  ): Promise<RecordEventsResult> {
    const viewer = await requireViewer(context);
    return context.services.feedback.record(viewer.userId, events);
  }
}
