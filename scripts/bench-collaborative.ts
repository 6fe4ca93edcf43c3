/**
 * Collaborative engine latency at the engine level (no GraphQL, no HTTP) on ml-latest-small in the
 * local PostgreSQL: top-20 recommendations (a user's first request, repeated requests, with a genre
 * filter), fold-in after a rating changed (existing user, heaviest user, brand-new user with 5
 * ratings) and predictRatings for 20 movies. Prints p50 / p95 / p99 / max as a markdown table, with
 * the targets next to the figures (never fails on them).
 *
 *   MOVIELENS_DIR=/work/shared/data/ml-latest-small node -r @swc-node/register scripts/bench-collaborative.ts
 *     [--data DIR] [--iterations 1000] [--fold-ins 200] [--seed 42] [--database cinegraph_bench_collab] [--retrain]
 *
 * Uses a database of its own (created if missing and kept between runs, so the import and the first
 * training happen once): imports the release when `movies` is empty, trains with trainFromDatabase
 * when there is no active model (or with --retrain). Test users get ids from 1,900,000,000 up; they,
 * their ratings and the factors fold-in stored for them are deleted at the start and at the end.
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { createRandom } from '../fixtures/synthetic';
import { importRelease } from '../src/data/importer';
import { openDatabase } from '../src/db/datasource';
import { Versions } from '../src/cache';
import { CollaborativeEngine } from '../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../src/engines/collaborative/model-store';
import {
  CachedRatingHistory,
  RatingHistory,
  RatingHistorySource,
  SqlRatingHistory,
} from '../src/engines/rating-history';
import { trainFromDatabase } from '../training/database';
import { answerHelp } from '../src/cli-help';
import { ensureBenchDatabase } from './bench-database';

answerHelp(`Usage: npm run bench:collaborative [-- options]

Collaborative engine latency (no GraphQL, no HTTP) on ml-latest-small in the local PostgreSQL: top-20
recommendations, fold-in after a rating, predictRatings; prints p50 / p95 / p99 / max.

  --data DIR        the release (default $MOVIELENS_DIR or /work/shared/data/ml-latest-small)
  --iterations N    recommendation requests per scenario (default 1000)
  --fold-ins N      fold-ins per scenario (default 200)
  --seed N          random seed (default 42)
  --database NAME   the benchmark database (default cinegraph_bench_collab)
  --retrain         train a new model even if one is active
  -h, --help        print this text`);

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const DEFAULT_RELEASE = '/work/shared/data/ml-latest-small';
const DATABASE = flag('database', 'cinegraph_bench_collab');
const DATA = flag('data', process.env.MOVIELENS_DIR ?? DEFAULT_RELEASE);
const ITERATIONS = Number(flag('iterations', '1000'));
const FOLD_INS = Number(flag('fold-ins', '200'));
const SEED = Number(flag('seed', '42'));
const RETRAIN = process.argv.includes('--retrain');
const WARM_UP = 20;
/** Test users live above every MovieLens id and never touch the users id sequence. */
const TEST_USER_BASE = 1_900_000_000;
/** Existing users whose ratings are copied to test users for the fold-in runs. */
const FOLD_IN_USERS = 20;
const GENRES = ['Drama', 'Comedy', 'Action', 'Thriller', 'Romance', 'Sci-Fi', 'Horror', 'Animation'];

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

interface Target {
  quantile: 'p50' | 'p95' | 'p99';
  ms: number;
}

interface Row {
  label: string;
  samples: number[];
  target?: Target;
}

const RECOMMEND_TARGET: Target = { quantile: 'p99', ms: 20 };
const FOLD_IN_TARGET: Target = { quantile: 'p99', ms: 50 };

function tableOf(rows: Row[]): string {
  const lines = [
    '| case | n | p50 ms | p95 ms | p99 ms | max ms | mean ms | target | met |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    const sorted = [...row.samples].sort((a, b) => a - b);
    const quantiles = {
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
    };
    const mean = sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length;
    const target = row.target;
    lines.push(
      `| ${row.label} | ${sorted.length} | ${quantiles.p50.toFixed(2)} | ${quantiles.p95.toFixed(2)} | ` +
        `${quantiles.p99.toFixed(2)} | ${sorted[sorted.length - 1].toFixed(2)} | ${mean.toFixed(2)} | ` +
        (target
          ? `${target.quantile} < ${target.ms} ms | ${quantiles[target.quantile] < target.ms ? 'yes' : 'NO'} |`
          : '– | – |'),
    );
  }
  return lines.join('\n');
}

/** Fisher–Yates with the seeded generator. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)];

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** The duration of the last historyOf call: fold-in's SQL read. */
class TimedHistory implements RatingHistorySource {
  lastMs = 0;
  constructor(private readonly inner: RatingHistorySource) {}
  async historyOf(userId: number): Promise<RatingHistory> {
    const started = performance.now();
    try {
      return await this.inner.historyOf(userId);
    } finally {
      this.lastMs = performance.now() - started;
    }
  }
}

/** The duration of the last saveUserFactors call: fold-in's SQL write. */
class TimedModelStore extends ModelStore {
  lastSaveMs = 0;
  override async saveUserFactors(
    versionId: number,
    userId: number,
    bias: number,
    factors: ArrayLike<number>,
  ): Promise<void> {
    const started = performance.now();
    try {
      await super.saveUserFactors(versionId, userId, bias, factors);
    } finally {
      this.lastSaveMs = performance.now() - started;
    }
  }
}

interface FoldInParts {
  label: string;
  ratings: number;
  read: number[];
  kernel: number[];
  write: number[];
}

async function removeTestUsers(db: DataSource): Promise<void> {
  await db.query(`DELETE FROM model_user_factors WHERE user_id >= $1`, [TEST_USER_BASE]);
  await db.query(`DELETE FROM ratings WHERE user_id >= $1`, [TEST_USER_BASE]);
  await db.query(`DELETE FROM users WHERE id >= $1`, [TEST_USER_BASE]);
}

async function main(): Promise<void> {
  const url = await ensureBenchDatabase(DATABASE);
  const db = await openDatabase({ url, poolSize: 4 });
  const random = createRandom(SEED);
  const rows: Row[] = [];
  const foldInParts: FoldInParts[] = [];
  try {
    await removeTestUsers(db);
    const [{ present }] = await db.query(`SELECT EXISTS (SELECT 1 FROM movies) AS present`);
    if (!present) {
      const summary = await importRelease(db, path.resolve(DATA));
      console.log(
        `Imported ${summary.movies} movies, ${summary.users} users, ${summary.ratings} ratings from ${DATA} ` +
          `in ${summary.seconds.toFixed(1)} s`,
      );
    }

    const store = new TimedModelStore(db);
    let trainingLine: string;
    if (RETRAIN || (await store.activeVersionId()) === null) {
      const started = performance.now();
      const { models, version } = await trainFromDatabase(db, store);
      const seconds = (performance.now() - started) / 1000;
      trainingLine =
        `trained ${version} in ${seconds.toFixed(1)} s (biased MF ${models.metrics.biasedSeconds.toFixed(1)} s, ` +
        `PureSVD ${models.metrics.topNSeconds.toFixed(1)} s, ${models.metrics.numRatings} ratings)`;
    } else {
      trainingLine = `active model version ${await store.activeVersionId()} already trained (--retrain to time training)`;
    }

    const history = new SqlRatingHistory(db);
    const newEngine = async (source: RatingHistorySource = history) => {
      const engine = new CollaborativeEngine(db, store, { history: source });
      if (!(await engine.reload())) throw new Error('no active collaborative model after training');
      return engine;
    };
    const reloadStarted = performance.now();
    const engine = await newEngine();
    const reloadSeconds = (performance.now() - reloadStarted) / 1000;
    const [model] = await db.query(
      `SELECT v.id, v.params->>'k' AS k, v.params->>'rank' AS rank,
              (SELECT coalesce(sum(octet_length(data)), 0)::int / 4 FROM model_factor_blocks
                WHERE model_id = v.id AND part = 'item_ids') AS items,
              (SELECT coalesce(sum(octet_length(data)), 0)::int / 4 FROM model_factor_blocks
                WHERE model_id = v.id AND part = 'user_ids') AS users
         FROM model_versions v WHERE status = 'active'`,
    );
    const users: number[] = (
      await db.query(`SELECT DISTINCT user_id FROM ratings WHERE user_id < $1 ORDER BY user_id`, [
        TEST_USER_BASE,
      ])
    ).map((r: { user_id: number }) => r.user_id);
    const [{ ratings: ratingCount }] = await db.query(
      `SELECT count(*)::int AS ratings FROM ratings WHERE user_id < $1`,
      [TEST_USER_BASE],
    );
    const rated: number[] = (
      await db.query(`SELECT movie_id FROM movie_rating_stats ORDER BY votes DESC, movie_id`)
    ).map((r: { movie_id: number }) => r.movie_id);

    console.log(
      `Database ${url.replace(/\/\/[^@]*@/, '//…@')}: ${users.length} users, ${rated.length} rated movies, ` +
        `${ratingCount} ratings; ${trainingLine}`,
    );
    console.log(
      `Model version ${model.id}: biased MF k = ${model.k}, PureSVD rank ${model.rank}, ${model.items} movies, ` +
        `${model.users} user rows; snapshot load ${reloadSeconds.toFixed(2)} s`,
    );

    // (1) A user's first request: fresh engines (cold per-user state) served as the app does, through
    // CachedRatingHistory. Each user is asked once per engine; a new engine starts when all were asked.
    const served = () =>
      newEngine(new CachedRatingHistory(new SqlRatingHistory(db), new Versions(), { maxUsers: 100_000 }));
    const firstRequests = async (label: string, genre: boolean) => {
      const warm = await served();
      for (let i = 0; i < WARM_UP; i++)
        await warm.recommend({
          userId: pick(users, random),
          limit: 20,
          genres: genre ? [GENRES[i % 8]] : [],
        });
      const samples: number[] = [];
      let cold = warm;
      let order: number[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        if (i % users.length === 0) {
          cold = await served();
          order = shuffled(users, random);
        }
        const request = {
          userId: order[i % users.length],
          limit: 20,
          genres: genre ? [GENRES[i % GENRES.length]] : [],
        };
        samples.push(await timeMs(() => cold.recommend(request)));
      }
      rows.push({ label, samples, target: RECOMMEND_TARGET });
    };
    process.stderr.write('recommend: first requests\n');
    await firstRequests('recommend top-20, first request of a user (1 SQL read + scoring)', false);
    await firstRequests('recommend top-20 + genre filter, first request of a user', true);

    // (2) Repeated requests: the user asked just before (untimed), then the timed call.
    const repeated = async (label: string, target: CollaborativeEngine, genre: boolean) => {
      for (let i = 0; i < WARM_UP; i++) await target.recommend({ userId: pick(users, random), limit: 20 });
      const samples: number[] = [];
      for (let i = 0; i < ITERATIONS; i++) {
        const request = {
          userId: pick(users, random),
          limit: 20,
          genres: genre ? [GENRES[i % GENRES.length]] : [],
        };
        await target.recommend(request);
        samples.push(await timeMs(() => target.recommend(request)));
      }
      rows.push({ label, samples, target: RECOMMEND_TARGET });
    };
    process.stderr.write('recommend: repeated requests\n');
    const cached = await served();
    await repeated('recommend top-20, repeated (CachedRatingHistory: state reused)', cached, false);
    await repeated('recommend top-20 + genre filter, repeated (CachedRatingHistory)', cached, true);
    // The engine's own default: SqlRatingHistory reads the ratings (and their version) on every
    // call; the per-user state, keyed on the version, is reused.
    await repeated('recommend top-20, repeated (SqlRatingHistory default: re-read each call)', engine, false);

    // (3) Fold-in after a rating changed. Test users are copies of existing users; each run upserts
    // one rating (a random movie, a random half-star) for one of them, then times foldIn.
    process.stderr.write('fold-in\n');
    const timedHistory = new TimedHistory(new SqlRatingHistory(db));
    const folding = await newEngine(timedHistory);
    const copyUser = async (testId: number, sourceId: number) => {
      await db.query(`INSERT INTO users (id) VALUES ($1)`, [testId]);
      await db.query(
        `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
         SELECT $1, movie_id, rating, rated_at FROM ratings WHERE user_id = $2`,
        [testId, sourceId],
      );
    };
    const rateRandomly = (userId: number) =>
      db.query(
        `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at`,
        [userId, pick(rated, random), (1 + Math.floor(random() * 10)) / 2],
      );
    const countRatings = async (ids: number[]): Promise<number> => {
      const counts: { n: number }[] = await db.query(
        `SELECT count(*)::int AS n FROM ratings WHERE user_id = ANY($1::int[]) GROUP BY user_id ORDER BY n`,
        [ids],
      );
      return counts[Math.floor(counts.length / 2)].n;
    };
    const foldInRuns = async (label: string, runs: number, prepare: (i: number) => Promise<number>) => {
      const samples: number[] = [];
      const parts: FoldInParts = { label, ratings: 0, read: [], kernel: [], write: [] };
      const ids: number[] = [];
      for (let i = -WARM_UP; i < runs; i++) {
        const userId = await prepare(i);
        const ms = await timeMs(() => folding.foldIn(userId));
        if (i < 0) continue;
        ids.push(userId);
        samples.push(ms);
        parts.read.push(timedHistory.lastMs);
        parts.write.push(store.lastSaveMs);
        parts.kernel.push(ms - timedHistory.lastMs - store.lastSaveMs);
      }
      parts.ratings = await countRatings([...new Set(ids)]);
      rows.push({ label, samples, target: FOLD_IN_TARGET });
      foldInParts.push(parts);
    };

    const sources = shuffled(users, random).slice(0, FOLD_IN_USERS);
    for (const [j, source] of sources.entries()) await copyUser(TEST_USER_BASE + j, source);
    await foldInRuns(`foldIn after a rating upsert (${FOLD_IN_USERS} copied users)`, FOLD_INS, async (i) => {
      const userId = TEST_USER_BASE + ((i + WARM_UP) % FOLD_IN_USERS);
      await rateRandomly(userId);
      return userId;
    });

    const [heaviest] = await db.query(
      `SELECT user_id, count(*)::int AS n FROM ratings WHERE user_id < $1
        GROUP BY user_id ORDER BY n DESC, user_id LIMIT 1`,
      [TEST_USER_BASE],
    );
    const heavyId = TEST_USER_BASE + FOLD_IN_USERS;
    await copyUser(heavyId, heaviest.user_id);
    // Updates only (a new half-star for a movie already rated), so the user keeps their rating count.
    const heavyMovies: number[] = (
      await db.query(`SELECT movie_id FROM ratings WHERE user_id = $1`, [heavyId])
    ).map((r: { movie_id: number }) => r.movie_id);
    await foldInRuns(
      `foldIn after a rating update, heaviest user (copy of ${heaviest.user_id})`,
      FOLD_INS,
      async () => {
        await db.query(
          `UPDATE ratings SET rating = $3, rated_at = now() WHERE user_id = $1 AND movie_id = $2`,
          [heavyId, pick(heavyMovies, random), (1 + Math.floor(random() * 10)) / 2],
        );
        return heavyId;
      },
    );

    // A brand-new user: a user row and 5 ratings of distinct movies, then the first fold-in.
    const newUserBase = TEST_USER_BASE + 1_000;
    await foldInRuns('foldIn of a brand-new user with 5 ratings', FOLD_INS, async (i) => {
      const userId = newUserBase + WARM_UP + i;
      const movies = shuffled(rated.slice(0, 2000), random).slice(0, 5);
      await db.query(`INSERT INTO users (id) VALUES ($1)`, [userId]);
      await db.query(
        `INSERT INTO ratings (user_id, movie_id, rating)
         SELECT $1, movie_id, rating FROM unnest($2::int[], $3::real[]) AS t(movie_id, rating)`,
        [userId, movies, movies.map(() => (1 + Math.floor(random() * 10)) / 2)],
      );
      return userId;
    });

    // (4) predictRatings for 20 movies (trained users: factors from the snapshot, no SQL).
    process.stderr.write('predictRatings\n');
    for (let i = 0; i < WARM_UP; i++)
      await engine.predictRatings(pick(users, random), shuffled(rated, random).slice(0, 20));
    const predictSamples: number[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const userId = pick(users, random);
      const movies = Array.from({ length: 20 }, () => pick(rated, random));
      predictSamples.push(await timeMs(() => engine.predictRatings(userId, movies)));
    }
    rows.push({ label: 'predictRatings, 20 movies (trained user)', samples: predictSamples });

    const load = os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ');
    console.log(
      `\nSequential calls after ${WARM_UP} warm-up calls each; seed ${SEED}; node ${process.version}; ` +
        `${os.cpus().length} CPUs, load average ${load}\n`,
    );
    console.log(tableOf(rows));
    console.log('\nFold-in, where the time goes (p50 / p99 ms):\n');
    console.log(
      '| case | ratings (median user, at the end) | SQL read | compute (rest) | SQL write (upsert factors) |',
    );
    console.log('|---|---:|---:|---:|---:|');
    for (const parts of foldInParts) {
      const cell = (samples: number[]) => {
        const sorted = [...samples].sort((a, b) => a - b);
        return `${percentile(sorted, 0.5).toFixed(2)} / ${percentile(sorted, 0.99).toFixed(2)}`;
      };
      console.log(
        `| ${parts.label} | ${parts.ratings} | ${cell(parts.read)} | ${cell(parts.kernel)} | ${cell(parts.write)} |`,
      );
    }
  } finally {
    await removeTestUsers(db);
    await db.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
