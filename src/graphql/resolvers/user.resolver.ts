import { Arg, Args, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { assertCanRead, GraphQLContext } from '../context';
import { checkPageSize, clientError } from '../errors';
import { MovieType } from '../types/movie.type';
import { RecommendationArgs } from '../types/recommendation-args';
import { RecommendationType } from '../types/recommendation.type';
import { RatingConnection, RatingType, UserType } from '../types/user.type';
import { recommendFor } from './recommendation.resolver';

function encodeRatingCursor(rating: RatingType): string {
  return Buffer.from(`rating:${rating.ratedAt.toISOString()}:${rating.movieId}`).toString('base64url');
}

function decodeRatingCursor(cursor: string): { ratedAt: Date; movieId: number } | null {
  const match = /^rating:(.+):(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) return null;
  const ratedAt = new Date(match[1]);
  return Number.isNaN(ratedAt.getTime()) ? null : { ratedAt, movieId: Number(match[2]) };
}

@Resolver(() => UserType)
export class UserResolver {
  @Query(() => UserType, {
    nullable: true,
    description: 'A user; onboarded users are private to their token, imported ones are public.',
  })
  async user(@Arg('id', () => Int) id: number, @Ctx() context: GraphQLContext): Promise<UserType | null> {
    if (!(await context.loaders.user.load(id))) return null;
    await assertCanRead(context, id);
    return { id };
  }

  @Query(() => UserType, { nullable: true, description: 'The user the bearer token belongs to.' })
  async me(@Ctx() context: GraphQLContext): Promise<UserType | null> {
    const viewer = await context.viewer();
    return viewer ? { id: viewer.userId } : null;
  }

  @FieldResolver(() => Int)
  async ratingsCount(@Root() user: UserType, @Ctx() { loaders }: GraphQLContext): Promise<number> {
    return loaders.userRatingsCount.load(user.id);
  }

  @FieldResolver(() => RatingConnection, { description: 'Newest first.' })
  async ratings(
    @Root() user: UserType,
    @Ctx() { services }: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
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

  @FieldResolver(() => [RecommendationType])
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
  @FieldResolver(() => MovieType)
  async movie(@Root() rating: RatingType, @Ctx() { loaders }: GraphQLContext): Promise<MovieType> {
    return (await loaders.movie.load(rating.movieId)) as MovieType;
  }
}
