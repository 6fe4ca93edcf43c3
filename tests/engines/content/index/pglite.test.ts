import { ContentEngine } from '../../../../src/engines/content/content-engine';
import { EmbeddingStore, neighbourQuerySql } from '../../../../src/engines/content/embedding-store';
import { buildMovieText } from '../../../../src/engines/content/movie-text';
import { ContentIndexer } from '../../../../src/engines/content/indexer';
import { openDatabase } from '../../../../src/db/datasource';
import { EmbeddedDatabase, startEmbeddedDatabase } from '../../../../src/db/embedded';
import { DataSource } from 'typeorm';
import { insertMovies, insertRatings, MOVIES } from './helpers/catalog';
import { HashingEmbedder } from './helpers/hashing-embedder';

function dot(a: Float32Array, b: Float32Array): number {
  return a.reduce((sum, value, i) => sum + value * b[i], 0);
}

describe('content index on the embedded PGlite database', () => {
  let embedded: EmbeddedDatabase;
  let dataSource: DataSource;
  let engine: ContentEngine;
  const embedder = new HashingEmbedder(512);

  beforeAll(async () => {
    embedded = await startEmbeddedDatabase({ dataDir: null, port: 0, poolSize: 2 });
    dataSource = await openDatabase({ url: embedded.url, poolSize: 2 });
    await insertMovies(dataSource);
    await insertRatings(dataSource, 1, { 1: 5, 4: 1, 6: 3 });
    // A bulk build (the index dropped, then built after the writes) on PGlite: the test of the plan below
    // then also shows the rebuilt index is the one queries match.
    const indexer = new ContentIndexer({ dataSource, embedder, batchSize: 4, bulkIndexMinStale: 1 });
    await indexer.run();
    engine = new ContentEngine({ dataSource, indexer });
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await embedded?.stop();
  });

  it('supports iterative HNSW scans and matches the partial index', async () => {
    const store = new EmbeddingStore(dataSource);
    expect(await store.supportsIterativeScan()).toBe(true);
    const plan = await dataSource.transaction(async (manager) => {
      // As preferHnsw does: now that the indexer analyses, the planner knows the table holds a
      // dozen rows and would rather sort them; the point here is that the partial index matches.
      await manager.query(`SET LOCAL enable_sort = off`);
      await manager.query(`SET LOCAL enable_seqscan = off`);
      await manager.query(`SET LOCAL enable_bitmapscan = off`);
      const { sql, params } = neighbourQuerySql({
        model: { modelId: 'any', dimension: 512 },
        vector: new Float32Array(512).fill(1 / Math.sqrt(512)),
        limit: 5,
        genres: ['Crime'],
      });
      const rows: { 'QUERY PLAN': string }[] = await manager.query(`EXPLAIN ${sql}`, params);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('Index Scan using movie_embeddings_hnsw_512');
  });

  it('answers similar-movie, search and recommendation queries', async () => {
    const similar = await engine.similarMovies(1, 3);
    expect(similar.map((movie) => movie.movieId)).not.toContain(1);
    expect(similar[0].movieId).toBe(2);
    const query = embedder.vectorOf('romantic love in paris');
    const romances = MOVIES.filter((movie) => movie.genres.includes('Romance'))
      .map((movie) => ({ movieId: movie.id, score: dot(query, embedder.vectorOf(buildMovieText(movie))) }))
      .sort((a, b) => b.score - a.score);
    const found = await engine.search('romantic love in paris', 5, { genres: ['Romance'] });
    expect(found.map((movie) => movie.movieId)).toEqual(romances.map((movie) => movie.movieId));
    found.forEach((movie, i) => expect(movie.score).toBeCloseTo(romances[i].score, 5));
    const recommended = await engine.recommend({ userId: 1, limit: 3 });
    expect(recommended).toHaveLength(3);
    expect(recommended.map((movie) => movie.movieId)).not.toEqual(expect.arrayContaining([1]));
    expect(recommended[0].evidence?.[0]).toMatchObject({ movieId: 1, rating: 5 });
  });
});
