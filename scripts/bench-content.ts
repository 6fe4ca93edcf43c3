/**
 * Content engine benchmark: recall@10 of the HNSW search against exact search, and p50/p95/p99 latency of
 * similar-movie, search and recommend queries, for several hnsw.ef_search values. Also the indexing
 * throughput, an EXPLAIN ANALYZE showing the index in use, and the taste profile computed in TypeScript
 * versus in SQL.
 *
 *   node -r @swc-node/register scripts/bench-content.ts [--schema NAME] [--random] [--movies 10000]
 *     [--ef 10,20,40,60,100,200] [--samples 200] [--provider use-lite|transformers|auto] [--keep-schema]
 *
 * The catalog: --schema NAME (e.g. one kept by `scripts/content-quality.ts --keep-schema`), else the one
 * DATABASE_URL points at if it has movies, else MOVIELENS_DIR imported into a fresh schema; with --random or
 * none of those, 10,000 fake movies whose "embedding" is a random unit vector seeded by the movie text.
 * Every movie missing an embedding for the model is embedded first (as `npm run embed` would).
 */
import { createHash, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config';
import { importRelease } from '../src/data/importer';
import { openDatabase } from '../src/db/datasource';
import { ContentEngine } from '../src/engines/content/content-engine';
import { embedderFor } from '../src/app';
import { type Embedder, type EmbedderMode } from '../src/engines/content/embedders';
import {
  EmbeddingModel,
  EmbeddingStore,
  Neighbour,
  NeighbourQuery,
} from '../src/engines/content/embedding-store';
import { ContentIndexer } from '../src/engines/content/indexer';
import { computeTasteProfile, RatedVector } from '../src/engines/content/taste-profile';
import { createLogger } from '../src/logger';
import { searchVectorIndex, type QueryKind } from '../src/engines/content/vector-index';
import { answerHelp } from '../src/cli-help';

answerHelp(`Usage: node -r @swc-node/register scripts/bench-content.ts [--schema NAME] [--random] [--movies 10000]
    [--ef 10,20,40,60,100,200] [--samples 200] [--provider use-lite|transformers|auto] [--keep-schema]

Content engine benchmark: HNSW recall@10 against exact search and p50/p95/p99 latency of similar-movie,
search and recommend queries per hnsw.ef_search, indexing throughput, EXPLAIN ANALYZE, taste profile in
TypeScript versus SQL. The catalog: --schema NAME, else DATABASE_URL's if it has movies, else MOVIELENS_DIR
imported into a fresh schema; with --random (or none of those) fake movies with random unit vectors.

  -h, --help   print this text`);

const GENRES = ['Action', 'Adventure', 'Animation', 'Children', 'Comedy', 'Crime', 'Documentary', 'Drama'];
const RARE_GENRES = ['Film-Noir', 'Western', 'Musical', 'War', 'IMAX', 'Horror', 'Sci-Fi', 'Romance'];

const SEARCH_QUERIES = [
  'mind-bending thriller about dreams',
  'space adventure with aliens',
  'romantic comedy in Paris',
  'animated movie for kids',
  'gangster family drama',
  'bank robbery gone wrong',
  'zombie apocalypse survival',
  'coming of age story in high school',
  'world war two soldiers',
  'detective solving a murder mystery',
  'superhero saves the city',
  'haunted house horror',
  'musical with singing and dancing',
  'time travel paradox',
  'courtroom drama about justice',
  'western with cowboys and outlaws',
  'road trip with friends',
  'artificial intelligence robots',
  'sports underdog team',
  'heist with a clever twist',
];

/** A random unit vector per text, seeded by its hash: stands in for a model on a synthetic catalog. */
class SeededRandomEmbedder implements Embedder {
  readonly provider = 'transformers' as const;
  readonly modelId = 'bench/seeded-random-unit';
  constructor(readonly dimension: number) {}
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((text) => {
      let state = createHash('sha256').update(text).digest().readUInt32LE(0);
      const next = () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const vector = new Float32Array(this.dimension);
      for (let i = 0; i < vector.length; i++)
        vector[i] = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      const norm = Math.hypot(...vector);
      return vector.map((value) => value / norm);
    });
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function latencySummary(milliseconds: number[]): string {
  const sorted = [...milliseconds].sort((a, b) => a - b);
  const format = (value: number) => value.toFixed(2).padStart(7);
  return `p50 ${format(percentile(sorted, 0.5))}  p95 ${format(percentile(sorted, 0.95))}  p99 ${format(percentile(sorted, 0.99))} ms`;
}

async function timed<T>(samples: number[], work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  samples.push(performance.now() - started);
  return result;
}

function recallOf(approximate: Neighbour[], exact: Neighbour[]): number {
  if (exact.length === 0) return 1;
  const expected = new Set(exact.map((neighbour) => neighbour.movieId));
  return approximate.filter((neighbour) => expected.has(neighbour.movieId)).length / exact.length;
}

/** A deterministic sample of `count` items, so every ef_search value sees the same queries. */
function sample<T>(items: readonly T[], count: number): T[] {
  const step = Math.max(1, Math.floor(items.length / count));
  return items.filter((_, i) => i % step === 0).slice(0, count);
}

async function loadSyntheticCatalog(dataSource: DataSource, movies: number): Promise<void> {
  await dataSource.query(
    `INSERT INTO movies (id, title, year, genres)
     SELECT i, 'Synthetic movie ' || i, 1950 + i % 70,
            ARRAY[($1::text[])[1 + i % 8], ($2::text[])[1 + (i / 8) % 8]]
       FROM generate_series(1, $3::int) i`,
    [GENRES, RARE_GENRES, movies],
  );
  await dataSource.query(`INSERT INTO users (id) SELECT generate_series(1, 500)`);
  // 40 ratings per user on movies spread over the catalog, half-star ratings from 0.5 to 5.
  await dataSource.query(
    `INSERT INTO ratings (user_id, movie_id, rating)
     SELECT DISTINCT ON (u, m) u, m, (1 + (u * 7 + k * 13) % 10) / 2.0
       FROM generate_series(1, 500) u, generate_series(1, 40) k,
            LATERAL (SELECT 1 + ((u * 7919 + k * 104729) % $1::int) AS m) pick`,
    [movies],
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      schema: { type: 'string' },
      random: { type: 'boolean', default: false },
      movies: { type: 'string', default: '10000' },
      ef: { type: 'string', default: '10,20,40,60,100,200' },
      samples: { type: 'string', default: '200' },
      provider: { type: 'string', default: 'use-lite' },
      'keep-schema': { type: 'boolean', default: false },
    },
  });
  const efValues = values.ef.split(',').map(Number);
  const samples = Number(values.samples);
  const config = loadConfig();
  if (!config.databaseUrl) throw new Error('set DATABASE_URL: the benchmark measures a real Postgres');
  const logger = createLogger('warn');

  let schema = values.schema;
  let ownSchema = false;
  const probe = await openDatabase({ url: config.databaseUrl, poolSize: 1, schema });
  const [{ count: existingMovies }] = await probe.query(`SELECT count(*)::int AS count FROM movies`);
  await probe.destroy();
  let source: 'existing' | 'movielens' | 'random' = 'existing';
  if (values.random || (!schema && existingMovies === 0)) {
    source = !values.random && config.movielensDir ? 'movielens' : 'random';
    schema = `bench_content_${randomBytes(4).toString('hex')}`;
    ownSchema = true;
  }
  const dataSource = await openDatabase({ url: config.databaseUrl, poolSize: 4, schema });
  try {
    if (source === 'movielens') {
      const summary = await importRelease(dataSource, config.movielensDir!);
      console.log(`imported ${summary.movies} movies, ${summary.ratings} ratings into ${schema}`);
    }
    if (source === 'random') await loadSyntheticCatalog(dataSource, Number(values.movies));

    const embedder: Embedder =
      source === 'random'
        ? new SeededRandomEmbedder(512)
        : await embedderFor({ ...config, embeddings: values.provider as EmbedderMode }, logger);
    const model: EmbeddingModel = { modelId: embedder.modelId, dimension: embedder.dimension };
    const indexer = new ContentIndexer({ dataSource, embedder, logger });
    const indexed = await indexer.run();
    console.log(
      `catalog: ${source}${schema ? ` (schema ${schema})` : ''}, ${indexed.total} movies, model ${model.modelId} ` +
        `(${model.dimension}-d); indexing: ${indexed.embedded} embedded, ${indexed.unchanged} unchanged in ` +
        `${indexed.seconds.toFixed(1)} s` +
        (indexed.embedded > 0 ? ` (${(indexed.embedded / indexed.seconds).toFixed(0)} movies/s)` : ''),
    );
    await dataSource.query(`ANALYZE movie_embeddings`);

    const store = new EmbeddingStore(dataSource);
    const movieIds: number[] = (
      await dataSource.query(`SELECT movie_id FROM movie_embeddings WHERE model_id = $1 ORDER BY movie_id`, [
        model.modelId,
      ])
    ).map((row: { movie_id: number }) => row.movie_id);
    const userIds: number[] = (
      await dataSource.query(
        `SELECT user_id FROM ratings GROUP BY user_id HAVING count(*) >= 5 ORDER BY user_id`,
      )
    ).map((row: { user_id: number }) => row.user_id);
    const sampledMovies = sample(movieIds, samples);
    const sampledUsers = sample(userIds, Math.min(samples, 100));

    // The query points, computed once: recall compares approximate and exact answers for the same points.
    const similarQueries: NeighbourQuery[] = [];
    for (const movieId of sampledMovies) {
      const { vector } = await store.embeddingOf(movieId, model.modelId);
      similarQueries.push({ model, vector: vector!, limit: 10, excludeIds: [movieId] });
    }
    const genreQueries = similarQueries.map((query, i) => ({
      ...query,
      genres: [RARE_GENRES[i % RARE_GENRES.length]],
    }));
    const searchTexts = source === 'random' ? SEARCH_QUERIES.map((q, i) => `${q} ${i}`) : SEARCH_QUERIES;
    const searchVectors = await embedder.embed(searchTexts);
    const searchQueries = searchVectors.map((vector): NeighbourQuery => ({ model, vector, limit: 10 }));
    const recommendQueries: NeighbourQuery[] = [];
    const profileMs = { typescript: [] as number[], sql: [] as number[] };
    for (const userId of sampledUsers) {
      const ratings = await timed(profileMs.typescript, async () => {
        const fetched = await store.userRatings(userId, model.modelId);
        const rated = fetched.ratings.filter((rating): rating is RatedVector => rating.vector !== null);
        return { fetched, profile: computeTasteProfile(rated, fetched.userMean!) };
      });
      await timed(profileMs.sql, () => store.tasteProfileInSql(userId, model));
      if (!ratings.profile) continue;
      recommendQueries.push({
        model,
        vector: ratings.profile.vector,
        limit: 10,
        excludeIds: ratings.fetched.ratings.map((rating) => rating.movieId),
      });
    }
    const ratingCounts = (
      await dataSource.query(`SELECT count(*)::int AS n FROM ratings WHERE user_id = ANY($1::int[])`, [
        sampledUsers,
      ])
    )[0].n;
    console.log(
      `taste profile over ${sampledUsers.length} users (${(ratingCounts / sampledUsers.length).toFixed(0)} ratings ` +
        `each on average): TypeScript ${latencySummary(profileMs.typescript)} | SQL ${latencySummary(profileMs.sql)}`,
    );

    // A broad genre: a selective one would be answered by an exact comparison, not by this plan.
    console.log('\nEXPLAIN ANALYZE of a similar-movies query filtered to Drama (ef_search 40):');
    const plan = await store.explainNearest(
      { ...similarQueries[0], genres: ['Drama'] },
      { efSearch: 40 },
      true,
    );
    for (const line of plan.split('\n')) console.log(`  ${line}`);

    const exactMs: number[] = [];
    const exactAnswers = {
      similar: [] as Neighbour[][],
      genre: [] as Neighbour[][],
      search: [] as Neighbour[][],
      recommend: [] as Neighbour[][],
    };
    for (const query of similarQueries)
      exactAnswers.similar.push(await timed(exactMs, () => store.exactNearest(query)));
    for (const query of genreQueries) exactAnswers.genre.push(await store.exactNearest(query));
    for (const query of searchQueries) exactAnswers.search.push(await store.exactNearest(query));
    for (const query of recommendQueries) exactAnswers.recommend.push(await store.exactNearest(query));
    console.log(`\nexact search (index scans off), similar movies: ${latencySummary(exactMs)}`);
    const embedMs: number[] = [];
    for (const text of searchTexts) await timed(embedMs, () => embedder.embed([`${text}.`]));
    console.log(`embedding one search query alone: ${latencySummary(embedMs)}`);

    console.log(
      `\nrecall@10 against exact search (${similarQueries.length} similar, ${genreQueries.length} similar with a ` +
        `genre filter, ${searchQueries.length} search, ${recommendQueries.length} recommend queries) and latency ` +
        `through ContentEngine (search latency includes embedding the query text):`,
    );
    for (const ef of efValues) {
      const recall = async (queries: NeighbourQuery[], exact: Neighbour[][]) => {
        let total = 0;
        let exhaustive = 0;
        for (let i = 0; i < queries.length; i++) {
          const result = await store.nearest(queries[i], { efSearch: ef });
          total += recallOf(result.neighbours, exact[i]);
          if (result.exhaustive) exhaustive++;
        }
        return { recall: total / Math.max(1, queries.length), exhaustive };
      };
      const similarRecall = await recall(similarQueries, exactAnswers.similar);
      const genreRecall = await recall(genreQueries, exactAnswers.genre);
      const searchRecall = await recall(searchQueries, exactAnswers.search);
      const recommendRecall = await recall(recommendQueries, exactAnswers.recommend);

      // The smallest cache lru-cache accepts (0 throws): no sampled query repeats, so it never answers one.
      const engine = new ContentEngine({ dataSource, indexer, efSearch: ef, queryCacheSize: 1 });
      const latency = {
        similar: [] as number[],
        genre: [] as number[],
        search: [] as number[],
        recommend: [] as number[],
      };
      for (const movieId of sampledMovies.slice(0, 5)) await engine.similarMovies(movieId, 10);
      for (const [i, movieId] of sampledMovies.entries()) {
        await timed(latency.similar, () => engine.similarMovies(movieId, 10));
        await timed(latency.genre, () => engine.similarMovies(movieId, 10, { genres: [RARE_GENRES[i % 8]] }));
      }
      for (const text of searchTexts) await timed(latency.search, () => engine.search(text, 10));
      for (const userId of sampledUsers)
        await timed(latency.recommend, () => engine.recommend({ userId, limit: 10 }));

      console.log(`ef_search ${String(ef).padStart(4)}:`);
      const line = (name: string, r: { recall: number; exhaustive: number }, ms: number[]) =>
        console.log(
          `  ${name.padEnd(16)} recall@10 ${r.recall.toFixed(3)}  ${latencySummary(ms)}` +
            (r.exhaustive > 0 ? `  (${r.exhaustive} answered exactly)` : ''),
        );
      line('similar', similarRecall, latency.similar);
      line('similar + genre', genreRecall, latency.genre);
      line('search', searchRecall, latency.search);
      line('recommend', recommendRecall, latency.recommend);
    }

    // The in-process index (CONTENT_SEARCH=memory): recall against the same exact answers, at 10
    // and at the 150 candidates a 50-movie HYBRID list asks the taste profile for.
    const memoryEngine = new ContentEngine({ dataSource, indexer, memorySearch: true, queryCacheSize: 1 });
    const built = performance.now();
    const index = await memoryEngine.prepareMemoryIndex();
    if (!index) throw new Error('the in-process index was not built');
    console.log(
      `\nin-process index (CONTENT_SEARCH=memory): ${index.size} movies, first pass on ${index.projectedDimension} directions (${(100 * index.capturedEnergy).toFixed(1)}% of the energy), ` +
        `${index.candidates.movie} / ${index.candidates.taste} / ${index.candidates.text} candidates for movie / taste / text queries (calibrated: recall ≥ ${index.calibratedRecall.toFixed(3)} at 10 and ${index.calibrationN}), ` +
        `built in ${((performance.now() - built) / 1000).toFixed(1)} s (vectors read included), SIMD ${index.scorer.simd}`,
    );
    const memoryRecall = (queries: NeighbourQuery[], exact: Neighbour[][], kind: QueryKind) => {
      let total = 0;
      const ms: number[] = [];
      queries.forEach((query, i) => {
        const started = performance.now();
        const vector =
          typeof query.vector === 'string'
            ? Float32Array.from(JSON.parse(query.vector) as number[])
            : query.vector;
        const hits = searchVectorIndex(index, vector, query.limit, {
          genres: query.genres,
          exclude: new Set(query.excludeIds ?? []),
          kind,
        });
        ms.push(performance.now() - started);
        total += recallOf(
          hits.map((hit) => ({ movieId: hit.movieId, distance: 1 - hit.similarity })),
          exact[i],
        );
      });
      return `recall@${queries[0]?.limit ?? 0} ${(total / Math.max(1, queries.length)).toFixed(3)}  ${latencySummary(ms)}`;
    };
    console.log(`  similar          ${memoryRecall(similarQueries, exactAnswers.similar, 'movie')}`);
    console.log(`  similar + genre  ${memoryRecall(genreQueries, exactAnswers.genre, 'movie')}`);
    console.log(`  search           ${memoryRecall(searchQueries, exactAnswers.search, 'text')}`);
    console.log(`  recommend        ${memoryRecall(recommendQueries, exactAnswers.recommend, 'taste')}`);
    const wide = recommendQueries.map((query) => ({ ...query, limit: 150 }));
    const wideExact: Neighbour[][] = [];
    for (const query of wide) wideExact.push(await store.exactNearest(query));
    console.log(`  recommend (150)  ${memoryRecall(wide, wideExact, 'taste')}`);
    const wideHnsw: number[] = [];
    let wideHnswRecall = 0;
    for (const [i, query] of wide.entries()) {
      const result = await timed(wideHnsw, () => store.nearest(query, { efSearch: 150 }));
      wideHnswRecall += recallOf(result.neighbours, wideExact[i]);
    }
    console.log(
      `  recommend (150) through HNSW at ef_search 150, for comparison: recall@150 ` +
        `${(wideHnswRecall / Math.max(1, wide.length)).toFixed(3)}  ${latencySummary(wideHnsw)}`,
    );
    await embedder.dispose?.();
  } finally {
    if (ownSchema && !values['keep-schema'])
      await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    else if (ownSchema) console.log(`kept schema ${schema} (--schema ${schema} measures it again)`);
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
