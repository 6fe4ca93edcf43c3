/**
 * Where the content index's time goes per movie on a real database: reading the movies' text inputs (title,
 * genres, tag counts), building the texts, embedding them (use-lite in-process and as a worker pool), and
 * writing the vectors with and without the HNSW index maintained on every insert. Works on the first
 * --limit movies of the catalog at DATABASE_URL; the writes run in transactions that are rolled back, so the
 * database is left as it was.
 *
 *   DATABASE_URL=... node -r @swc-node/register scripts/profile-content-index.ts [--limit 3000]
 *     [--batch-size 64] [--workers 2] [--in-process 600] [--last]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { answerHelp } from '../src/cli-help';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/datasource';
import { createUseLiteEmbedder, createUseLitePool, type Embedder } from '../src/engines/content/embedders';
import { EmbeddingStore } from '../src/engines/content/embedding-store';
import { buildMovieText, contentHash } from '../src/engines/content/movie-text';
import { INDEXED_EMBEDDING_DIMENSIONS } from '../migrations/1764000300000-ContentEmbeddings';

answerHelp(`Usage: DATABASE_URL=... node -r @swc-node/register scripts/profile-content-index.ts [options]

Splits the content index's work on the first --limit movies into its stages and prints seconds and
movies/s for each: reading text inputs, building texts, embedding (in-process on --in-process texts, then a
--workers pool on all), writing with the HNSW index, writing without it. Writes are rolled back.

  --limit <n>        movies to profile (default 3000)
  --batch-size <n>   texts per read, embed call and INSERT, as the indexer (default 64)
  --workers <n>      pool size for the pooled embedding (default 2)
  --in-process <n>   texts embedded on the calling thread (default 600; 0 skips it)
  --last             the last --limit movies instead of the first (with the rest embedded: writes into a
                     full-size HNSW graph)
  -h, --help         print this text`);

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

function line(stage: string, elapsed: number, count: number): void {
  const rate = count / Math.max(elapsed, 1e-9);
  console.log(
    `${stage.padEnd(34)} ${elapsed.toFixed(2).padStart(8)} s  ${rate.toFixed(1).padStart(9)} /s  ` +
      `${((elapsed / count) * 1000).toFixed(2).padStart(8)} ms/movie`,
  );
}

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

async function embedAll(embedder: Embedder, texts: string[], batchSize: number): Promise<Float32Array[]> {
  const vectors: Float32Array[] = [];
  for (const batch of batches(texts, batchSize)) vectors.push(...(await embedder.embed(batch)));
  return vectors;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      limit: { type: 'string', default: '3000' },
      'batch-size': { type: 'string', default: '64' },
      workers: { type: 'string', default: '2' },
      'in-process': { type: 'string', default: '600' },
      last: { type: 'boolean', default: false },
    },
  });
  const limit = Number(values.limit);
  const batchSize = Number(values['batch-size']);
  const workers = Number(values.workers);
  const inProcess = Number(values['in-process']);
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('set DATABASE_URL to a database with an imported catalog');
  const dataSource = await openDatabase({ url: config.databaseUrl, poolSize: 2 });
  const store = new EmbeddingStore(dataSource);
  try {
    console.log(
      `load average at the start: ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
    // The last movies of a catalog whose other movies are embedded show what inserting into a full-size
    // HNSW graph costs.
    const idRows: { id: number }[] = await dataSource.query(
      `SELECT id FROM movies ORDER BY id ${values.last ? 'DESC' : ''} LIMIT $1`,
      [limit],
    );
    const ids = idRows.map((row) => row.id).sort((a, b) => a - b);
    console.log(`${ids.length} movies, batches of ${batchSize}`);

    let started = performance.now();
    const sources = [];
    for (const batch of batches(ids, batchSize))
      sources.push(...(await store.movieTextSources({ ids: batch })));
    line('read text inputs', seconds(started), ids.length);

    started = performance.now();
    const texts = sources.map((source) => buildMovieText(source.input));
    const hashes = texts.map(contentHash);
    line('build texts + hash', seconds(started), ids.length);
    const lengths = texts.map((text) => text.length).sort((a, b) => a - b);
    const at = (q: number) => lengths[Math.min(lengths.length - 1, Math.floor(q * lengths.length))];
    const mean = lengths.reduce((sum, length) => sum + length, 0) / lengths.length;
    console.log(
      `text chars: mean ${mean.toFixed(0)}, p10 ${at(0.1)}, p50 ${at(0.5)}, p90 ${at(0.9)}, max ${at(1)}`,
    );

    if (inProcess > 0) {
      const single = await createUseLiteEmbedder();
      try {
        await single.embed(texts.slice(0, 16));
        started = performance.now();
        const count = Math.min(inProcess, texts.length);
        await embedAll(single, texts.slice(0, count), batchSize);
        line('embed, in-process (1 thread)', seconds(started), count);
      } finally {
        await single.dispose?.();
      }
    }

    const pool = await createUseLitePool({ workers });
    let vectors: Float32Array[];
    try {
      await pool.embed(texts.slice(0, 32));
      started = performance.now();
      vectors = await embedAll(pool, texts, batchSize);
      line(`embed, pool of ${workers}`, seconds(started), texts.length);
    } finally {
      await pool.dispose?.();
    }

    const model = { modelId: pool.modelId, dimension: pool.dimension };
    const rows = sources.map((source, i) => ({
      movieId: source.movieId,
      textHash: hashes[i],
      vector: vectors[i],
    }));
    for (const withIndex of [true, false]) {
      const runner = dataSource.createQueryRunner();
      await runner.connect();
      try {
        await runner.startTransaction();
        // Rows already embedded would make the insert an update; the measure is of a first build.
        await runner.query(`DELETE FROM movie_embeddings WHERE movie_id = ANY($1::int[])`, [ids]);
        if (!withIndex)
          for (const dimension of INDEXED_EMBEDDING_DIMENSIONS)
            await runner.query(`DROP INDEX movie_embeddings_hnsw_${dimension}`);
        const writer = new EmbeddingStore(runner.manager.connection, undefined);
        // The store runs on the data source; route its queries through this transaction instead.
        (writer as unknown as { dataSource: { query: typeof runner.query } }).dataSource = {
          query: (sql: string, params?: unknown[]) => runner.query(sql, params),
        };
        started = performance.now();
        for (const batch of batches(rows, batchSize)) await writer.upsert(model, batch);
        line(`write, ${withIndex ? 'HNSW maintained' : 'no HNSW index'}`, seconds(started), rows.length);
      } finally {
        await runner.rollbackTransaction();
        await runner.release();
      }
    }
    console.log(
      `load average at the end: ${loadavg()
        .map((load) => load.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
