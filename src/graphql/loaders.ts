import DataLoader from 'dataloader';
import { Movie } from '../db/entities';
import { Services } from '../services';
import { RatingSummary } from '../services/movie-catalog';

/** One set per request, so batching and caching never leak between viewers. */
export function createLoaders(services: Services) {
  return {
    movie: new DataLoader<number, Movie | null>(async (ids) => {
      const byId = new Map((await services.catalog.findByIds(ids)).map((m) => [m.id, m]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    ratingSummary: new DataLoader<number, RatingSummary>(async (ids) => {
      const byId = await services.catalog.ratingSummaries(ids);
      return ids.map((id) => byId.get(id) ?? { count: 0, average: null });
    }),
    user: new DataLoader<number, { id: number; hasToken: boolean } | null>(async (ids) => {
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
