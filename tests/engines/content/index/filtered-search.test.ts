import { EmbeddingStore, Neighbour } from '../../../../src/engines/content/embedding-store';
import { createTestDatabase, TestDatabase } from '../../../helpers/database';
import { randomUnitVector, seededRandom } from './helpers/random-vectors';

const DIMENSION = 384;
const MOVIE_COUNT = 3000;
const model = { modelId: 'test/random', dimension: DIMENSION };
/** Every 100th movie is 'Rare', so a filter on it leaves 30 movies for HNSW to find among 3000. */
const isRare = (id: number) => id % 100 === 0;

function overlap(approximate: Neighbour[], exact: Neighbour[]): number {
  const expected = new Set(exact.map((neighbour) => neighbour.movieId));
  return approximate.filter((neighbour) => expected.has(neighbour.movieId)).length / exact.length;
}

describe('HNSW search with filters (3000 random 384-d vectors)', () => {
  let db: TestDatabase;
  let store: EmbeddingStore;
  const random = seededRandom(42);
  const queries = Array.from({ length: 20 }, () => randomUnitVector(random, DIMENSION));

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new EmbeddingStore(db.dataSource);
    await db.dataSource.query(
      `INSERT INTO movies (id, title, genres)
       SELECT i, 'Movie ' || i, CASE WHEN i % 100 = 0 THEN '{Rare}'::text[] ELSE '{Common}'::text[] END
         FROM generate_series(1, ${MOVIE_COUNT}) i`,
    );
    for (let start = 1; start <= MOVIE_COUNT; start += 500) {
      const rows = Array.from({ length: 500 }, (_, i) => ({
        movieId: start + i,
        textHash: 'random',
        vector: randomUnitVector(random, DIMENSION),
      }));
      await store.upsert(model, rows);
    }
    await db.dataSource.query(`ANALYZE movie_embeddings`);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('searches through HNSW with and without filters', async () => {
    const plain = await store.explainNearest(
      { model, vector: queries[0], limit: 10 },
      { efSearch: 100 },
      true,
    );
    expect(plain).toContain('Index Scan using movie_embeddings_hnsw_384');
    const broad = await store.explainNearest(
      { model, vector: queries[0], limit: 10, genres: ['Common'], excludeIds: [1, 2, 3] },
      { efSearch: 100 },
      true,
    );
    expect(broad).toContain('Index Scan using movie_embeddings_hnsw_384');
    const selective = await store.explainNearest(
      { model, vector: queries[0], limit: 10, genres: ['Rare'] },
      { efSearch: 100 },
      true,
    );
    expect(selective).toContain('Index Scan using movie_embeddings_hnsw_384');
    expect(await store.supportsIterativeScan()).toBe(true);
  });

  it('finds more of the exact top 10 as ef_search grows', async () => {
    // Uniformly random 384-d vectors are the hardest case for HNSW (real embeddings cluster): the point is
    // that ef_search reaches the index, and that a large value gets close to exact.
    const recallAt = async (efSearch: number) => {
      let recall = 0;
      for (const vector of queries) {
        const { neighbours, exhaustive } = await store.nearest({ model, vector, limit: 10 }, { efSearch });
        expect(exhaustive).toBe(false);
        recall += overlap(neighbours, await store.exactNearest({ model, vector, limit: 10 }));
      }
      return recall / queries.length;
    };
    const low = await recallAt(10);
    const high = await recallAt(400);
    expect(high).toBeGreaterThan(low);
    expect(high).toBeGreaterThanOrEqual(0.95);
  });

  it('still returns a full page when a genre filter removes 99% of the candidates', async () => {
    for (const vector of queries.slice(0, 5)) {
      const { neighbours } = await store.nearest(
        { model, vector, limit: 20, genres: ['Rare'] },
        { efSearch: 40 },
      );
      expect(neighbours).toHaveLength(20);
      expect(neighbours.every((neighbour) => isRare(neighbour.movieId))).toBe(true);
      const distances = neighbours.map((neighbour) => neighbour.distance);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
      const exact = await store.exactNearest({ model, vector, limit: 20, genres: ['Rare'] });
      expect(overlap(neighbours, exact)).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('returns a full page when most movies are excluded', async () => {
    const excludeIds = Array.from({ length: 2900 }, (_, i) => i + 1);
    const { neighbours } = await store.nearest(
      { model, vector: queries[0], limit: 50, excludeIds },
      { efSearch: 40 },
    );
    expect(neighbours).toHaveLength(50);
    expect(neighbours.every((neighbour) => neighbour.movieId > 2900)).toBe(true);
  });

  it('compares the movies of a selective genre exactly instead of walking the graph', async () => {
    const query = { model, vector: queries[2], limit: 10, genres: ['Rare'] };
    const { neighbours, exhaustive } = await store.nearest(query, { efSearch: 40, exactFilterLimit: 30 });
    expect(exhaustive).toBe(true);
    expect(neighbours).toEqual(await store.exactNearest(query));
    const common = await store.nearest(
      { ...query, genres: ['Common'] },
      { efSearch: 40, exactFilterLimit: 30 },
    );
    expect(common.exhaustive).toBe(false);
  });

  it('falls back to an exact answer when fewer movies qualify than were asked for', async () => {
    const { neighbours, exhaustive } = await store.nearest(
      { model, vector: queries[1], limit: 40, genres: ['Rare'] },
      { efSearch: 40, exactFilterLimit: 0 },
    );
    expect(exhaustive).toBe(true);
    expect(neighbours).toEqual(
      await store.exactNearest({ model, vector: queries[1], limit: 40, genres: ['Rare'] }),
    );
    expect(neighbours).toHaveLength(30);
  });

  it('searches for several movies in one statement through HNSW', async () => {
    const movieIds = [100, 250, 1234, 2999];
    const plan = await store.explainNearest({ model, movieIds, limit: 10 }, { efSearch: 100 }, true);
    expect(plan).toContain('Index Scan using movie_embeddings_hnsw_384');
    const batch = await store.nearestToMovies({ model, movieIds, limit: 10 }, { efSearch: 100 });
    for (const movieId of movieIds) {
      const neighbours = batch.get(movieId)!;
      expect(neighbours).toHaveLength(10);
      expect(neighbours.map((neighbour) => neighbour.movieId)).not.toContain(movieId);
      // The same graph walk from the same point as a one-movie search.
      const { vector } = await store.embeddingOf(movieId, model.modelId);
      const alone = await store.nearest(
        { model, vector: vector!, limit: 10, excludeIds: [movieId] },
        { efSearch: 100 },
      );
      expect(neighbours.map((neighbour) => neighbour.movieId)).toEqual(
        alone.neighbours.map((neighbour) => neighbour.movieId),
      );
    }
    const rare = await store.nearestToMovies(
      { model, movieIds, limit: 20, genres: ['Rare'] },
      { efSearch: 40, exactFilterLimit: 0 },
    );
    for (const movieId of movieIds) {
      expect(rare.get(movieId)).toHaveLength(20);
      expect(rare.get(movieId)!.every((neighbour) => isRare(neighbour.movieId))).toBe(true);
    }
  });

  it('never compares vectors of another model', async () => {
    const other = { modelId: 'test/other', dimension: DIMENSION };
    const { neighbours } = await store.nearest(
      { model: other, vector: queries[0], limit: 5 },
      { efSearch: 40 },
    );
    expect(neighbours).toEqual([]);
  });
});
