import { generateSyntheticCatalog } from '../../../../fixtures/synthetic';
import {
  ContentEngine,
  MAX_VOTING_RATINGS,
  NEIGHBOURS_PER_MOVIE,
} from '../../../../src/engines/content/content-engine';
import { EmbeddingStore } from '../../../../src/engines/content/embedding-store';
import { ContentIndexer } from '../../../../src/engines/content/indexer';
import { createTestDatabase, type TestDatabase } from '../../../helpers/database';
import { importSyntheticCatalog } from '../../../helpers/synthetic-database';
import { HashingEmbedder } from './helpers/hashing-embedder';

/**
 * Bag-of-words vectors, each moved a little in a direction seeded by its text: similar texts stay
 * similar, and no two movies are equally near a third (bags of words often are, and which of a tie
 * a search keeps is not what this test is about).
 */
class JitteredEmbedder extends HashingEmbedder {
  override vectorOf(text: string): Float32Array {
    const words = super.vectorOf(text);
    let state = 7;
    for (let i = 0; i < text.length; i++) state = (Math.imul(state, 31) + text.charCodeAt(i)) >>> 0;
    const jittered = words.map((value) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return value + 0.05 * (state / 2 ** 32 - 0.5);
    });
    const norm = Math.hypot(...jittered);
    return jittered.map((value) => value / norm);
  }
}

/**
 * Lists find their candidates through the neighbour table once it is built: the movies each rated
 * movie is nearest to, where the vote that ranks them is made. The taste profile's neighbours (one
 * direction for a whole user) had held a quarter of the vote's own top 50 in HYBRID on
 * ml-latest-small.
 */
describe('the content engine with its neighbour table', () => {
  const catalog = generateSyntheticCatalog({ seed: 11, users: 60, movies: 400 });
  const users = [3, 8, 15, 22, 31, 47, 58];
  let db: TestDatabase;
  let engine: ContentEngine;
  let indexer: ContentIndexer;
  const embedder = new JitteredEmbedder(64, 'test/jittered-bag-of-words');

  beforeAll(async () => {
    db = await createTestDatabase();
    await importSyntheticCatalog(db.dataSource, catalog);
    indexer = new ContentIndexer({ dataSource: db.dataSource, embedder });
    await indexer.run();
    engine = new ContentEngine({ dataSource: db.dataSource, indexer, memorySearch: true });
  }, 120_000);

  afterAll(async () => {
    await db.drop();
  });

  /** The share of the vote's own top `limit` over every unrated movie that the list holds, per user. */
  async function recallOfExactTop(role: 'merged' | 'alone', limit: number): Promise<number> {
    const movieIds = catalog.movies.map((movie) => movie.movieId);
    let held = 0;
    for (const userId of users) {
      const rated = new Set(catalog.ratings.filter((r) => r.userId === userId).map((r) => r.movieId));
      const list = await engine.recommend({ userId, limit, role });
      const all = await engine.scoreMovies(
        userId,
        movieIds.filter((movieId) => !rated.has(movieId)),
        role,
      );
      const exact = [...all.values()]
        .sort((a, b) => b.score - a.score || a.movieId - b.movieId)
        .slice(0, limit)
        .map((movie) => movie.movieId);
      const listed = new Set(list.map((movie) => movie.movieId));
      expect(list.every((movie) => !rated.has(movie.movieId))).toBe(true);
      held += exact.filter((movieId) => listed.has(movieId)).length;
    }
    return held / (users.length * limit);
  }

  it('is built after the in-process index, and said so in the search state', async () => {
    await engine.prepareMemoryIndex();
    // Built in this thread here (no vote worker), a slice at a time: callbacks waiting on the event
    // loop run while it is still building.
    const buildingAfterATurn = await new Promise<boolean>((resolve) =>
      setImmediate(() => resolve(engine.searchState().building)),
    );
    expect(buildingAfterATurn).toBe(true);
    await engine.neighbourTableBuilt();
    expect(engine.searchState()).toMatchObject({
      answeredBy: 'memory',
      building: false,
      index: { movies: 400, neighbourTable: { perMovie: 10 } },
    });
  });

  it('stops building when the service stops, and starts no other build', async () => {
    const stopping = new ContentEngine({ dataSource: db.dataSource, indexer, memorySearch: true });
    await stopping.prepareMemoryIndex();
    await stopping.stopBackgroundWork();
    expect(stopping.searchState()).toMatchObject({ building: false, index: { neighbourTable: null } });
    await stopping.similarMovies(1, 3);
    expect(stopping.searchState().building).toBe(false);
  });

  it("scores a movie by the vote through each rated movie's 10 nearest, as computed here from the vectors", async () => {
    const ids = catalog.movies.map((movie) => movie.movieId);
    const vectors = await new EmbeddingStore(db.dataSource).vectorsOf(ids, embedder.modelId);
    const cosine = (a: number, b: number) => {
      const [x, y] = [vectors.get(a)!, vectors.get(b)!];
      let sum = 0;
      for (let d = 0; d < x.length; d++) sum += x[d] * y[d];
      return sum;
    };
    const nearest = new Map(
      ids.map((id) => [
        id,
        new Set(
          ids
            .filter((other) => other !== id)
            .sort((a, b) => cosine(id, b) - cosine(id, a) || a - b)
            .slice(0, NEIGHBOURS_PER_MOVIE),
        ),
      ]),
    );
    for (const userId of [3, 22, 47]) {
      const ratings = catalog.ratings.filter((r) => r.userId === userId);
      const mean = ratings.reduce((sum, r) => sum + r.rating, 0) / ratings.length;
      const voters = [...ratings]
        .sort((a, b) => b.timestamp - a.timestamp || a.movieId - b.movieId)
        .slice(0, MAX_VOTING_RATINGS);
      const rated = new Set(ratings.map((r) => r.movieId));
      const unrated = ids.filter((id) => !rated.has(id));
      const scores = await engine.scoreMovies(userId, unrated, 'merged');
      let reached = 0;
      for (const movieId of unrated) {
        let expected = 0;
        for (const voter of voters)
          if (nearest.get(voter.movieId)!.has(movieId))
            expected += Math.max(0, cosine(movieId, voter.movieId)) ** 16 * (voter.rating - mean);
        if (expected !== 0) reached++;
        expect(scores.get(movieId)?.score).toBeCloseTo(expected, 6);
      }
      expect(reached).toBeGreaterThan(20);
    }
  });

  it("lists hold the vote's own best movies, in HYBRID and alone", async () => {
    expect(await recallOfExactTop('merged', 20)).toBeGreaterThanOrEqual(0.95);
    expect(await recallOfExactTop('alone', 20)).toBeGreaterThanOrEqual(0.95);
  });

  it('leaves out movies asked not to appear, and takes the taste profile where genres are asked for', async () => {
    const full = await engine.recommend({ userId: 8, limit: 10, role: 'merged' });
    const excluded = full.slice(0, 3).map((movie) => movie.movieId);
    const rest = await engine.recommend({ userId: 8, limit: 10, role: 'merged', exclude: new Set(excluded) });
    expect(rest.map((movie) => movie.movieId)).toEqual(expect.not.arrayContaining(excluded));
    expect(rest.slice(0, 7).map((movie) => movie.movieId)).toEqual(
      full.slice(3).map((movie) => movie.movieId),
    );
    const genre = catalog.movies[0].genres[0];
    const ofGenre = await engine.recommend({ userId: 8, limit: 5, role: 'merged', genres: [genre] });
    expect(ofGenre.length).toBeGreaterThan(0);
  });
});
