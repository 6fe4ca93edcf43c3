import { ContentEngine } from '../../../../src/engines/content/content-engine';
import { ContentIndexer, type IndexView } from '../../../../src/engines/content/indexer';
import { createVotePool, type NeighbourVoter } from '../../../../src/engines/content/vote-pool';
import { createTestDatabase, recordStatements, TestDatabase } from '../../../helpers/database';
import { insertMovies } from './helpers/catalog';
import { HashingEmbedder } from './helpers/hashing-embedder';

const embedder = new HashingEmbedder(384);

async function nearestNeighbourStatements(db: TestDatabase, work: () => Promise<unknown>): Promise<number> {
  const statements = await recordStatements(db.dataSource, async () => {
    await work();
  });
  return statements.filter((statement) => statement.includes('<=>')).length;
}

describe('ContentEngine with CONTENT_SEARCH=memory', () => {
  let db: TestDatabase;
  let indexer: ContentIndexer;

  beforeAll(async () => {
    db = await createTestDatabase();
    await insertMovies(db.dataSource);
    indexer = new ContentIndexer({ dataSource: db.dataSource, embedder });
    await indexer.run();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('answers from PostgreSQL until the index is in memory, then from memory with the same answers', async () => {
    const engine = new ContentEngine({ dataSource: db.dataSource, indexer, memorySearch: true });
    expect(engine.searchState()).toEqual({
      answeredBy: 'postgres',
      configured: 'memory',
      building: false,
      index: null,
    });
    let fromPostgres: Awaited<ReturnType<ContentEngine['similarMovies']>> = [];
    // The first request starts the build in the background and is answered by PostgreSQL.
    expect(
      await nearestNeighbourStatements(db, async () => {
        fromPostgres = await engine.similarMovies(1, 5);
      }),
    ).toBeGreaterThan(0);
    const index = await engine.prepareMemoryIndex();
    expect(index?.size).toBe(10);
    // The neighbour table is built after the index; `building` holds until it is.
    await engine.neighbourTableBuilt();
    expect(engine.searchState()).toMatchObject({
      answeredBy: 'memory',
      building: false,
      // Ten movies are compared exactly: no lists to budget.
      index: {
        movies: 10,
        projectedDimensions: 0,
        candidates: { movie: 0, taste: 0, text: 0 },
        current: true,
      },
    });
    let fromMemory: typeof fromPostgres = [];
    expect(
      await nearestNeighbourStatements(db, async () => {
        fromMemory = await engine.similarMovies(1, 5);
      }),
    ).toBe(0);
    expect(fromMemory.map((movie) => movie.movieId)).toEqual(fromPostgres.map((movie) => movie.movieId));
    fromMemory.forEach((movie, i) => expect(movie.score).toBeCloseTo(fromPostgres[i].score, 5));
  });

  it('finds a movie embedded after the build at once: PostgreSQL answers until the rebuild', async () => {
    const engine = new ContentEngine({ dataSource: db.dataSource, indexer, memorySearch: true });
    await engine.prepareMemoryIndex();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres, overview)
       VALUES (20, 'Star Voyage Returns', 1994, '{Sci-Fi,Adventure}', 'astronauts explore space aliens planet')`,
    );
    await indexer.run();
    // Its index holds the generation before the new movie: searches go to PostgreSQL.
    expect(engine.searchState()).toMatchObject({
      answeredBy: 'postgres',
      index: { movies: 10, current: false },
    });
    let similar: Awaited<ReturnType<ContentEngine['similarMovies']>> = [];
    expect(
      await nearestNeighbourStatements(db, async () => {
        similar = await engine.similarMovies(1, 3);
      }),
    ).toBeGreaterThan(0);
    expect(similar.map((movie) => movie.movieId)).toContain(20);

    const rebuilt = await engine.prepareMemoryIndex();
    expect(rebuilt?.size).toBe(11);
    expect(
      await nearestNeighbourStatements(db, async () => {
        similar = await engine.similarMovies(1, 3);
      }),
    ).toBe(0);
    expect(similar.map((movie) => movie.movieId)).toContain(20);
  });

  it('searches for similarMovies, their batch and search on the vote pool, with the in-thread answers', async () => {
    const pool = createVotePool({ workers: 1, logger: () => undefined });
    const searched: string[] = [];
    const recording: NeighbourVoter = {
      votesOf: (candidates, rated, scoring) => pool.votesOf(candidates, rated, scoring),
      nearest: (index, query, limit, filter) => {
        searched.push(filter?.kind ?? 'unknown');
        return pool.nearest(index, query, limit, filter);
      },
      neighbourRows: (index, from, to, perMovie) => pool.neighbourRows(index, from, to, perMovie),
      dispose: () => pool.dispose(),
    };
    try {
      const pooled = new ContentEngine({
        dataSource: db.dataSource,
        indexer,
        memorySearch: true,
        voter: recording,
      });
      const inThread = new ContentEngine({ dataSource: db.dataSource, indexer, memorySearch: true });
      expect(await pooled.prepareMemoryIndex()).not.toBeNull();
      expect(await inThread.prepareMemoryIndex()).not.toBeNull();
      expect(await pooled.similarMovies(1, 5)).toEqual(await inThread.similarMovies(1, 5));
      const batch = await pooled.similarMoviesBatch([3, 1, 2, 3], 4);
      expect([...batch.keys()]).toEqual([3, 1, 2]);
      expect(batch).toEqual(await inThread.similarMoviesBatch([3, 1, 2, 3], 4));
      expect(await pooled.search('space adventure', 5)).toEqual(await inThread.search('space adventure', 5));
      expect(searched).toEqual(['movie', 'movie', 'movie', 'movie', 'text']);
    } finally {
      await recording.dispose();
    }
  });

  it('is not built while the content index is incomplete, nor with CONTENT_SEARCH=postgres', async () => {
    const building: IndexView = {
      progress: () => ({ ...indexer.progress(), complete: false }),
      activeEmbedder: () => indexer.activeEmbedder(),
    };
    const waiting = new ContentEngine({ dataSource: db.dataSource, indexer: building, memorySearch: true });
    expect(await waiting.prepareMemoryIndex()).toBeNull();
    const postgres = new ContentEngine({ dataSource: db.dataSource, indexer });
    await postgres.similarMovies(1, 3);
    expect(postgres.searchState()).toEqual({
      answeredBy: 'postgres',
      configured: 'postgres',
      building: false,
      index: null,
    });
    expect(await nearestNeighbourStatements(db, () => postgres.similarMovies(2, 3))).toBeGreaterThan(0);
  });
});
