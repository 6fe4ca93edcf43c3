/**
 * Load benchmark of the running service: starts Cinegraph as a child process on the local
 * PostgreSQL (a database of its own, kept between runs so the content index is built once),
 * waits until every engine is ready, then drives each query at 1, 16 and 64 concurrent
 * connections and prints p50 / p95 / p99 latency, requests/s and errors.
 *
 * Two modes for personal lists: distinct users (the headline: every request is for a user never
 * requested before in this run, so nothing of theirs is cached) and repeated users (random users of
 * the release, with replacement: mostly finished lists from the caches).
 *
 *   MOVIELENS_DIR=../shared/data/ml-latest-small npm run bench:serve [-- --seconds 10 --connections 1,16,64]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createRandom } from '../fixtures/synthetic';
import { answerHelp } from '../src/cli-help';
import { ensureBenchDatabase } from './bench-database';
import {
  BENCH_SEARCHES,
  drive,
  Outcome,
  percentile,
  processCpuSeconds,
  RequestSource,
  SERVER_NODE_FLAGS,
  waitUntilReady,
} from './bench-load';

answerHelp(`Usage: MOVIELENS_DIR=<ml-latest-small> npm run bench:serve [-- options]

Starts Cinegraph on the local PostgreSQL (a database of its own, kept between runs), waits until every
engine is ready, drives each query at several connection counts and prints p50 / p95 / p99 latency,
requests/s and errors.

Personal lists (recommendations HYBRID, COLLABORATIVE, CONTENT, STATISTICAL) run in two modes:
  distinct   the headline: every request is for a user never requested before in this run (users drawn
             without replacement, in a seeded order), so nothing of theirs is cached: their ratings,
             engine work and finished list are all computed. Each cell sends a fixed number of
             requests (--distinct-requests). When the release has fewer users than all distinct cells
             need, synthetic users are onboarded through the API before the server is measured
             (profiles copied from random subsets of imported users' ratings; requests for them carry
             their token) and deleted from the benchmark database once the distinct cells are done
             (their ratings, dated now, would sit in trending's window); with --no-onboard the
             cells are cut to the users there are instead, and the cap is printed.
  repeated   users drawn at random, with replacement, from the release's imported users, for --seconds
             per cell after a warm-up: mostly lists served from the caches.
similarMovies, search and trending run once, with random movies and queries.

  --seconds N              seconds per repeated-users cell and connection count (default 10)
  --connections 1,16,64    concurrent connections to try
  --users distinct,repeated  which modes to run (default both)
  --distinct-requests N    requests per distinct-users cell (default 300)
  --no-onboard             never onboard synthetic users: cap distinct cells at the release's users
  --settle N               seconds to wait once every engine is ready, before measuring (default 0):
                           lets background work finish, e.g. a trending refresh or a content index
                           catching up with new movies
  --port N                 the server's port (default 4600)
  --database NAME          the benchmark database (default cinegraph_bench)
  --data DIR               the release to import (or MOVIELENS_DIR)
  --server FILE            the server's entry point (default: this checkout's src/main.ts): another
                           checkout's, to measure two builds with the same load generator
  --node-args "ARGS"       extra node flags for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
                           (node refuses --cpu-prof in NODE_OPTIONS)
  --only TEXT              run only scenarios whose name contains TEXT (e.g. recordEvents: the
                           feedback writes, 1 and 10 events per call, as onboarded users)
  -h, --help               print this text`);

interface Scenario extends RequestSource {
  name: string;
  /** Events each request records, for an events/s figure. */
  eventsPerRequest?: number;
}

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`--${name}: "${text}" is not a positive integer`);
  return value;
}

const SECONDS = Number(flag('seconds', '10'));
const CONNECTIONS = flag('connections', '1,16,64').split(',').map(Number);
const PORT = Number(flag('port', '4600'));
const DATABASE = flag('database', 'cinegraph_bench');
const DATA = process.env.MOVIELENS_DIR ?? flag('data', '');
const SERVER = path.resolve(flag('server', path.resolve(__dirname, '../src/main.ts')));
const NODE_ARGS = flag('node-args', '')
  .split(' ')
  .filter((arg) => arg !== '');
/** A substring of scenario names to run, e.g. --only HYBRID. */
const ONLY = flag('only', '');
const MODES = new Set(flag('users', 'distinct,repeated').split(','));
for (const mode of MODES)
  if (mode !== 'distinct' && mode !== 'repeated')
    throw new Error(`--users: "${mode}" is neither distinct nor repeated`);
const DISTINCT_REQUESTS = positiveInteger('distinct-requests', flag('distinct-requests', '300'));
const ONBOARD = !process.argv.includes('--no-onboard');
const SETTLE_SECONDS = Number(flag('settle', '0'));
/**
 * Requests for users of the distinct pool sent before the first distinct cell, not measured (JIT
 * warm-up), as many as bench:scale sends. 20 left most of the warming in the first cell: on
 * ml-latest-small, HYBRID at 64 connections after 300 of them, lists 251–750 of a cell of 4,000 ran
 * at ~700/s and lists 1,751–2,000 at 990/s (2026-12-07 17:49 UTC, load average 1.4).
 */
const DISTINCT_WARM_UP = 300;

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const order = [...list];
  const random = createRandom(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function graphql<T>(url: string, query: string, variables: object, token?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (!json.data || json.errors) throw new Error(`GraphQL error: ${JSON.stringify(json.errors)}`);
  return json.data;
}

/** A user of the distinct pool: an imported (public) one, or one onboarded here, with their token. */
interface PoolUser {
  id: number;
  token?: string;
}

/**
 * Onboards `count` synthetic users through the API, 8 at a time. Each profile is a random subset
 * (20 to 100 ratings) of a random imported user's ratings, so the synthetic users look like the
 * release's: the same movies, rating scale and profile sizes, and at least the 5 ratings that
 * route them past the cold-start engine.
 */
async function onboardSynthetic(
  url: string,
  db: Client,
  imported: readonly number[],
  count: number,
): Promise<PoolUser[]> {
  const random = createRandom(11);
  const templates = shuffled(imported, 13).slice(0, Math.min(imported.length, 2000));
  const rows: { user_id: number; movies: number[]; ratings: number[] }[] = (
    await db.query(
      `SELECT user_id, array_agg(movie_id ORDER BY movie_id) AS movies, array_agg(rating::float8 ORDER BY movie_id) AS ratings
         FROM ratings WHERE user_id = ANY($1::int[]) GROUP BY user_id HAVING count(*) >= 5`,
      [templates],
    )
  ).rows;
  if (rows.length === 0) throw new Error('no imported user has 5 ratings to copy a profile from');
  const profiles = Array.from({ length: count }, () => {
    const template = rows[Math.floor(random() * rows.length)];
    const size = Math.min(template.movies.length, 20 + Math.floor(random() * 81));
    return shuffled(
      template.movies.map((movieId, i) => ({ movieId, rating: template.ratings[i] })),
      Math.floor(random() * 2 ** 31),
    ).slice(0, size);
  });
  const users: PoolUser[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < profiles.length) {
      const ratings = profiles[next++];
      const { onboard } = await graphql<{ onboard: { token: string; user: { id: number } } }>(
        url,
        `
          mutation ($r: [RatingInput!]!) {
            onboard(ratings: $r) {
              token
              user {
                id
              }
            }
          }
        `,
        { r: ratings },
      );
      users.push({ id: onboard.user.id, token: onboard.token });
      if (users.length % 500 === 0) process.stderr.write(`onboarded ${users.length}/${count}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  process.stderr.write(
    `onboarded ${users.length} synthetic users in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return users;
}

/**
 * The tables onboarding, lists and their deletion write, vacuumed (and analysed) as a deployment's
 * autovacuum would. The machines these figures come from run PostgreSQL with autovacuum off (its
 * conf.d), and each round of the command left ~42,000 dead ratings, ~15,000 dead rating
 * statistics and ~1,800 dead users behind: after 15 runs in a session the ratings table held 1.35
 * million dead rows against 100,836 live ones, later rounds read an ever larger table, and deleting
 * one round's 890 users took 57 s (pg_stat_statements).
 */
async function vacuumWritten(db: Client): Promise<void> {
  const written = [
    'users',
    'ratings',
    'movie_rating_stats',
    'model_user_factors',
    'feedback_events',
    'tags',
    'recommendation_lists',
    'data_versions',
  ];
  // Those the server's migrations made (another checkout's, with --server, may not have them all).
  const present: { name: string }[] = (
    await db.query(`SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(name) IS NOT NULL`, [
      written,
    ])
  ).rows;
  if (present.length > 0) await db.query(`VACUUM (ANALYZE) ${present.map((t) => t.name).join(', ')}`);
}

interface Row {
  name: string;
  users: 'distinct' | 'repeated' | '–';
  connections: number;
  outcome: Outcome;
  eventsPerRequest?: number;
  /** The server process's CPU ms (every thread) per measured request; null without /proc. */
  serverCpuMs: number | null;
}

function formatRow({ name, users, connections, outcome, eventsPerRequest, serverCpuMs }: Row): string {
  const sorted = [...outcome.latencies].sort((a, b) => a - b);
  const perSecond = outcome.responses / outcome.seconds;
  const events = eventsPerRequest ? ` (${(perSecond * eventsPerRequest).toFixed(0)} events/s)` : '';
  return (
    `| ${name} | ${users} | ${connections} | ${sorted.length} | ${perSecond.toFixed(0)}${events} | ` +
    `${percentile(sorted, 0.5).toFixed(1)} | ${percentile(sorted, 0.95).toFixed(1)} | ` +
    `${percentile(sorted, 0.99).toFixed(1)} | ${outcome.errors} | ${serverCpuMs?.toFixed(2) ?? '–'} |`
  );
}

const TABLE_HEAD = [
  '| query | users | connections | requests | requests/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms/request |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
];

async function main(): Promise<void> {
  if (!DATA) throw new Error('set MOVIELENS_DIR (or --data) to a MovieLens release, e.g. ml-latest-small');
  const databaseUrl = await ensureBenchDatabase(DATABASE);
  const base = `http://127.0.0.1:${PORT}`;
  const child = spawn(
    process.execPath,
    // The flags of `npm start` (package.json).
    [...SERVER_NODE_FLAGS, ...NODE_ARGS, '-r', '@swc-node/register', SERVER],
    {
      // The server's own checkout (its tsconfig for @swc-node/register).
      cwd: path.resolve(path.dirname(SERVER), '..'),
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        MOVIELENS_DIR: path.resolve(DATA),
        PORT: String(PORT),
        // LOG_LEVEL=info writes the per-request line (measure its cost; see README, Operations).
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        // As deployed (Dockerfile): graphql-js skips its development-only checks.
        NODE_ENV: process.env.NODE_ENV ?? 'production',
        DB_POOL_SIZE: process.env.DB_POOL_SIZE ?? '16',
        MAX_QUERY_COST: '1000000',
        // One load generator stands for many users from one address: no per-client limit.
        RATE_LIMIT_RPS: '0',
        // The users onboarded for the distinct-users cells write more ratings than the worker's
        // retraining threshold: a training started mid-run would share the measured seconds.
        RETRAIN_MIN_NEW_RATINGS: process.env.RETRAIN_MIN_NEW_RATINGS ?? '0',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  // The server's CPU per measured request (the few requests that open the connections count too).
  const withServerCpu = async (load: () => Promise<Outcome>) => {
    const before = processCpuSeconds(child.pid);
    const outcome = await load();
    const after = processCpuSeconds(child.pid);
    const serverCpuMs =
      before === null || after === null
        ? null
        : ((after - before) * 1000) / Math.max(1, outcome.latencies.length);
    return { outcome, serverCpuMs };
  };
  const db = new Client({ connectionString: databaseUrl });
  let onboarded: PoolUser[] = [];
  // The synthetic users were made for this run only: the benchmark database keeps the release as
  // imported. Those of the distinct cells go once those cells are done, recordEvents' at the end.
  const removeSynthetic = async () => {
    const ids = onboarded.map((u) => u.id);
    onboarded = [];
    if (ids.length === 0) return;
    const started = performance.now();
    await db.query(`DELETE FROM users WHERE id = ANY($1::int[])`, [ids]);
    await vacuumWritten(db);
    process.stderr.write(
      `deleted the ${ids.length} synthetic users (and vacuumed) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  };
  try {
    await waitUntilReady(base, child, { pollMilliseconds: 2000, nameServer: false });
    if (SETTLE_SECONDS > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));
    await db.connect();
    const url = `${base}/graphql`;
    const movies = await (
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ trending(first: 100, windowDays: 3650) { movie { id } } }' }),
      })
    ).json();
    const movieIds: number[] = (
      movies as { data: { trending: { movie: { id: number } }[] } }
    ).data.trending.map((t) => t.movie.id);
    const pick = <T>(list: readonly T[], random: () => number) => list[Math.floor(random() * list.length)];
    // The release's users (onboarded ones have a token and are private).
    const imported: number[] = (
      await db.query(`SELECT id FROM users WHERE token_hash IS NULL ORDER BY id`)
    ).rows.map((r: { id: number }) => r.id);
    const queries = BENCH_SEARCHES;
    const recommendationsOf = (strategy: string, userId: number) =>
      JSON.stringify({
        query: `query ($u: Int!) { recommendations(userId: $u, strategy: ${strategy}, first: 20) { rank score movie { id title } explanation { text } } }`,
        variables: { u: userId },
      });
    const strategies = ['HYBRID', 'COLLABORATIVE', 'CONTENT', 'STATISTICAL'].filter((s) =>
      `recommendations ${s}`.includes(ONLY),
    );
    const rows: Row[] = [];
    const record = (row: Row) => {
      rows.push(row);
      process.stderr.write(`${formatRow(row)}\n`);
    };
    const notes: string[] = [];

    if (MODES.has('distinct') && strategies.length > 0) {
      const needed = DISTINCT_WARM_UP + strategies.length * CONNECTIONS.length * DISTINCT_REQUESTS;
      const missing = Math.max(0, needed - imported.length);
      if (missing > 0 && ONBOARD) {
        onboarded = await onboardSynthetic(url, db, imported, missing);
        await vacuumWritten(db);
      }
      // Imported and onboarded users mixed in one seeded order (every cell gets the same mix of
      // public users trained into the model and folded-in ones with a token); each is asked for once.
      const pool: PoolUser[] = shuffled([...imported.map((id): PoolUser => ({ id })), ...onboarded], 7);
      let next = 0;
      const take = (): PoolUser => {
        if (next >= pool.length)
          throw new Error('the distinct-users pool ran out (a bug: cells are sized to it)');
        return pool[next++];
      };
      const perCell = Math.min(
        DISTINCT_REQUESTS,
        Math.floor((pool.length - DISTINCT_WARM_UP) / (strategies.length * CONNECTIONS.length)),
      );
      if (perCell < 1)
        throw new Error(`only ${pool.length} users: too few for one request per distinct cell`);
      notes.push(
        `distinct users: ${imported.length} imported + ${onboarded.length} onboarded through the API; ` +
          `${perCell} requests per cell` +
          (perCell < DISTINCT_REQUESTS
            ? ` (capped from ${DISTINCT_REQUESTS}: the release has too few users and --no-onboard was given)`
            : ''),
      );
      const distinctOf = (strategy: string): Scenario => ({
        name: `recommendations ${strategy}`,
        next: () => {
          const user = take();
          return { body: recommendationsOf(strategy, user.id), token: user.token };
        },
      });
      // The server's code paths warmed by a few users spent for it (JIT), not the caches of the measured ones.
      await drive(url, distinctOf(strategies[0]), 4, { amount: DISTINCT_WARM_UP });
      for (const strategy of strategies)
        for (const connections of CONNECTIONS)
          record({
            name: `recommendations ${strategy}`,
            users: 'distinct',
            connections,
            ...(await withServerCpu(() =>
              drive(url, distinctOf(strategy), connections, { amount: perCell }),
            )),
          });
      // Their ratings are dated now: while they exist they sit in trending's window and the
      // statistical aggregates, so the cells below would measure a different release.
      await removeSynthetic();
    }

    const scenarios: Scenario[] = [
      ...(MODES.has('repeated')
        ? strategies.map((strategy): Scenario => ({
            name: `recommendations ${strategy}`,
            next: (random) => ({ body: recommendationsOf(strategy, pick(imported, random)) }),
          }))
        : []),
      ...[
        {
          name: 'similarMovies',
          next: (random: () => number) => ({
            body: JSON.stringify({
              query: `query ($m: Int!) { similarMovies(movieId: $m, first: 20) { score movie { id title } } }`,
              variables: { m: pick(movieIds, random) },
            }),
          }),
        },
        {
          name: 'trending',
          next: () => ({
            body: JSON.stringify({ query: `{ trending(first: 20) { score votes movie { id title } } }` }),
          }),
        },
        {
          name: 'search',
          next: (random: () => number) => ({
            body: JSON.stringify({
              query: `query ($q: String!) { search(query: $q, first: 20) { score movie { id title } } }`,
              variables: { q: pick(queries, random) },
            }),
          }),
        },
      ].filter((s) => s.name.includes(ONLY)),
    ];
    if ('recordEvents'.includes(ONLY) || ONLY.includes('recordEvents')) {
      const feedback = await feedbackScenarios(url, movieIds, pick);
      // Deleted with the distinct cells' users at the end: the database keeps the release as imported.
      onboarded = [...onboarded, ...feedback.users];
      scenarios.push(...feedback.scenarios);
    }
    for (const scenario of scenarios) {
      await drive(url, scenario, 4, { seconds: 1 }); // warm-up
      for (const connections of CONNECTIONS)
        record({
          name: scenario.name,
          users: scenario.name.startsWith('recommendations') ? 'repeated' : '–',
          connections,
          ...(await withServerCpu(() => drive(url, scenario, connections, { seconds: SECONDS }))),
          eventsPerRequest: scenario.eventsPerRequest,
        });
    }

    // The headline: HYBRID (or the first strategy run) at the highest concurrency, distinct users
    // beside repeated ones.
    const top = Math.max(...CONNECTIONS);
    const headlineName = `recommendations ${strategies[0]}`;
    const headline = rows.filter((r) => r.name === headlineName && r.connections === top && r.users !== '–');
    const lines = [
      '',
      `ml data: ${DATA}; repeated-users and other cells ${SECONDS} s each; ${os.cpus().length} cores, ` +
        `load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
      ...notes,
      '',
    ];
    if (headline.length > 0) lines.push('Headline:', '', ...TABLE_HEAD, ...headline.map(formatRow), '');
    lines.push('All cells:', '', ...TABLE_HEAD, ...rows.map(formatRow), '');
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    child.kill('SIGTERM');
    await removeSynthetic();
    await db.end().catch(() => undefined);
  }
}

/**
 * recordEvents as 64 users onboarded for the run (each with a token), 1 or 10 events per call
 * (a list's impressions arrive together): every event new (a run-unique clientEventId), on a
 * popular movie, of a random type; so each call is a transaction with one movie check and one
 * multi-row insert.
 */
async function feedbackScenarios(
  url: string,
  movieIds: readonly number[],
  pick: <T>(list: readonly T[], random: () => number) => T,
): Promise<{ scenarios: Scenario[]; users: PoolUser[] }> {
  const users: PoolUser[] = [];
  for (let i = 0; i < 64; i++) {
    const ratings = Array.from({ length: 5 }, (_, k) => ({
      movieId: movieIds[(i + k * 7) % movieIds.length],
      rating: 4,
    }));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($r: [RatingInput!]!) { onboard(ratings: $r) { token user { id } } }',
        variables: { r: ratings },
      }),
    });
    const { data } = (await response.json()) as {
      data: { onboard: { token: string; user: { id: number } } };
    };
    users.push({ id: data.onboard.user.id, token: data.onboard.token });
  }
  const tokens = users.map((user) => user.token as string);
  const run = `${Date.now().toString(36)}-`;
  let counter = 0;
  const types = ['IMPRESSION', 'IMPRESSION', 'IMPRESSION', 'CLICK', 'WATCH', 'NOT_INTERESTED'];
  const scenario = (size: number): Scenario => ({
    name: `recordEvents, ${size} per call`,
    eventsPerRequest: size,
    next: (random) => ({
      token: pick(tokens, random),
      body: JSON.stringify({
        query: 'mutation ($e: [EventInput!]!) { recordEvents(events: $e) { accepted duplicates } }',
        variables: {
          e: Array.from({ length: size }, () => {
            const type = pick(types, random);
            return {
              clientEventId: `${run}${counter++}`,
              movieId: pick(movieIds, random),
              type,
              ...(type === 'WATCH' ? { value: random() } : {}),
            };
          }),
        },
      }),
    }),
  });
  return { scenarios: [scenario(1), scenario(10)], users };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
