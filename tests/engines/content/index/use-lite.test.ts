import { ContentEngine } from '../../../../src/engines/content/content-engine';
import { createUseLiteEmbedder, type Embedder } from '../../../../src/engines/content/embedders';
import { ContentIndexer } from '../../../../src/engines/content/indexer';
import { createTestDatabase, TestDatabase } from '../../../helpers/database';
import { insertMovies } from './helpers/catalog';

/** The real model on four movies: the index and queries work with 512-d use-lite vectors end to end. */
describe('content engine with the use-lite embedder', () => {
  let db: TestDatabase;
  let embedder: Embedder;
  let engine: ContentEngine;

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource, [
      {
        id: 1,
        title: 'Alien',
        year: 1979,
        genres: ['Horror', 'Sci-Fi'],
        overview: 'The crew of a spaceship is hunted by a deadly alien creature.',
      },
      {
        id: 2,
        title: 'Aliens',
        year: 1986,
        genres: ['Action', 'Sci-Fi'],
        overview: 'Marines fight hostile aliens on a distant planet colony.',
      },
      {
        id: 3,
        title: 'Amelie',
        year: 2001,
        genres: ['Comedy', 'Romance'],
        overview: 'A shy waitress in Paris secretly helps others and finds love.',
      },
      {
        id: 4,
        title: 'Before Sunrise',
        year: 1995,
        genres: ['Drama', 'Romance'],
        overview: 'Two strangers fall in love over one night in Vienna.',
      },
    ]);
    embedder = await createUseLiteEmbedder();
    const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder });
    await indexer.run();
    engine = new ContentEngine({ dataSource: db.dataSource, indexer });
  });
  afterAll(async () => {
    await embedder?.dispose?.();
    await db?.drop();
  });

  it('stores 512-d vectors under the use-lite model id', async () => {
    const rows = await db.dataSource.query(`SELECT DISTINCT model_id, dimension FROM movie_embeddings`);
    expect(rows).toEqual([{ model_id: embedder.modelId, dimension: 512 }]);
  });

  it('puts the sequel closest to the original and finds the Paris romance by its description', async () => {
    const similar = await engine.similarMovies(1, 3);
    expect(similar[0].movieId).toBe(2);
    const [best] = await engine.search('a romantic story in Paris', 1);
    expect(best.movieId).toBe(3);
  });
});
