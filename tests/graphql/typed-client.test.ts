import {
  CinegraphClient,
  CinegraphRequestError,
  HealthDocument,
  HybridWeightsDocument,
  MeDocument,
  MovieDocument,
  MyRecommendationsDocument,
  UserDocument,
  MoviesDocument,
  OnboardDocument,
  RateDocument,
  RecommendationsDocument,
  SearchDocument,
  SimilarMoviesDocument,
  Strategy,
  TrendingDocument,
} from '../../client/index';
import { FullStack, startFullStack } from '../helpers/full-stack';

describe('the generated typed client against the running server', () => {
  let stack: FullStack;
  let client: CinegraphClient;

  beforeAll(async () => {
    stack = await startFullStack();
    client = new CinegraphClient({ url: stack.api.url });
  });

  afterAll(async () => {
    await stack.stop();
  });

  it('pages movies, onboards, rates and reads recommendations with typed results', async () => {
    const page = await client.request(MoviesDocument, { first: 5 });
    expect(page.movies.edges).toHaveLength(5);
    const ids = page.movies.edges.map((e) => e.node.id);

    const onboarded = await client.request(OnboardDocument, {
      ratings: ids.map((movieId, i) => ({ movieId, rating: i % 2 === 0 ? 5 : 2 })),
    });
    expect(onboarded.onboard.user.ratingsCount).toBe(5);
    const me = client.withToken(onboarded.onboard.token);

    const list = await me.request(RecommendationsDocument, {
      userId: onboarded.onboard.user.id,
      strategy: Strategy.Hybrid,
      first: 5,
    });
    expect(list.recommendations).toHaveLength(5);
    expect(list.recommendations[0].strategyUsed).toBe(Strategy.Hybrid);
    expect(typeof list.recommendations[0].explanation.text).toBe('string');

    const rated = await me.request(RateDocument, { movieId: list.recommendations[0].movie.id, rating: 4.5 });
    expect(rated.rate.rating).toBe(4.5);
    const profile = await me.request(MeDocument);
    expect(profile.me?.ratingsCount).toBe(6);
  });

  it('answers the discovery operations', async () => {
    const movieId = stack.catalog.movies[3].movieId;
    const similar = await client.request(SimilarMoviesDocument, { movieId, first: 3 });
    expect(similar.similarMovies).toHaveLength(3);
    const trending = await client.request(TrendingDocument, { windowDays: 3650, first: 3 });
    expect(trending.trending.length).toBeGreaterThan(0);
    const search = await client.request(SearchDocument, { query: stack.catalog.movies[3].title, first: 1 });
    expect(search.search[0].movie.id).toBe(movieId);
  });

  it('reads me { recommendations }, a user, a movie in full, health and the hybrid weights', async () => {
    const ids = stack.catalog.movies.slice(0, 5).map((m) => m.movieId);
    const onboarded = await client.request(OnboardDocument, {
      ratings: ids.map((movieId) => ({ movieId, rating: 4 })),
    });
    const mine = await client
      .withToken(onboarded.onboard.token)
      .request(MyRecommendationsDocument, { strategy: Strategy.Collaborative, first: 4 });
    expect(mine.me?.id).toBe(onboarded.onboard.user.id);
    expect(mine.me?.recommendations).toHaveLength(4);
    expect(mine.me?.recommendations.every((r) => !ids.includes(r.movie.id))).toBe(true);
    // No strategy sent: the schema's default (HYBRID) ranks, not one the operation fixes.
    const byDefault = await client
      .withToken(onboarded.onboard.token)
      .request(MyRecommendationsDocument, { first: 2 });
    expect(byDefault.me?.recommendations.map((r) => r.strategyUsed)).toEqual(['HYBRID', 'HYBRID']);

    const user = await client.request(UserDocument, { id: 4, first: 2 });
    expect(user.user?.ratings.edges).toHaveLength(2);
    const next = await client.request(UserDocument, {
      id: 4,
      first: 2,
      after: user.user?.ratings.pageInfo.endCursor,
    });
    expect(next.user?.ratings.edges[0].cursor).not.toBe(user.user?.ratings.edges[1].cursor);

    const movie = await client.request(MovieDocument, { id: ids[0], similarFirst: 3 });
    expect(movie.movie?.similar).toHaveLength(3);
    expect(movie.movie?.bayesianRating?.votes).toBeGreaterThan(0);

    const health = await client.request(HealthDocument);
    expect(health.health.ok).toBe(true);
    const weights = await client.request(HybridWeightsDocument, { weights: { content: 0 } });
    expect(weights.hybridWeights.content).toBe(0);
    expect(weights.hybridWeights.source).toBe('REQUEST');
  });

  it('surfaces GraphQL errors with their code', async () => {
    const error = await client.request(RateDocument, { movieId: 1, rating: 4 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CinegraphRequestError);
    expect((error as CinegraphRequestError).code).toBe('UNAUTHENTICATED');
  });
});
