import { ContentEngine } from '../../../../src/engines/content/content-engine';
import { inThreadVoter } from '../../../../src/engines/content/vote-pool';
import { EmbeddingStore, neighbourQuerySql } from '../../../../src/engines/content/embedding-store';
import { ContentIndexer } from '../../../../src/engines/content/indexer';
import { buildMovieText } from '../../../../src/engines/content/movie-text';
import {
  CONTENT_SCORING,
  MERGED_CONTENT_SCORING,
  popularityPrior,
  type ContentScoring,
} from '../../../../src/engines/content/neighbour-score';
import { computeTasteProfile, RatedVector } from '../../../../src/engines/content/taste-profile';
import { EngineInputError, EngineNotReadyError } from '../../../../src/engines/engine';
import { createTestDatabase, recordStatements, TestDatabase } from '../../../helpers/database';
import { insertMovies, insertRatings, MOVIES } from './helpers/catalog';
import { HashingEmbedder } from './helpers/hashing-embedder';

const embedder = new HashingEmbedder(384);

function cosine(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum / Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));
}

function vectorOfMovie(id: number): Float32Array {
  return embedder.vectorOf(buildMovieText(MOVIES.find((movie) => movie.id === id)!));
}

/** Brute-force ranking in TypeScript, the reference the database answers are checked against. */
function exactRanking(query: Float32Array, candidates: readonly number[]) {
  return candidates
    .map((movieId) => ({ movieId, score: cosine(query, vectorOfMovie(movieId)) }))
    .sort((a, b) => b.score - a.score || a.movieId - b.movieId);
}

function unit(vector: Float32Array): Float32Array {
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

function expectSameVector(actual: Float32Array, expected: Float32Array): void {
  expect(actual).toHaveLength(expected.length);
  let largestDifference = 0;
  for (let i = 0; i < expected.length; i++)
    largestDifference = Math.max(largestDifference, Math.abs(actual[i] - expected[i]));
  expect(largestDifference).toBeLessThan(1e-6);
}

const ALL_IDS = MOVIES.map((movie) => movie.id);

/** Ratings per movie after beforeAll's inserts, and the largest count. */
const VOTES: Record<number, number> = { 1: 3, 2: 2, 3: 1, 4: 1, 5: 1, 6: 2, 7: 1, 8: 1, 11: 1 };
const MAX_VOTES = 3;

/**
 * CONTENT_SCORING written out: Σ max(0, cos)^p · (rating − the user's mean) over the rated movies
 * with an embedding (movie 11 has none), plus the weighted popularity prior.
 */
function servedScore(
  ratings: Record<number, number>,
  movieId: number,
  scoring: ContentScoring = CONTENT_SCORING,
): number {
  const rated = Object.entries(ratings).map(([id, rating]) => ({ id: Number(id), rating }));
  const mean = rated.reduce((sum, r) => sum + r.rating, 0) / rated.length;
  let vote = 0;
  for (const { id, rating } of rated) {
    if (id === 11) continue;
    const similarity = cosine(vectorOfMovie(movieId), vectorOfMovie(id));
    if (similarity > 0) vote += similarity ** scoring.exponent * (rating - mean);
  }
  return vote + scoring.popularityWeight * popularityPrior(VOTES[movieId] ?? 0, MAX_VOTES);
}

// Every query runs twice: answered by PostgreSQL's HNSW, and by the in-process index (CONTENT_SEARCH=memory).
describe.each([
  ['PostgreSQL', false],
  ['the in-process index', true],
])('ContentEngine queries through %s', (_searcher, memorySearch) => {
  let db: TestDatabase;
  let engine: ContentEngine;
  let indexer: ContentIndexer;

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource);
    indexer = new ContentIndexer({ dataSource: db.dataSource, embedder });
    await indexer.run();
    engine = new ContentEngine({ dataSource: db.dataSource, indexer, memorySearch });
    // Added after indexing: exists in the catalog but has no embedding.
    await db.dataSource.query(
      `INSERT INTO movies (id, title, genres) VALUES (11, 'Late Arrival', '{Drama}')`,
    );
    await insertRatings(db.dataSource, 1, { 1: 5, 4: 1, 6: 3 });
    await insertRatings(db.dataSource, 2, { 6: 4, 7: 4 });
    await insertRatings(db.dataSource, 3, { 1: 5, 2: 4, 11: 3 });
    await insertRatings(db.dataSource, 4, { 1: 5, 2: 4.5, 3: 4, 8: 1, 5: 2 });
    await db.dataSource.query(`INSERT INTO users (id) VALUES (5)`);
    if (memorySearch) expect(await engine.prepareMemoryIndex()).not.toBeNull();
  });
  afterAll(async () => {
    await db.drop();
  });

  it(`answers ${memorySearch ? 'without any' : 'by'} nearest-neighbour statements`, async () => {
    const statements = await recordStatements(db.dataSource, async () => {
      await engine.similarMovies(3, 4);
      await engine.search('space adventure', 3);
      await engine.recommend({ userId: 4, limit: 3, exclude: new Set([6]) });
    });
    const searches = statements.filter((statement) => statement.includes('<=>'));
    // PostgreSQL: the HNSW scan, and an exact one where it comes up short on this tiny catalog.
    if (memorySearch) expect(searches).toEqual([]);
    else expect(searches.length).toBeGreaterThanOrEqual(3);
  });

  describe('similarMovies', () => {
    it('returns the nearest movies by cosine similarity, best first, without the movie itself', async () => {
      const results = await engine.similarMovies(1, 4);
      const expected = exactRanking(
        vectorOfMovie(1),
        ALL_IDS.filter((id) => id !== 1),
      ).slice(0, 4);
      expect(results.map((result) => result.movieId)).toEqual(expected.map((movie) => movie.movieId));
      results.forEach((result, i) => expect(result.score).toBeCloseTo(expected[i].score, 5));
      expect(results[0].movieId).toBe(2);
    });

    it('returns every other embedded movie when asked for more than there are', async () => {
      const results = await engine.similarMovies(4, 50);
      expect(results.map((result) => result.movieId).sort((a, b) => a - b)).toEqual(
        ALL_IDS.filter((id) => id !== 4),
      );
      const scores = results.map((result) => result.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
    });

    it('keeps only movies having any of the requested genres', async () => {
      const results = await engine.similarMovies(1, 5, { genres: ['Animation', 'Horror'] });
      expect(results.map((result) => result.movieId)).toEqual(
        exactRanking(vectorOfMovie(1), [2, 8, 9, 10]).map((movie) => movie.movieId),
      );
    });

    it('tells an unknown movie from one not embedded yet', async () => {
      await expect(engine.similarMovies(999, 5)).rejects.toMatchObject({
        name: 'EngineInputError',
        code: 'NOT_FOUND',
      });
      await expect(engine.similarMovies(11, 5)).rejects.toThrow(EngineNotReadyError);
      await expect(engine.similarMovies(11, 5)).rejects.toThrow('movie 11 is not in the content index yet');
    });

    it('rejects bad ids and limits', async () => {
      for (const [movieId, limit] of [
        [0, 5],
        [1.5, 5],
        [1, 0],
        [1, 1001],
        [1, 2.5],
      ]) {
        await expect(engine.similarMovies(movieId, limit)).rejects.toMatchObject({
          name: 'EngineInputError',
          code: 'BAD_USER_INPUT',
        });
      }
    });
  });

  describe('similarMoviesBatch', () => {
    it('answers several movies in one go, exactly as one at a time', async () => {
      const batch = await engine.similarMoviesBatch([1, 4, 8, 4], 3);
      expect([...batch.keys()].sort((a, b) => a - b)).toEqual([1, 4, 8]);
      for (const movieId of [1, 4, 8])
        expect(batch.get(movieId)).toEqual(await engine.similarMovies(movieId, 3));
      const filtered = await engine.similarMoviesBatch([1, 6], 2, { genres: ['Comedy'] });
      expect(filtered.get(1)).toEqual(await engine.similarMovies(1, 2, { genres: ['Comedy'] }));
      expect(filtered.get(6)).toEqual(await engine.similarMovies(6, 2, { genres: ['Comedy'] }));
    });

    it('leaves out movies that are unknown or not embedded', async () => {
      const batch = await engine.similarMoviesBatch([2, 11, 999], 2);
      expect([...batch.keys()]).toEqual([2]);
      await expect(engine.similarMoviesBatch([2, 0], 2)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('search', () => {
    it('ranks movies by similarity to the query text', async () => {
      const results = await engine.search('aliens attack a space crew', 4);
      const expected = exactRanking(embedder.vectorOf('aliens attack a space crew'), ALL_IDS).slice(0, 4);
      expect(results.map((result) => result.movieId)).toEqual(expected.map((movie) => movie.movieId));
      results.forEach((result, i) => expect(result.score).toBeCloseTo(expected[i].score, 5));
    });

    it('applies the genre filter', async () => {
      const results = await engine.search('aliens attack a space crew', 3, { genres: ['Horror'] });
      expect(results.map((result) => result.movieId)).toEqual([2]);
    });

    it('embeds a repeated query once', async () => {
      const before = embedder.calls.length;
      const first = await engine.search('  a detective chases robbers ', 3);
      const again = await engine.search('a detective chases robbers', 3);
      expect(again).toEqual(first);
      expect(embedder.calls.slice(before)).toEqual([['a detective chases robbers']]);
    });

    it('rejects empty, blank and over-long queries', async () => {
      for (const query of ['', '   \n', 'x'.repeat(501)]) {
        const attempt = engine.search(query, 5);
        await expect(attempt).rejects.toBeInstanceOf(EngineInputError);
        await expect(attempt).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
      }
      await expect(engine.search(`space ${'x'.repeat(494)}`, 5)).resolves.toHaveLength(5);
    });
  });

  describe('tasteProfile', () => {
    it('weights each rated movie by its rating minus the user mean, so disliked movies push away', async () => {
      // Ratings 5, 1 and 3: mean 3, weights +2, −2 and 0.
      const profile = await engine.tasteProfile(1);
      expect(profile).toMatchObject({ method: 'centred', userMean: 3, ratedCount: 3 });
      const expected = unit(vectorOfMovie(1).map((value, i) => 2 * value - 2 * vectorOfMovie(4)[i]));
      expectSameVector(profile!.vector, expected);
    });

    it('centres on the mean of all the user ratings, also of movies not embedded yet', async () => {
      // Ratings 5, 4 and 3 (movie 11 has no embedding): mean 4, so movie 2 weighs nothing.
      const profile = await engine.tasteProfile(3);
      expect(profile).toMatchObject({ method: 'centred', userMean: 4, ratedCount: 2 });
      expectSameVector(profile!.vector, vectorOfMovie(1));
    });

    it('falls back to the plain mean of liked movies when every rating is the same', async () => {
      const profile = await engine.tasteProfile(2);
      expect(profile).toMatchObject({ method: 'liked-mean', userMean: 4 });
      expectSameVector(
        profile!.vector,
        unit(vectorOfMovie(6).map((value, i) => value + vectorOfMovie(7)[i])),
      );
    });

    it('computes in SQL what the TypeScript reference computes from the same ratings', async () => {
      const store = new EmbeddingStore(db.dataSource);
      for (const userId of [1, 2, 3, 4]) {
        const { userMean, ratings } = await store.userRatings(userId, embedder.modelId);
        const reference = computeTasteProfile(
          ratings.filter((rating): rating is RatedVector => rating.vector !== null),
          userMean!,
        );
        const inSql = await store.tasteProfileInSql(userId, { modelId: embedder.modelId, dimension: 384 });
        expect(inSql).toMatchObject({ userMean: reference!.userMean, ratedCount: reference!.ratedCount });
        expect(inSql.profile?.method).toBe(reference!.method);
        expectSameVector(inSql.profile!.vector, reference!.vector);
      }
    });

    it('is null for a user without ratings and NOT_FOUND for an unknown user', async () => {
      await expect(engine.tasteProfile(5)).resolves.toBeNull();
      await expect(engine.tasteProfile(404)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('recommend', () => {
    it('ranks unrated movies near the taste profile by the served content score, skipping rated and excluded ones', async () => {
      const user4 = { 1: 5, 2: 4.5, 3: 4, 8: 1, 5: 2 };
      const results = await engine.recommend({ userId: 4, limit: 3, exclude: new Set([10]) });
      const expected = [4, 6, 7, 9]
        .map((movieId) => ({ movieId, score: servedScore(user4, movieId) }))
        .sort((a, b) => b.score - a.score || a.movieId - b.movieId)
        .slice(0, 3);
      expect(results.map((result) => result.movieId)).toEqual(expected.map((movie) => movie.movieId));
      results.forEach((result, i) => expect(result.score).toBeCloseTo(expected[i].score, 5));
    });

    it('explains each candidate by the liked movies most similar to it', async () => {
      // User 4's mean is 3.3: movies 1, 2 and 3 are liked; 8 and 5 are not and never serve as evidence.
      const results = await engine.recommend({ userId: 4, limit: 6 });
      expect(results.length).toBeGreaterThan(0);
      for (const result of results) {
        const expected = [
          { movieId: 1, rating: 5 },
          { movieId: 2, rating: 4.5 },
          { movieId: 3, rating: 4 },
        ]
          .map((liked) => ({
            ...liked,
            weight: cosine(vectorOfMovie(result.movieId), vectorOfMovie(liked.movieId)),
          }))
          .filter((liked) => liked.weight > 0)
          .sort((a, b) => b.weight - a.weight);
        expect(result.evidence?.map((evidence) => evidence.movieId)).toEqual(expected.map((e) => e.movieId));
        result.evidence!.forEach((evidence, i) => {
          expect(evidence.rating).toBe(expected[i].rating);
          expect(evidence.weight).toBeCloseTo(expected[i].weight, 5);
        });
      }
      expect(results.find((result) => result.movieId === 10)?.evidence?.[0]).toMatchObject({ movieId: 1 });
    });

    it('applies the genre filter', async () => {
      const results = await engine.recommend({ userId: 1, limit: 10, genres: ['Sci-Fi'] });
      expect(results.map((result) => result.movieId).sort((a, b) => a - b)).toEqual([2, 3, 10]);
    });

    it('returns nothing for a user without ratings and NOT_FOUND for an unknown user', async () => {
      await expect(engine.recommend({ userId: 5, limit: 5 })).resolves.toEqual([]);
      await expect(engine.recommend({ userId: 404, limit: 5 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });
  });

  describe('scoreMovies', () => {
    it('scores given movies by the served content score and leaves out those without an embedding', async () => {
      const user1 = { 1: 5, 4: 1, 6: 3 };
      const scores = await engine.scoreMovies(1, [2, 8, 11]);
      expect([...scores.keys()].sort()).toEqual([2, 8]);
      expect(scores.get(2)!.score).toBeCloseTo(servedScore(user1, 2), 5);
      expect(scores.get(8)!.score).toBeCloseTo(servedScore(user1, 8), 5);
    });

    it('scores by the vote alone as one of HYBRID’s engines, alone with the popularity prior, both cached', async () => {
      const user1 = { 1: 5, 4: 1, 6: 3 };
      for (let round = 0; round < 2; round++) {
        const merged = await engine.scoreMovies(1, [2, 8], 'merged');
        const alone = await engine.scoreMovies(1, [2, 8]);
        for (const movieId of [2, 8]) {
          expect(merged.get(movieId)!.score).toBeCloseTo(
            servedScore(user1, movieId, MERGED_CONTENT_SCORING),
            5,
          );
          expect(alone.get(movieId)!.score).toBeCloseTo(servedScore(user1, movieId), 5);
          expect(alone.get(movieId)!.score).not.toBeCloseTo(merged.get(movieId)!.score, 3);
        }
      }
      const ranked = await engine.recommend({ userId: 4, limit: 3, role: 'merged' });
      const user4 = { 1: 5, 2: 4.5, 3: 4, 8: 1, 5: 2 };
      const expected = [4, 6, 7, 9, 10]
        .map((movieId) => ({ movieId, score: servedScore(user4, movieId, MERGED_CONTENT_SCORING) }))
        .sort((a, b) => b.score - a.score || a.movieId - b.movieId)
        .slice(0, 3);
      expect(ranked.map((result) => result.movieId)).toEqual(expected.map((movie) => movie.movieId));
    });

    it('votes once per candidate for both roles, and reads no rating counts as one of HYBRID’s engines', async () => {
      const voted: number[] = [];
      const counting = new ContentEngine({
        dataSource: db.dataSource,
        indexer,
        voter: {
          async votesOf(candidates, rated, scoring) {
            voted.push(candidates.length);
            return inThreadVoter.votesOf(candidates, rated, scoring);
          },
          nearest: inThreadVoter.nearest,
          neighbourRows: inThreadVoter.neighbourRows,
          dispose: async () => undefined,
        },
      });
      const user1 = { 1: 5, 4: 1, 6: 3 };
      const statements = await recordStatements(db.dataSource, async () => {
        const merged = await counting.scoreMovies(1, [2, 8], 'merged');
        expect(merged.get(8)!.score).toBeCloseTo(servedScore(user1, 8, MERGED_CONTENT_SCORING), 5);
      });
      expect(statements.filter((sql) => /movie_rating_stats|count\(/i.test(sql))).toEqual([]);
      const alone = await counting.scoreMovies(1, [2, 8, 7]);
      expect(voted).toEqual([2, 1]);
      for (const movieId of [2, 8, 7])
        expect(alone.get(movieId)!.score).toBeCloseTo(servedScore(user1, movieId), 5);
    });

    it('after preloadVectors reads no vector from the database', async () => {
      const fresh = new ContentEngine({ dataSource: db.dataSource, indexer });
      const embedded: { count: number }[] = await db.dataSource.query(
        `SELECT count(*)::int AS count FROM movie_embeddings`,
      );
      expect(await fresh.preloadVectors(3)).toBe(embedded[0].count);
      const statements = await recordStatements(db.dataSource, async () => {
        await fresh.scoreMovies(1, [2, 8, 3, 4]);
      });
      expect(statements.filter((s) => s.includes('vector_send(embedding)'))).toEqual([]);
      expect(statements.length).toBeGreaterThan(0); // the user's ratings were read: the recorder works
    });
  });

  describe('query plans', () => {
    /** The plan under the settings searches run with; the 10-row table makes any other plan cheaper. */
    function planOf(dimension: number, filters: { genres?: string[]; excludeIds?: number[] }) {
      return new EmbeddingStore(db.dataSource).explainNearest(
        {
          model: { modelId: 'any', dimension },
          vector: new Float32Array(dimension).fill(1 / Math.sqrt(dimension)),
          limit: 10,
          ...filters,
        },
        { efSearch: 40 },
      );
    }

    it.each([384, 512])('matches the %i-d partial HNSW index', async (dimension) => {
      expect(await planOf(dimension, {})).toContain(`Index Scan using movie_embeddings_hnsw_${dimension}`);
      expect(await planOf(dimension, { genres: ['Crime'], excludeIds: [1, 2] })).toContain(
        `Index Scan using movie_embeddings_hnsw_${dimension}`,
      );
    });

    it('finds by id only what it finds with distances, through the same index, without the distance column', async () => {
      const store = new EmbeddingStore(db.dataSource);
      const model = { modelId: embedder.modelId, dimension: 384 };
      for (const query of [
        { model, vector: embedder.vectorOf('space aliens'), limit: 4 },
        {
          model,
          vector: embedder.vectorOf('a heist in the city'),
          limit: 3,
          excludeIds: [4],
          genres: ['Crime'],
        },
        // More than the catalog holds: both fall back to the exact scan.
        { model, vector: embedder.vectorOf('romance'), limit: 50 },
      ]) {
        const { neighbours } = await store.nearest(query, { efSearch: 40 });
        const ids = await store.nearestIds(query, { efSearch: 40 });
        expect([...ids].sort((a, b) => a - b)).toEqual(
          neighbours.map((n) => n.movieId).sort((a, b) => a - b),
        );
      }
      const { sql, params } = neighbourQuerySql(
        {
          model: { modelId: 'any', dimension: 384 },
          vector: new Float32Array(384).fill(1 / Math.sqrt(384)),
          limit: 5,
        },
        { distances: false },
      );
      expect(sql).not.toContain('distance');
      const plan: { 'QUERY PLAN': string }[] = await db.dataSource.transaction(async (manager) => {
        for (const setting of ['enable_sort', 'enable_seqscan', 'enable_bitmapscan'])
          await manager.query(`SET LOCAL ${setting} = off`);
        return manager.query(`EXPLAIN ${sql}`, params);
      });
      expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain(
        'Index Scan using movie_embeddings_hnsw_384',
      );
    });

    it('has no HNSW index to use for other dimensions and still answers by exact scan', async () => {
      const plan = await planOf(64, {});
      expect(plan).not.toContain('hnsw');
      expect(plan).toContain('Sort');
      const other = new HashingEmbedder(64, 'test/64-d');
      await new ContentIndexer({ dataSource: db.dataSource, embedder: other }).run();
      const store = new EmbeddingStore(db.dataSource);
      const { neighbours } = await store.nearest(
        {
          model: { modelId: other.modelId, dimension: 64 },
          vector: other.vectorOf('space aliens'),
          limit: 2,
        },
        { efSearch: 40 },
      );
      expect(neighbours).toHaveLength(2);
      // Put the 384-d embeddings back for the other tests.
      await new ContentIndexer({ dataSource: db.dataSource, embedder }).run();
    });
  });
});
