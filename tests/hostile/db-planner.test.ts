import { EmbeddingStore } from '../../src/engines/content/embedding-store';
import { ContentIndexer } from '../../src/engines/content';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';
import { randomUnitVector, seededRandom } from '../engines/content/index/helpers/random-vectors';

const MOVIE_COUNT = 3000;
/** Every 100th movie is 'Rare': a filter on it is selective, so searches compare its 30 movies exactly. */
const GENRES = `CASE WHEN i % 100 = 0 THEN '{Rare}'::text[] ELSE '{Common}'::text[] END`;

describe('search plans on a freshly built content index', () => {
  let db: TestDatabase;

  beforeEach(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, genres, overview)
       SELECT i, 'Movie ' || i, ${GENRES}, 'words ' || (i % 37) || ' more ' || (i % 11)
         FROM generate_series(1, ${MOVIE_COUNT}) i`,
    );
  });

  afterEach(async () => {
    await db.drop();
  });

  it('analyses what it built, and a genre-filtered search joins by hash, not by a scan per embedding', async () => {
    const embedder = new HashingEmbedder();
    const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder });
    const summary = await indexer.run();
    expect(summary.embedded).toBe(MOVIE_COUNT);
    const [stats] = await db.dataSource.query(
      `SELECT (SELECT reltuples FROM pg_class WHERE oid = 'movie_embeddings'::regclass) AS embeddings,
              (SELECT reltuples FROM pg_class WHERE oid = 'movies'::regclass) AS movies`,
    );
    expect(stats).toEqual({ embeddings: MOVIE_COUNT, movies: MOVIE_COUNT });

    const store = new EmbeddingStore(db.dataSource);
    const model = { modelId: embedder.modelId, dimension: embedder.dimension };
    const vector = (await embedder.embed(['words 3 more 4']))[0];
    const exact = await store.explainExactNearest({ model, vector, limit: 10, genres: ['Rare'] });
    expect(exact).toContain('Hash Join');
    expect(exact).not.toContain('Nested Loop');
    const broad = await store.explainNearest(
      { model, vector, limit: 10, genres: ['Common'] },
      { efSearch: 40 },
    );
    expect(broad).toContain(`Index Scan using movie_embeddings_hnsw_${embedder.dimension}`);
  });

  it('keeps the exact genre-filtered search off nested loops even with no statistics at all', async () => {
    const store = new EmbeddingStore(db.dataSource);
    const model = { modelId: 'test/random', dimension: 384 };
    const random = seededRandom(3);
    for (let start = 1; start <= MOVIE_COUNT; start += 500)
      await store.upsert(
        model,
        Array.from({ length: 500 }, (_, i) => ({
          movieId: start + i,
          textHash: 'random',
          vector: randomUnitVector(random, 384),
        })),
      );
    // Written by upsert alone: nothing analysed them (autovacuum may, which only helps).
    const plan = await store.explainExactNearest({
      model,
      vector: randomUnitVector(random, 384),
      limit: 10,
      genres: ['Rare'],
    });
    expect(plan).not.toContain('Nested Loop');
  });
});
