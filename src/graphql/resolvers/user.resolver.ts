import { Arg, Args, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { findReadableUser } from '../acting-user';
import { GraphQLContext } from '../context';
import { checkPageSize, clientError, MAX_ID, pageSize } from '../errors';
import { MovieType } from '../types/movie.type';
import { RecommendationArgs } from '../types/recommendation-args';
import { RecommendationType } from '../types/recommendation.type';
import { RatingConnection, RatingType, UserType } from '../types/user.type';
import { recommendFor } from './recommendation.resolver';

function encodeRatingCursor(rating: RatingType): string {
  return Buffer.from(`rating:${rating.ratedAt.toISOString()}:${rating.movieId}`).toString('base64url');
}

function decodeRatingCursor(cursor: string): { ratedAt: Date; movieId: number } | null {
  const match = /^rating:(.+):(\d{1,10})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) return null;
  const ratedAt = new Date(match[1]);
  const movieId = Number(match[2]);
  // Only what this API can have issued: a PostgreSQL integer id and a timestamp of years 1–9999
  // (JavaScript dates reach far beyond what timestamptz stores).
  const year = ratedAt.getUTCFullYear();
  if (Number.isNaN(year) || year < 1 || year > 9999 || movieId > MAX_ID) return null;
  return { ratedAt, movieId };
}

@Resolver(() => UserType)
export class UserResolver {
  @Query(() => UserType, {
    nullable: true,
    description:
      'A user, by id or external id (exactly one: BAD_USER_INPUT otherwise). Onboarded users and users ' +
      'created by a service key are private to their token and to service keys with the read scope ' +
      '(a key without it: FORBIDDEN); imported ones are public. Null when unknown or private to ' +
      'someone else (the two are indistinguishable on purpose).',
  })
  async user(
    @Ctx() context: GraphQLContext,
    @Arg('id', () => Int, { nullable: true, description: 'The user’s id (see userId of recommendations).' })
    id?: number | null,
    @Arg('externalId', () => String, {
      nullable: true,
      description:
        'The user by the integrator’s id (see upsertUser): 1–256 characters, no control characters ' +
        '(else BAD_USER_INPUT).',
    })
    externalId?: string | null,
  ): Promise<UserType | null> {
    const userId = await findReadableUser(context, { userId: id, externalId });
    return userId === null ? null : { id: userId };
  }

  @Query(() => UserType, {
    nullable: true,
    description:
      'The user the bearer token belongs to; null without a token and for a service key. ' +
      'UNAUTHENTICATED for a malformed, unknown or revoked token.',
  })
  async me(@Ctx() context: GraphQLContext): Promise<UserType | null> {
    const viewer = await context.viewer();
    return viewer ? { id: viewer.userId } : null;
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'The integrator’s id for this user (upsertUser); null for users created otherwise.',
  })
  async externalId(@Root() user: UserType, @Ctx() { loaders }: GraphQLContext): Promise<string | null> {
    return (await loaders.user.load(user.id))?.externalId ?? null;
  }

  @FieldResolver(() => Int, { description: 'How many movies they rated.' })
  async ratingsCount(@Root() user: UserType, @Ctx() { loaders }: GraphQLContext): Promise<number> {
    return loaders.userRatingsCount.load(user.id);
  }

  @FieldResolver(() => RatingConnection, {
    description:
      'Their ratings, newest first, cursor-paginated. BAD_USER_INPUT for a page size outside 1 to 100 ' +
      'or a cursor this API did not issue.',
  })
  async ratings(
    @Root() user: UserType,
    @Ctx() { services }: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 20, description: pageSize(20) }) first: number,
    @Arg('after', () => String, {
      nullable: true,
      description: 'The endCursor of the previous page; omitted for the first page.',
    })
    after?: string | null,
  ): Promise<RatingConnection> {
    checkPageSize(first);
    const cursor = after ? decodeRatingCursor(after) : null;
    if (after && !cursor) throw clientError('BAD_USER_INPUT', 'after is not a cursor this API issued');
    const page = await services.ratings.page(user.id, first, cursor);
    const edges = page.ratings.map((node) => ({ cursor: encodeRatingCursor(node), node }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: edges.length ? edges[edges.length - 1].cursor : null,
      },
    };
  }

  @FieldResolver(() => [RecommendationType], {
    description:
      'Their recommendations, as Query.recommendations: BAD_USER_INPUT for an argument outside its ' +
      'bounds; SERVICE_UNAVAILABLE when the one engine a non-HYBRID strategy needs is not ready.',
  })
  async recommendations(
    @Root() user: UserType,
    @Args(() => RecommendationArgs) args: RecommendationArgs,
    @Ctx() context: GraphQLContext,
  ): Promise<RecommendationType[]> {
    return recommendFor(context, user.id, args);
  }
}

@Resolver(() => RatingType)
export class RatingResolver {
  @FieldResolver(() => MovieType, { description: 'The movie rated.' })
  async movie(@Root() rating: RatingType, @Ctx() { loaders }: GraphQLContext): Promise<MovieType> {
    return (await loaders.movie.load(rating.movieId)) as MovieType;
  }
}
