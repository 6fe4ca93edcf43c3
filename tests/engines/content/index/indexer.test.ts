import { fromSql } from 'pgvector';
import { ContentEngine } from '../../../../src/engines/content/content-engine';
import { ContentIndexer, IndexProgress } from '../../../../src/engines/content/indexer';
import { buildMovieText, contentHash } from '../../../../src/engines/content/movie-text';
import { EngineNotReadyError } from '../../../../src/engines/engine';
import { createTestDatabase, TestDatabase } from '../../../helpers/database';
import { embeddingRows, insertMovies, MOVIES } from './helpers/catalog';
import { HashingEmbedder, until } from './helpers/hashing-embedder';

function parseVector(text: string): number[] {
  return fromSql(text) as number[];
}

describe('ContentIndexer', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.dataSource.query(`TRUNCATE movies, users CASCADE`);
    await insertMovies(db.dataSource);
  });

  it('embeds every movie text in batches and stores model, dimension, hash and the exact vector', async () => {
    const embedder = new HashingEmbedder(384);
    const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder, batchSize: 4 });
    const summary = await indexer.run();

    expect(summary).toMatchObject({ total: 10, unchanged: 0, embedded: 10, skipped: 0 });
    expect(embedder.calls.map((call) => call.length)).toEqual([4, 4, 2]);
    const rows = await embeddingRows(db.dataSource);
    expect(rows.map((row) => row.movie_id)).toEqual(MOVIES.map((movie) => movie.id));
    for (const row of rows) {
      const movie = MOVIES.find((candidate) => candidate.id === row.movie_id)!;
      const text = buildMovieText(movie);
      expect(row).toMatchObject({ model_id: embedder.modelId, dimension: 384, text_hash: contentHash(text) });
      expect(new Float32Array(parseVector(row.embedding))).toEqual(embedder.vectorOf(text));
    }
    expect(indexer.progress()).toMatchObject({
      state: 'ready',
      done: 10,
      total: 10,
      fraction: 1,
      complete: true,
    });
  });

  it('puts the most used tags into the text', async () => {
    await db.dataSource.query(`INSERT INTO users (id) VALUES (1), (2), (3)`);
    await db.dataSource.query(
      `INSERT INTO tags (user_id, movie_id, tag, tagged_at) VALUES
         (1, 4, 'heist', now()), (2, 4, 'heist', now()), (3, 4, 'slow', now()), (1, 4, 'heist', now() - interval '1 day')`,
    );
    const embedder = new HashingEmbedder();
    await new ContentIndexer({ dataSource: db.dataSource, embedder }).run();
    const text = embedder.embeddedTexts.find((candidate) => candidate.startsWith('Bank Heist'));
    // Two distinct users tagged "heist" (one of them twice), one tagged "slow".
    expect(text).toContain('Tags: heist, slow.');
  });

  it('skips unchanged movies on a re-run and re-embeds only those whose text changed', async () => {
    const embedder = new HashingEmbedder();
    await new ContentIndexer({ dataSource: db.dataSource, embedder }).run();
    const [before] = await db.dataSource.query(`SELECT embedded_at FROM movie_embeddings WHERE movie_id = 1`);

    const rerun = new HashingEmbedder();
    const unchanged = await new ContentIndexer({ dataSource: db.dataSource, embedder: rerun }).run();
    expect(unchanged).toMatchObject({ unchanged: 10, embedded: 0 });
    expect(rerun.calls).toEqual([]);

    await db.dataSource.query(
      `UPDATE movies SET overview = 'a brand new plot about submarines' WHERE id = 5`,
    );
    const changed = new HashingEmbedder();
    const summary = await new ContentIndexer({ dataSource: db.dataSource, embedder: changed }).run();
    expect(summary).toMatchObject({ unchanged: 9, embedded: 1 });
    expect(changed.embeddedTexts).toEqual([expect.stringContaining('submarines')]);
    const [after] = await db.dataSource.query(`SELECT embedded_at FROM movie_embeddings WHERE movie_id = 1`);
    expect(after.embedded_at).toEqual(before.embedded_at);
  });

  it('embeds as background work until the index is complete, and as foreground work after', async () => {
    const embedder = new HashingEmbedder();
    const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder, batchSize: 4 });
    await indexer.run();
    // Nothing is served from an incomplete index, so no request waits on these.
    expect(embedder.background).toEqual([true, true, true]);
    await db.dataSource.query(`UPDATE movies SET overview = 'a new plot about a lighthouse' WHERE id = 3`);
    await indexer.run();
    // The index is being served: a query's embedding may wait behind these.
    expect(embedder.background).toEqual([true, true, true, false]);
  });

  it('re-embeds everything when the model changes, including to another dimension', async () => {
    await new ContentIndexer({
      dataSource: db.dataSource,
      embedder: new HashingEmbedder(384, 'model-a'),
    }).run();
    const other = new HashingEmbedder(512, 'model-b');
    const summary = await new ContentIndexer({ dataSource: db.dataSource, embedder: other }).run();
    expect(summary).toMatchObject({ unchanged: 0, embedded: 10 });
    const rows = await embeddingRows(db.dataSource);
    expect(new Set(rows.map((row) => `${row.model_id}/${row.dimension}`))).toEqual(new Set(['model-b/512']));
    expect(parseVector(rows[0].embedding)).toHaveLength(512);
  });

  it('re-embeds unchanged movies when forced', async () => {
    await new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();
    const embedder = new HashingEmbedder();
    const summary = await new ContentIndexer({ dataSource: db.dataSource, embedder }).run({ force: true });
    expect(summary).toMatchObject({ unchanged: 0, embedded: 10 });
  });

  it('resumes after an interrupted run without embedding the finished batches again', async () => {
    const failing = new HashingEmbedder();
    failing.failOn(2);
    const interrupted = new ContentIndexer({ dataSource: db.dataSource, embedder: failing, batchSize: 4 });
    await expect(interrupted.run()).rejects.toThrow('embedder failure on call 2');
    expect(interrupted.progress()).toMatchObject({
      state: 'failed',
      complete: false,
      error: 'embedder failure on call 2',
    });
    expect(await embeddingRows(db.dataSource)).toHaveLength(4);

    const embedder = new HashingEmbedder();
    const summary = await new ContentIndexer({ dataSource: db.dataSource, embedder, batchSize: 4 }).run();
    expect(summary).toMatchObject({ unchanged: 4, embedded: 6 });
    expect(embedder.embeddedTexts).toHaveLength(6);
  });

  it('reports a failure only once the batch it was writing is written', async () => {
    const failing = new HashingEmbedder();
    failing.failOn(2);
    // SHARE blocks the batch's INSERT, not the reads of the movies' texts.
    const blocker = db.dataSource.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query('LOCK TABLE movie_embeddings IN SHARE MODE');
    let settled = false;
    const run = new ContentIndexer({ dataSource: db.dataSource, embedder: failing, batchSize: 4 })
      .run()
      .catch((error: unknown) => error)
      .finally(() => (settled = true));
    try {
      await until(() => failing.calls.length === 2, 'the failing second call');
      // The failure is known now; the first batch's write is still waiting for the lock.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(settled).toBe(false);
    } finally {
      await blocker.commitTransaction();
      await blocker.release();
    }
    expect(String(await run)).toMatch('embedder failure on call 2');
    expect(await embeddingRows(db.dataSource)).toHaveLength(4);
  });

  it('reports progress while building; the engine is not ready and says how far the build is', async () => {
    const embedder = new HashingEmbedder();
    const seen: IndexProgress[] = [];
    const indexer = new ContentIndexer({
      dataSource: db.dataSource,
      embedder,
      batchSize: 4,
      onProgress: (progress) => seen.push(progress),
    });
    const engine = new ContentEngine({ dataSource: db.dataSource, indexer });
    expect(engine.status()).toEqual({ ready: false, reason: 'index not built yet', progress: 0 });

    const release = embedder.hold();
    const run = indexer.startInBackground();
    await until(() => embedder.calls.length === 1, 'the first embed call');
    expect(engine.status()).toEqual({ ready: false, reason: 'index building: 0%', progress: 0 });
    release();
    // The next batch is held too, so the build stops with exactly the first batch of 4 written.
    const midway = embedder.hold();
    await until(
      () => embedder.calls.length === 2 && indexer.progress().done === 4,
      'the first batch to be written',
    );
    expect(engine.status()).toEqual({ ready: false, reason: 'index building: 40%', progress: 0.4 });
    await expect(engine.similarMovies(1, 3)).rejects.toThrow(EngineNotReadyError);
    await expect(engine.search('space', 3)).rejects.toMatchObject({
      name: 'EngineNotReadyError',
      engine: 'content',
      message: 'content engine not ready: index building: 40%',
      progress: 0.4,
    });
    await expect(engine.recommend({ userId: 1, limit: 3 })).rejects.toThrow('index building: 40%');
    midway();
    await run;

    expect(engine.status()).toEqual({ ready: true });
    const fractions = seen
      .filter((progress) => progress.state === 'building')
      .map((progress) => progress.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(seen.at(-1)).toMatchObject({ state: 'ready', fraction: 1, embedded: 10 });
  });

  it('logs throttled progress lines while embedding: n/N texts, texts/s, ETA', async () => {
    const lines: string[] = [];
    const logger = { debug() {}, info: (line: string) => lines.push(line), warn() {}, error() {} };
    let now = 0;
    const indexer = new ContentIndexer({
      dataSource: db.dataSource,
      embedder: new HashingEmbedder(),
      batchSize: 2,
      logger,
      // Each reading of the clock is 2 s later: with a 5 s interval, every third batch gets a line.
      progressLog: { intervalMs: 5_000, now: () => (now += 2_000) },
    });
    await indexer.run();
    const progress = lines.filter((line) => line.includes(' texts/s'));
    expect(progress).toEqual([
      'content index (test/hashing-bag-of-words): 6/10 texts (60%), 1.0 texts/s, 6s elapsed, ETA 4s',
    ]);
  });

  it('counts unchanged movies as done from the start of a resumed build', async () => {
    await new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();
    await db.dataSource.query(`UPDATE movies SET overview = overview || ' sequel' WHERE id IN (2, 3)`);
    const embedder = new HashingEmbedder();
    const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder });
    const engine = new ContentEngine({ dataSource: db.dataSource, indexer });
    const release = embedder.hold();
    const run = indexer.run();
    await until(() => embedder.calls.length === 1, 'the embed call');
    expect(engine.status()).toEqual({ ready: false, reason: 'index building: 80%', progress: 0.8 });
    release();
    await run;
  });

  it('reports a model that fails to load, and shares one run between concurrent callers', async () => {
    const broken = new ContentIndexer({
      dataSource: db.dataSource,
      embedder: Promise.reject(new Error('weights not found')),
    });
    const engine = new ContentEngine({ dataSource: db.dataSource, indexer: broken });
    await expect(broken.startInBackground()).rejects.toThrow('weights not found');
    expect(engine.status()).toEqual({ ready: false, reason: 'index build failed: weights not found' });

    let resolveModel!: (embedder: HashingEmbedder) => void;
    const loading = new ContentIndexer({
      dataSource: db.dataSource,
      embedder: new Promise<HashingEmbedder>((resolve) => {
        resolveModel = resolve;
      }),
    });
    const waiting = new ContentEngine({ dataSource: db.dataSource, indexer: loading });
    const first = loading.run();
    expect(loading.run()).toBe(first);
    await until(() => loading.progress().state === 'loading-model', 'the model load');
    expect(waiting.status()).toEqual({ ready: false, reason: 'loading embedding model', progress: 0 });
    resolveModel(new HashingEmbedder());
    await expect(first).resolves.toMatchObject({ embedded: 10 });
    expect(waiting.status()).toEqual({ ready: true });
  });

  it('leaves out movies without usable text and still completes', async () => {
    await db.dataSource.query(`INSERT INTO movies (id, title) VALUES (11, '   ')`);
    const summary = await new ContentIndexer({
      dataSource: db.dataSource,
      embedder: new HashingEmbedder(),
    }).run();
    expect(summary).toMatchObject({ total: 11, embedded: 10, skipped: 1 });
  });

  describe('HNSW index on bulk writes', () => {
    const indexDefinition = async (dimension: number): Promise<string | null> => {
      const rows: { indexdef: string }[] = await db.dataSource.query(
        `SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1`,
        [`movie_embeddings_hnsw_${dimension}`],
      );
      return rows[0]?.indexdef ?? null;
    };
    let migrated: string;

    beforeAll(async () => {
      migrated = (await indexDefinition(384))!;
      expect(migrated).toContain('USING hnsw');
    });

    /** Records, at every embed() call, whether the index was in place. */
    function watching(embedder: HashingEmbedder) {
      const seen: boolean[] = [];
      const watched = Object.create(embedder) as HashingEmbedder;
      watched.embed = async (texts) => {
        seen.push((await indexDefinition(embedder.dimension)) !== null);
        return embedder.embed(texts);
      };
      return { watched, seen };
    }

    it('drops the index while a first build writes, and rebuilds it as the migration defined it', async () => {
      const { watched, seen } = watching(new HashingEmbedder());
      const indexer = new ContentIndexer({
        dataSource: db.dataSource,
        embedder: watched,
        batchSize: 4,
        bulkIndexMinStale: 5,
      });
      await indexer.run();
      expect(seen).toEqual([false, false, false]);
      expect(await indexDefinition(384)).toBe(migrated);
      expect(indexer.progress()).toMatchObject({ state: 'ready', complete: true });
    });

    it('keeps the index when the run keeps current vectors, is forced, or writes few movies', async () => {
      await new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() }).run();
      await db.dataSource.query(`UPDATE movies SET overview = 'submarines and whales' WHERE id <= 6`);
      const changed = watching(new HashingEmbedder());
      await new ContentIndexer({
        dataSource: db.dataSource,
        embedder: changed.watched,
        batchSize: 2,
        bulkIndexMinStale: 1,
      }).run();
      expect(changed.seen).toEqual([true, true, true]);

      const forced = watching(new HashingEmbedder());
      await new ContentIndexer({
        dataSource: db.dataSource,
        embedder: forced.watched,
        batchSize: 5,
        bulkIndexMinStale: 1,
      }).run({ force: true });
      expect(forced.seen).toEqual([true, true]);

      const few = watching(new HashingEmbedder(384, 'another-model'));
      await new ContentIndexer({
        dataSource: db.dataSource,
        embedder: few.watched,
        batchSize: 5,
        bulkIndexMinStale: 11,
      }).run();
      expect(few.seen).toEqual([true, true]);
      expect(await indexDefinition(384)).toBe(migrated);
    });

    it('builds the index a failed bulk build left missing when the run resumes', async () => {
      const failing = new HashingEmbedder();
      failing.failOn(2);
      const interrupted = new ContentIndexer({
        dataSource: db.dataSource,
        embedder: failing,
        batchSize: 4,
        bulkIndexMinStale: 5,
      });
      await expect(interrupted.run()).rejects.toThrow('embedder failure on call 2');
      expect(await indexDefinition(384)).toBeNull();

      const resumed = watching(new HashingEmbedder());
      const summary = await new ContentIndexer({
        dataSource: db.dataSource,
        embedder: resumed.watched,
        batchSize: 4,
        bulkIndexMinStale: 5,
      }).run();
      expect(summary).toMatchObject({ unchanged: 4, embedded: 6 });
      expect(resumed.seen).toEqual([false, false]);
      expect(await indexDefinition(384)).toBe(migrated);
    });

    it('leaves dimensions without an HNSW index alone', async () => {
      const embedder = new HashingEmbedder(64, 'small-model');
      await new ContentIndexer({ dataSource: db.dataSource, embedder, bulkIndexMinStale: 1 }).run();
      expect(await indexDefinition(64)).toBeNull();
      expect(await indexDefinition(384)).toBe(migrated);
    });
  });
});
