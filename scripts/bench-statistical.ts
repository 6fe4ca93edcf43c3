/**
 * Statistical engine latency, and what keeping movie_rating_stats by trigger costs a bulk insert.
 *
 *   DATABASE_URL=postgres://… MOVIELENS_DIR=… node -r @swc-node/register scripts/bench-statistical.ts
 *     [--iterations 300] [--insert-repeats 3]
 *
 * Imports the release (default /work/shared/data/ml-latest-small) with the project importer into a
 * fresh schema of DATABASE_URL (default the local test database), benchmarks, and drops the schema.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/datasource';
import { importRelease } from '../src/data/importer';
import { StatisticalEngine } from '../src/engines/statistical/statistical-engine';
import { answerHelp } from '../src/cli-help';

answerHelp(`Usage: DATABASE_URL=postgres://… MOVIELENS_DIR=… node -r @swc-node/register scripts/bench-statistical.ts
    [--iterations 300] [--insert-repeats 3]

Statistical engine latency and the cost of the rating-statistics triggers on a bulk insert, on a release
(default /work/shared/data/ml-latest-small) imported into a fresh schema of DATABASE_URL (default the
local test database), which is dropped afterwards.

  -h, --help   print this text`);

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const DEFAULT_RELEASE = '/work/shared/data/ml-latest-small';

function quantile(sortedMs: number[], q: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil(q * sortedMs.length) - 1)];
}

function summarize(label: string, samples: number[]): void {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const fmt = (ms: number) => ms.toFixed(2).padStart(7);
  console.log(
    `${label.padEnd(44)} p50 ${fmt(quantile(sorted, 0.5))} ms  p95 ${fmt(quantile(sorted, 0.95))} ms  ` +
      `p99 ${fmt(quantile(sorted, 0.99))} ms  mean ${fmt(mean)} ms  (n=${samples.length})`,
  );
}

async function latencies(
  label: string,
  iterations: number,
  run: (i: number) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < Math.min(20, iterations); i++) await run(i);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    await run(i);
    samples.push(performance.now() - start);
  }
  summarize(label, samples);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/**
 * Re-inserts every rating in one statement under each way of maintaining the aggregates. The
 * row-level trigger exists only here, as the alternative the shipped statement-level one is measured
 * against.
 */
async function insertCost(dataSource: DataSource, repeats: number): Promise<void> {
  await dataSource.query(`CREATE TABLE bench_ratings AS SELECT * FROM ratings`);
  await dataSource.query(`
    CREATE FUNCTION bench_rating_stats_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO movie_rating_stats AS s (movie_id, votes, rating_sum, rating_sq_sum, last_rated_at)
      VALUES (NEW.movie_id, 1, NEW.rating, NEW.rating::float8 * NEW.rating::float8, NEW.rated_at)
      ON CONFLICT (movie_id) DO UPDATE SET
        votes = s.votes + 1,
        rating_sum = s.rating_sum + EXCLUDED.rating_sum,
        rating_sq_sum = s.rating_sq_sum + EXCLUDED.rating_sq_sum,
        last_rated_at = greatest(s.last_rated_at, EXCLUDED.last_rated_at);
      RETURN NULL;
    END $$`);
  const [{ n }] = await dataSource.query(`SELECT count(*)::int AS n FROM bench_ratings`);
  const engine = new StatisticalEngine(dataSource);
  const setTrigger = (name: string, enabled: boolean) =>
    dataSource.query(`ALTER TABLE ratings ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER ${name}`);
  const variants: { label: string; setup: () => Promise<void>; after?: () => Promise<unknown> }[] = [
    { label: 'no aggregate maintenance', setup: () => setTrigger('movie_rating_stats_on_insert', false) },
    {
      label: 'no trigger + full refresh()',
      setup: () => setTrigger('movie_rating_stats_on_insert', false),
      after: () => engine.refresh(),
    },
    {
      label: 'statement-level trigger (shipped)',
      setup: () => setTrigger('movie_rating_stats_on_insert', true),
    },
    {
      label: 'row-level trigger (alternative)',
      setup: async () => {
        await setTrigger('movie_rating_stats_on_insert', false);
        await dataSource.query(`
          CREATE TRIGGER bench_rating_stats_row AFTER INSERT ON ratings
          FOR EACH ROW EXECUTE FUNCTION bench_rating_stats_row()`);
      },
    },
  ];
  console.log(`\nInsert ${n} ratings in one INSERT … SELECT (median of ${repeats}):`);
  for (const variant of variants) {
    await variant.setup();
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      await dataSource.query(`TRUNCATE ratings`);
      const start = performance.now();
      await dataSource.query(`INSERT INTO ratings SELECT * FROM bench_ratings`);
      await variant.after?.();
      times.push(performance.now() - start);
    }
    console.log(`  ${variant.label.padEnd(40)} ${median(times).toFixed(0).padStart(6)} ms`);
  }
  await dataSource.query(`DROP TRIGGER bench_rating_stats_row ON ratings`);
  await setTrigger('movie_rating_stats_on_insert', true);
  await dataSource.query(`TRUNCATE ratings`);
  await dataSource.query(`INSERT INTO ratings SELECT * FROM bench_ratings`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '300' },
      'insert-repeats': { type: 'string', default: '3' },
    },
  });
  const iterations = Number(values.iterations);
  const insertRepeats = Number(values['insert-repeats']);
  const config = loadConfig();
  const url = config.databaseUrl ?? DEFAULT_DATABASE_URL;
  const release = config.movielensDir ?? DEFAULT_RELEASE;
  const schema = `bench_stat_${randomBytes(4).toString('hex')}`;

  const dataSource = await openDatabase({ url, poolSize: 4, schema });
  try {
    console.log(`Database ${url.replace(/\/\/[^@]*@/, '//…@')}, schema ${schema}; release ${release}`);
    const summary = await importRelease(dataSource, release);
    const ratingsFile = summary.files.find((f) => f.kind === 'ratings');
    console.log(
      `Imported ${summary.movies} movies, ${summary.users} users, ${summary.ratings} ratings in ` +
        `${summary.seconds.toFixed(2)} s (ratings: load ${ratingsFile?.loadSeconds.toFixed(2)} s, ` +
        `merge incl. statement trigger ${ratingsFile?.mergeSeconds.toFixed(2)} s)`,
    );
    const [mismatch] = await dataSource.query(`
      SELECT count(*)::int AS n FROM (
        SELECT movie_id, votes, rating_sum, rating_sq_sum, last_rated_at FROM movie_rating_stats
        EXCEPT
        SELECT movie_id, count(*), sum(rating::float8), sum(rating::float8 * rating::float8), max(rated_at)
        FROM ratings GROUP BY movie_id) AS differing`);
    console.log(`movie_rating_stats rows differing from a recomputation after import: ${mismatch.n}`);

    const engine = new StatisticalEngine(dataSource);
    const stats = await engine.globalStats();
    console.log(
      `Global: ${stats.ratedMovies} rated movies, C = ${stats.mean?.toFixed(4)}, σ² = ${stats.variance?.toFixed(4)}, ` +
        `m = ${stats.priorWeight} (p${stats.priorQuantile * 100} of vote counts), newest rating ${stats.newestRatingAt?.toISOString()}`,
    );
    const trending = await engine.trending({ limit: 20 });
    console.log(
      `Trending window (${trending.windowStart.toISOString()}, ${trending.asOf.toISOString()}] (${trending.asOfSource}), ` +
        `m = ${trending.prior?.weight.toFixed(3)}, ${trending.movies.length} movies returned`,
    );

    const genres = ['Drama', 'Comedy', 'Action', 'Thriller', 'Romance', 'Sci-Fi', 'Horror', 'Animation'];
    const [{ users }] = await dataSource.query(`SELECT array_agg(id ORDER BY id) AS users FROM users`);
    const load = os.loadavg().map((l) => l.toFixed(2));
    console.log(
      `\nLatency, sequential, ${iterations} runs after a warm-up (${os.cpus().length} CPUs, load average ${load.join(' ')}):`,
    );
    await latencies('top-20 Bayesian (all genres)', iterations, () => engine.topRated({ limit: 20 }));
    await latencies('top-20 Bayesian, one genre (rotating)', iterations, (i) =>
      engine.topRated({ limit: 20, genres: [genres[i % genres.length]] }),
    );
    await latencies('top-20 Bayesian by lower bound', iterations, () =>
      engine.topRated({ limit: 20, rankBy: 'lowerBound' }),
    );
    // Trending's query itself: without its answer cache every call computes.
    const computing = new StatisticalEngine(dataSource, { trendingCacheMaxAgeMs: 0 });
    await latencies('top-20 trending 30d', iterations, () =>
      computing.trending({ limit: 20, windowDays: 30 }),
    );
    await latencies('top-20 trending 30d, half-life 7d', iterations, () =>
      computing.trending({ limit: 20, windowDays: 30, halfLifeDays: 7 }),
    );
    await latencies('top-20 trending 365d, half-life 30d', iterations, () =>
      computing.trending({ limit: 20, windowDays: 365, halfLifeDays: 30 }),
    );
    await latencies('top-20 trending 30d, answer cache', iterations, () =>
      engine.trending({ limit: 20, windowDays: 30 }),
    );
    await latencies('recommend top-20 unseen (rotating users)', iterations, (i) =>
      engine.recommend({ userId: users[i % users.length], limit: 20 }),
    );
    const someMovies = (await engine.topRated({ limit: 100, rankBy: 'lowerBound' })).movies.map(
      (m) => m.movieId,
    );
    await latencies('bayesianRatings, batch of 100', iterations, () => engine.bayesianRatings(someMovies));
    // The same without the global-statistics cache: what a request costs when the prior is recomputed.
    const uncached = new StatisticalEngine(dataSource, { globalStatsMaxAgeMs: 0, trendingCacheMaxAgeMs: 0 });
    await latencies('globalStats, uncached', iterations, () => uncached.globalStats());
    await latencies('top-20 Bayesian (all genres), uncached prior', iterations, () =>
      uncached.topRated({ limit: 20 }),
    );
    await latencies('top-20 trending 30d, uncached prior', iterations, () =>
      uncached.trending({ limit: 20, windowDays: 30 }),
    );

    await insertCost(dataSource, insertRepeats);
  } finally {
    await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await dataSource.destroy();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
