import { Arg, Args, Ctx, Float, Int, Mutation, Resolver } from 'type-graphql';
import { requireScope, resolveActingUser } from '../acting-user';
import { GraphQLContext } from '../context';
import { clientError } from '../errors';
import { OnboardPayload, RatingType, TokenPayload, UserType } from '../types/user.type';
import { MAX_EVENTS_PER_BATCH } from '../../services/feedback-service';
import { EventInput, RECORD_EVENTS_DESCRIPTION, RecordEventsResult } from '../types/feedback.type';
import { ActingUserArgs } from '../types/acting-user.args';
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
      'Rates (or re-rates) a movie as the authenticated user, or, with a service key holding the write ' +
      'scope, as the user it names. NOT_FOUND for an unknown movie; BAD_USER_INPUT for a rating off the ' +
      'scale; UNAUTHENTICATED or FORBIDDEN as userId describes.',
  })
  async rate(
    @Arg('movieId', () => Int, { description: 'The movie rated (MovieLens id).' }) movieId: number,
    @Arg('rating', () => Float, { description: '0.5 to 5 in half steps.' }) rating: number,
    @Ctx() context: GraphQLContext,
    @Args(() => ActingUserArgs) actingUser: ActingUserArgs,
  ): Promise<RatingType> {
    const actor = await resolveActingUser(context, actingUser, 'write');
    const saved = await context.services.ratings.rate(actor, movieId, rating);
    context.loaders.userRatingsCount.clear(actor);
    context.loaders.ratingSummary.clear(movieId);
    return saved;
  }

  @Mutation(() => Boolean, {
    description:
      'Removes the user’s rating (the authenticated user’s, or with a service key the named user’s); ' +
      'false when there was none. NOT_FOUND for an unknown movie; UNAUTHENTICATED or FORBIDDEN as ' +
      'userId describes.',
  })
  async removeRating(
    @Arg('movieId', () => Int, { description: 'The movie whose rating goes (MovieLens id).' })
    movieId: number,
    @Ctx() context: GraphQLContext,
    @Args(() => ActingUserArgs) actingUser: ActingUserArgs,
  ): Promise<boolean> {
    const actor = await resolveActingUser(context, actingUser, 'write');
    const removed = await context.services.ratings.remove(actor, movieId);
    context.loaders.userRatingsCount.clear(actor);
    context.loaders.ratingSummary.clear(movieId);
    return removed;
  }

  @Mutation(() => UserType, {
    description:
      'The user with this external id, created without ratings or token when there is none (a private ' +
      'user); calling it again returns the same user. Needs a service key with the write scope ' +
      '(UNAUTHENTICATED without a credential, FORBIDDEN with an end-user token or without the scope).',
  })
  async upsertUser(
    @Arg('externalId', () => String, {
      description:
        'The integrator’s id for the user: any text of 1–256 characters without control characters ' +
        '(else BAD_USER_INPUT), unique across users.',
    })
    externalId: string,
    @Ctx() context: GraphQLContext,
  ): Promise<UserType> {
    await requireScope(context, 'write');
    const { userId } = await context.services.users.upsertByExternalId(externalId);
    return { id: userId };
  }

  @Mutation(() => TokenPayload, {
    description:
      'Issues a new bearer token for the user and invalidates the one they had. With an end-user token: ' +
      'its own user, and the token used for this request stops working. With a service key holding the ' +
      'write scope: the private user it names (imported demo profiles cannot hold tokens: FORBIDDEN), ' +
      'e.g. to hand a user created by upsertUser a token for a web app.',
  })
  async rotateToken(
    @Ctx() context: GraphQLContext,
    @Args(() => ActingUserArgs) actingUser: ActingUserArgs,
  ): Promise<TokenPayload> {
    const actor = await resolveActingUser(context, actingUser, 'write');
    const user = await context.loaders.user.load(actor);
    if (!user?.isPrivate)
      throw clientError('FORBIDDEN', 'imported demo profiles are public and cannot hold a token');
    return { user: { id: actor }, token: await context.services.users.rotateToken(actor) };
  }

  @Mutation(() => Boolean, {
    description:
      'Revokes the user’s bearer token: it fails (UNAUTHENTICATED) from the next request on, and the ' +
      'user stays private. With an end-user token: its own (this request’s) token; with a service key ' +
      'holding the write scope: the named user’s. False when the user had no token.',
  })
  async revokeToken(
    @Ctx() context: GraphQLContext,
    @Args(() => ActingUserArgs) actingUser: ActingUserArgs,
  ): Promise<boolean> {
    const actor = await resolveActingUser(context, actingUser, 'write');
    return context.services.users.revokeToken(actor);
  }

  @Mutation(() => RecordEventsResult, { description: RECORD_EVENTS_DESCRIPTION })
  async recordEvents(
    @Arg('events', () => [EventInput], {
      validate: false,
      description: `The events, 1 to ${MAX_EVENTS_PER_BATCH}, validated all together before any is written.`,
    })
    events: EventInput[],
    @Ctx() context: GraphQLContext,
    @Args(() => ActingUserArgs) actingUser: ActingUserArgs,
  ): Promise<RecordEventsResult> {
    const actor = await resolveActingUser(context, actingUser, 'write');
    return context.services.feedback.record(actor, events);
  }
}
