import { Arg, Ctx, FieldResolver, Float, Int, Query, Resolver, Root } from 'type-graphql';
import { GraphQLContext } from '../context';
import { checkPageSize, checkText, clientError, contentEngineOff, pageSize } from '../errors';
import { ScoredMovieType, TrendingMovieType } from '../types/discovery.type';
import { MovieType } from '../types/movie.type';

function requireContent(context: GraphQLContext) {
  const content = context.services.content;
  if (!content) throw contentEngineOff();
  return content;
}

async function knownMovie(context: GraphQLContext, movieId: number): Promise<void> {
  if (!(await context.loaders.movie.load(movieId)))
    throw clientError('NOT_FOUND', `unknown movie id ${movieId}`);
}

@Resolver()
export class DiscoveryResolver {
  @Query(() => [ScoredMovieType], {
    description:
      'Movies closest in content (embeddings), itself excluded. NOT_FOUND for an unknown movie; ' +
      'SERVICE_UNAVAILABLE while the content index is building, before it holds this movie, or with ' +
      'CONTENT_ENGINE=false.',
  })
  async similarMovies(
    @Arg('movieId', () => Int, { description: 'The movie to start from (MovieLens id).' }) movieId: number,
    @Arg('first', () => Int, { defaultValue: 10, description: pageSize(10) }) first: number,
    @Ctx() context: GraphQLContext,
  ): Promise<ScoredMovieType[]> {
    checkPageSize(first);
    await knownMovie(context, movieId);
    return context.loaders.similar.load({ movieId, first });
  }

  @Query(() => [TrendingMovieType], {
    description:
      'Best rated lately: Bayesian rating over a window ending now (or at the newest rating). ' +
      'An answer is reused for up to TRENDING_CACHE_MAX_AGE_MS (default 10 s; the first request ' +
      'after that still gets it while the next is computed), so a new rating shows here within ' +
      'about that long; `windowEnd` says where the answer’s window ends. ' +
      'BAD_USER_INPUT for an argument out of its range.',
  })
  async trending(
    @Ctx() { services }: GraphQLContext,
    @Arg('genre', () => String, { nullable: true, description: 'Only movies having this genre.' })
    genre?: string | null,
    @Arg('windowDays', () => Int, {
      defaultValue: 30,
      description: 'Length of the window in days, 1 to 36500 (default 30).',
    })
    windowDays = 30,
    @Arg('first', () => Int, { defaultValue: 20, description: pageSize(20) }) first = 20,
    @Arg('halfLifeDays', () => Float, {
      nullable: true,
      description:
        'Exponential decay of older ratings: a rating this many days old counts half. Positive; ' +
        'none by default.',
    })
    halfLifeDays?: number | null,
  ): Promise<TrendingMovieType[]> {
    checkPageSize(first);
    checkText(genre, 'genre');
    if (windowDays < 1 || windowDays > 36500)
      throw clientError('BAD_USER_INPUT', `windowDays must be between 1 and 36500, got ${windowDays}`);
    const result = await services.statistical.trending({
      limit: first,
      windowDays,
      halfLifeDays: halfLifeDays ?? null,
      genres: genre ? [genre] : undefined,
    });
    return result.movies.map((m) => ({
      movieId: m.movieId,
      score: m.score,
      votes: m.votes,
      mean: m.mean,
      lower: m.lower,
      upper: m.upper,
      windowEnd: result.asOf,
    }));
  }

  @Query(() => [ScoredMovieType], {
    description:
      'Natural-language search over movie text embeddings, best match first. SERVICE_UNAVAILABLE while ' +
      'the content index is building or with CONTENT_ENGINE=false.',
  })
  async search(
    @Arg('query', {
      description: 'What to look for, in words: 1 to 500 characters; BAD_USER_INPUT otherwise.',
    })
    query: string,
    @Ctx() context: GraphQLContext,
    @Arg('first', () => Int, { defaultValue: 10, description: pageSize(10) }) first: number,
    @Arg('genres', () => [String], { nullable: true, description: 'Only movies having any of these genres.' })
    genres?: string[] | null,
  ): Promise<ScoredMovieType[]> {
    checkPageSize(first);
    checkText(genres, 'genres');
    if (query.trim() === '') throw clientError('BAD_USER_INPUT', 'query must not be empty');
    const found = await requireContent(context).search(query, first, { genres: genres ?? undefined });
    return found.map((s) => ({ movieId: s.movieId, score: s.score }));
  }
}

@Resolver(() => ScoredMovieType)
export class ScoredMovieResolver {
  @FieldResolver(() => MovieType, { description: 'The movie found.' })
  async movie(@Root() item: ScoredMovieType, @Ctx() { loaders }: GraphQLContext): Promise<MovieType> {
    return (await loaders.movie.load(item.movieId)) as MovieType;
  }
}

@Resolver(() => TrendingMovieType)
export class TrendingMovieResolver {
  @FieldResolver(() => MovieType, { description: 'The movie ranked.' })
  async movie(@Root() item: TrendingMovieType, @Ctx() { loaders }: GraphQLContext): Promise<MovieType> {
    return (await loaders.movie.load(item.movieId)) as MovieType;
  }
}
