import { Arg, Ctx, FieldResolver, Float, Int, Query, Resolver, Root } from 'type-graphql';
import { GraphQLContext } from '../context';
import { checkPageSize, checkText, clientError, pageSize } from '../errors';
import { decodeCursor, encodeCursor, MovieConnection } from '../types/connection';
import { MovieFilterInput } from '../types/movie-filter.input';
import { MovieType } from '../types/movie.type';
import { BayesianRatingType, ScoredMovieType } from '../types/discovery.type';

@Resolver(() => MovieType)
export class MovieResolver {
  @Query(() => MovieType, { nullable: true, description: 'A movie by its MovieLens id; null when unknown.' })
  async movie(
    @Arg('id', () => Int, { description: 'The MovieLens movie id.' }) id: number,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<MovieType | null> {
    return loaders.movie.load(id);
  }

  @Query(() => MovieConnection, {
    description:
      'The catalog, filtered, in id order, cursor-paginated. BAD_USER_INPUT for a filter outside its ' +
      'bounds, a page size outside 1 to 100 or a cursor this API did not issue.',
  })
  async movies(
    @Ctx() { services, loaders }: GraphQLContext,
    @Arg('filter', () => MovieFilterInput, { nullable: true, description: 'Conditions; none lists all.' })
    filter?: MovieFilterInput | null,
    @Arg('first', () => Int, { defaultValue: 20, description: pageSize(20) }) first = 20,
    @Arg('after', () => String, {
      nullable: true,
      description: 'The endCursor of the previous page; omitted for the first page.',
    })
    after?: string | null,
  ): Promise<MovieConnection> {
    checkPageSize(first);
    checkText(filter?.genre, 'filter.genre');
    checkText(filter?.titleContains, 'filter.titleContains');
    const afterId = after ? decodeCursor('movie', after) : null;
    if (after && afterId === null)
      throw clientError('BAD_USER_INPUT', 'after is not a cursor this API issued');
    const page = await services.catalog.page(filter ?? {}, first, afterId);
    for (const movie of page.movies) loaders.movie.prime(movie.id, movie);
    const edges = page.movies.map((node) => ({ cursor: encodeCursor('movie', node.id), node }));
    return {
      edges,
      pageInfo: {
        hasNextPage: page.hasNextPage,
        endCursor: edges.length ? edges[edges.length - 1].cursor : null,
      },
    };
  }

  @FieldResolver(() => Int, { description: 'How many people rated it.' })
  async ratingsCount(@Root() movie: MovieType, @Ctx() { loaders }: GraphQLContext): Promise<number> {
    return (await loaders.ratingSummary.load(movie.id)).count;
  }

  @FieldResolver(() => Float, { nullable: true, description: 'Plain mean rating; null when unrated.' })
  async averageRating(@Root() movie: MovieType, @Ctx() { loaders }: GraphQLContext): Promise<number | null> {
    return (await loaders.ratingSummary.load(movie.id)).average;
  }

  @FieldResolver(() => BayesianRatingType, {
    nullable: true,
    description: 'Bayesian weighted rating with bounds (the statistical engine); null when unrated.',
  })
  async bayesianRating(
    @Root() movie: MovieType,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<BayesianRatingType | null> {
    return loaders.bayesianRating.load(movie.id);
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description:
      'The authenticated viewer’s predicted rating (collaborative model); null without a token or for ' +
      'a movie the model does not know. SERVICE_UNAVAILABLE before the first model is trained; ' +
      'UNAUTHENTICATED for a malformed, unknown or revoked token.',
  })
  async predictedRating(
    @Root() movie: MovieType,
    @Ctx() { loaders }: GraphQLContext,
  ): Promise<number | null> {
    return loaders.predictedRating.load(movie.id);
  }

  @FieldResolver(() => [ScoredMovieType], {
    description:
      'Movies closest in content, this one excluded. SERVICE_UNAVAILABLE while the content index is ' +
      'building or with CONTENT_ENGINE=false.',
  })
  async similar(
    @Root() movie: MovieType,
    @Ctx() { loaders }: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 10, description: pageSize(10) }) first: number,
  ): Promise<ScoredMovieType[]> {
    checkPageSize(first);
    return loaders.similar.load({ movieId: movie.id, first });
  }
}
