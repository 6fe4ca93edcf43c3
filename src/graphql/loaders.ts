import DataLoader from 'dataloader';
import { Movie } from '../db/entities';
import type { BayesianRating } from '../engines/statistical';
import type { Services } from '../composition/services';
import { RatingSummary } from '../services/movie-catalog';
import type { UserAccess, Viewer } from '../services/user-service';
import { contentEngineOff } from './errors';

export interface SimilarKey {
  movieId: number;
  first: number;
}

/** One set per request, so batching and caching never leak between viewers. */
export function createLoaders(services: Services, viewer: () => Promise<Viewer | null>) {
  return {
    movie: new DataLoader<number, Movie | null>(async (ids) => {
      const byId = new Map((await services.catalog.findByIds(ids)).map((m) => [m.id, m]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    ratingSummary: new DataLoader<number, RatingSummary>(async (ids) => {
      const byId = await services.catalog.ratingSummaries(ids);
      return ids.map((id) => byId.get(id) ?? { count: 0, average: null });
    }),
    bayesianRating: new DataLoader<number, BayesianRating | null>(async (ids) => {
      const byId = await services.statistical.bayesianRatings(ids);
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** The viewer's predicted rating per movie; null without a viewer or a model. */
    predictedRating: new DataLoader<number, number | null>(async (ids) => {
      const who = await viewer();
      if (!who || !services.predictor) return ids.map(() => null);
      const byId = await services.predictor.predictRatings(who.userId, ids);
      return ids.map((id) => byId.get(id) ?? null);
    }),
    similar: new DataLoader<SimilarKey, { movieId: number; score: number }[], string>(
      async (keys) => {
        const content = services.content;
        if (!content) throw contentEngineOff();
        // One nearest-neighbour statement per page size asked for, whatever the number of movies.
        const byFirst = new Map<number, number[]>();
        for (const key of keys) byFirst.set(key.first, [...(byFirst.get(key.first) ?? []), key.movieId]);
        const results = new Map<string, { movieId: number; score: number }[]>();
        for (const [first, movieIds] of byFirst) {
          const found = await content.similarMoviesBatch(movieIds, first);
          for (const id of movieIds)
            results.set(
              `${id}:${first}`,
              (found.get(id) ?? []).map((s) => ({ movieId: s.movieId, score: s.score })),
            );
        }
        return keys.map((k) => results.get(`${k.movieId}:${k.first}`) ?? []);
      },
      { cacheKeyFn: (k) => `${k.movieId}:${k.first}` },
    ),
    user: new DataLoader<number, UserAccess | null>(async (ids) => {
      const byId = await services.users.existing(ids);
      return ids.map((id) => byId.get(id) ?? null);
    }),
    userRatingsCount: new DataLoader<number, number>(async (ids) => {
      const byId = await services.ratings.countsByUser(ids);
      return ids.map((id) => byId.get(id) ?? 0);
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
