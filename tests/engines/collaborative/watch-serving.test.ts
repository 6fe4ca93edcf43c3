import { generateSyntheticCatalog } from '../../../fixtures/synthetic';
import { Versions } from '../../../src/cache';
import { CollaborativeEngine } from '../../../src/engines/collaborative/collaborative-engine';
import { topK, TopNScorer } from '../../../src/engines/collaborative/kernels';
import { ModelStore } from '../../../src/engines/collaborative/model-store';
import type { ScoredMovie } from '../../../src/engines/engine';
import { DEFAULT_IMPLICIT_RULE } from '../../../src/engines/implicit-rating';
import {
  CachedRatingHistory,
  SqlRatingHistory,
  type WatchedMovie,
} from '../../../src/engines/rating-history';
import { FeedbackService } from '../../../src/services/feedback-service';
import { trainFromDatabase } from '../../../training/database';
import { DEFAULT_EASE_OPTIONS } from '../../../training/options';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../../training/train';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { importSyntheticCatalog } from '../../helpers/synthetic-database';

const BASE: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 10 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
};

interface Star {
  movieId: number;
  rating: number;
  ratedAt: number;
}

describe.each([
  ['puresvd', { ...BASE, topNModel: 'puresvd' }],
  ['ease', { ...BASE, ease: { ...DEFAULT_EASE_OPTIONS, minRatings: 5, maxColumns: 60 }, topNModel: 'ease' }],
] as [string, TrainOptions][])(
  'a WATCH to the end enters the user’s own top-N row at serving time (%s)',
  (_kind, options) => {
    let db: TestDatabase;
    let engine: CollaborativeEngine;
    let feedback: FeedbackService;
    let scorer: TopNScorer;
    let itemIds: Int32Array;
    let history: CachedRatingHistory;
    const versions = new Versions();
    const catalog = generateSyntheticCatalog({ seed: 21, users: 120, movies: 100 });
    const userId = 4;
    let clientEventIds = 0;

    beforeAll(async () => {
      db = await createTestDatabase();
      await importSyntheticCatalog(db.dataSource, catalog);
      const store = new ModelStore(db.dataSource);
      // Trained before any event: the model itself knows nothing of the watches below.
      await trainFromDatabase(db.dataSource, store, options);
      history = new CachedRatingHistory(new SqlRatingHistory(db.dataSource), versions);
      engine = new CollaborativeEngine(db.dataSource, store, { history, versions });
      await engine.reload();
      const active = (await store.loadActive())!;
      scorer = new TopNScorer(active.topN);
      itemIds = active.topN.itemIds;
      // As the app wires it: the bumped version is announced to this instance's caches.
      feedback = new FeedbackService(db.dataSource, {
        exclusionsChanged: async (user, version) => {
          versions.observe({ kind: 'user', userId: user, version });
        },
      });
    });

    afterAll(async () => {
      await db.drop();
    });

    const stars = async (): Promise<Star[]> =>
      db.dataSource.query(
        `SELECT movie_id AS "movieId", rating, extract(epoch FROM rated_at)::float8 AS "ratedAt"
           FROM ratings WHERE user_id = $1 ORDER BY movie_id`,
        [userId],
      );

    const watch = (movieId: number, value: number) =>
      feedback.record(userId, [{ clientEventId: `e${++clientEventIds}`, movieId, type: 'WATCH', value }]);

    /** The top `count` by the scorer itself, from the stars plus each watched movie at mean + 1.5. */
    async function expectedList(
      watched: readonly WatchedMovie[],
      count = 10,
    ): Promise<{ movieId: number; score: number }[]> {
      const rated = await stars();
      const mean = rated.reduce((sum, r) => sum + r.rating, 0) / rated.length;
      const implicit = Math.min(5, mean + DEFAULT_IMPLICIT_RULE.offset);
      const ids = itemIds;
      const indexOf = new Map(Array.from(ids, (id, i) => [id, i]));
      const row = [
        ...rated.map((r) => ({ item: indexOf.get(r.movieId)!, rating: r.rating, at: r.ratedAt })),
        ...watched.map((w) => ({ item: indexOf.get(w.movieId)!, rating: implicit, at: w.watchedAt })),
      ];
      const scores = Float64Array.from(
        scorer.scoreUser(
          row.map((r) => r.item),
          row.map((r) => r.rating),
          row.map((r) => r.at),
        ).scores,
      );
      const rankable = scorer.rankable();
      for (let i = 0; i < scores.length; i++) if (!rankable[i]) scores[i] = -Infinity;
      for (const r of row) scores[r.item] = -Infinity;
      return Array.from(topK(scores, count), (i) => ({ movieId: ids[i], score: scores[i] }));
    }

    const list = () => engine.recommend({ userId, limit: 10 });
    const ids = (movies: ScoredMovie[]) => movies.map((m) => m.movieId);

    it('ranks from stars + the watch (mean + 1.5), leaves the movie out, keeps predictions and evidence to stars', async () => {
      const before = await list();
      expect(ids(before)).toEqual(ids(await expectedList([])));
      const catalogIds = catalog.movies.map((m) => m.movieId);
      // Folded in from the current stars (not the trained row), so after the watch it is comparable.
      const foldedBefore = await engine.foldIn(userId);
      const predictedBefore = await engine.predictRatings(userId, catalogIds);

      // A movie the list ranks third: watched to the end, it must leave the list and pull its like up.
      const watched = before[2].movieId;
      const versionBefore = (await history.historyOf(userId)).version;
      await watch(watched, 0.9);
      const read = await history.historyOf(userId);
      expect(read.version).toBeGreaterThan(versionBefore);
      expect(read.watched?.map((w) => w.movieId)).toEqual([watched]);

      const after = await list();
      const expected = await expectedList(read.watched!);
      expect(ids(after)).toEqual(ids(expected));
      after.forEach((m, n) => expect(m.score).toBeCloseTo(expected[n].score, 4));
      expect(ids(after)).not.toContain(watched);
      // Not just the movie gone: the rest are scored as the watch says, not as stars alone score them.
      const starsOnlyWithoutIt = (await expectedList([], 11)).filter((m) => m.movieId !== watched);
      const scored = (movies: { movieId: number; score: number }[]) =>
        movies.map((m) => `${m.movieId}:${m.score.toFixed(4)}`);
      expect(scored(after)).not.toEqual(scored(starsOnlyWithoutIt));
      expect((await engine.scoreMovies(userId, [watched])).size).toBe(0);

      // The rating model keeps to the stars: same fold-in, same predictions.
      const foldedAfter = await engine.foldIn(userId);
      expect(foldedAfter!.bias).toBe(foldedBefore!.bias);
      expect(Array.from(foldedAfter!.factors)).toEqual(Array.from(foldedBefore!.factors));
      expect(await engine.predictRatings(userId, catalogIds)).toEqual(predictedBefore);

      // Evidence cites only the user's star ratings, with those ratings; never the watched movie.
      const rated = new Map((await stars()).map((r) => [r.movieId, r.rating]));
      const evidence = after.flatMap((m) => m.evidence ?? []);
      expect(evidence.length).toBeGreaterThan(0);
      for (const e of evidence) {
        expect(e.movieId).not.toBe(watched);
        expect(e.rating).toBe(rated.get(e.movieId));
      }
    });

    it('a WATCH below 0.8, or of a movie the user rated, changes nothing in the list', async () => {
      const current = await list();
      const version = (await history.historyOf(userId)).version;
      const halfWatched = current[0].movieId;
      await watch(halfWatched, 0.5);
      expect((await history.historyOf(userId)).version).toBe(version);
      const unchanged = await list();
      expect(ids(unchanged)).toEqual(ids(current));
      expect(unchanged.map((m) => m.score)).toEqual(current.map((m) => m.score));

      // A rating says more than a watch: a rated movie watched again is not a second entry.
      const ratedMovie = (await stars())[0].movieId;
      await watch(ratedMovie, 1);
      const read = await history.historyOf(userId);
      expect(read.version).toBeGreaterThan(version);
      expect(read.watched?.map((w) => w.movieId)).toContain(ratedMovie);
      const again = await list();
      expect(ids(again)).toEqual(ids(current));
      again.forEach((m, n) => expect(m.score).toBeCloseTo(current[n].score, 6));
    });
  },
);
