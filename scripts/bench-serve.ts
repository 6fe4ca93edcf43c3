/**
 * Load benchmark of the running service: starts Cinegraph as a child process on the local
 * PostgreSQL (a database of its own, kept between runs so the content index is built once),
 * waits until every engine is ready, then drives each query at 1, 16 and 64 concurrent
 * connections and prints p50 / p95 / p99 latency, requests/s and errors.
 *
 *   MOVIELENS_DIR=../shared/data/ml-latest-small npm run bench:serve [-- --seconds 10 --connections 1,16,64]
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRandom } from '../fixtures/synthetic';
import { answerHelp } from '../src/cli-help';
import { ensureBenchDatabase } from './bench-database';

answerHelp(`Usage: MOVIELENS_DIR=<ml-latest-small> npm run bench:serve [-- options]

Starts Cinegraph on the local PostgreSQL (a database of its own, kept between runs), waits until every
engine is ready, drives each query at several connection counts and prints p50 / p95 / p99 latency,
requests/s and errors.

  --seconds N            seconds per scenario and connection count (default 10)
  --connections 1,16,64  concurrent connections to try
  --port N               the server's port (default 4600)
  --database NAME        the benchmark database (default cinegraph_bench)
  --data DIR             the release to import (or MOVIELENS_DIR)
  --only TEXT            run only scenarios whose name contains TEXT (e.g. recordEvents: the
                         feedback writes, 1 and 10 events per call, as onboarded users)
  -h, --help             print this text

CONTENT_ENGINE=false skips the content index (a first run on a new database builds it) when only
other scenarios are wanted.`);

interface Scenario {
  name: string;
  body(random: () => number): string;
  /** Per request, e.g. the bearer token of the user the request acts for. */
  headers?(random: () => number): Record<string, string>;
  /** Events each request records, for an events/s figure. */
  eventsPerRequest?: number;
}

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const SECONDS = Number(flag('seconds', '10'));
const CONNECTIONS = flag('connections', '1,16,64').split(',').map(Number);
const PORT = Number(flag('port', '4600'));
const DATABASE = flag('database', 'cinegraph_bench');
const DATA = process.env.MOVIELENS_DIR ?? flag('data', '');
/** A substring of scenario names to run, e.g. --only HYBRID. */
const ONLY = flag('only', '');

async function waitUntilReady(base: string, child: ChildProcess): Promise<void> {
  let last = '';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      const health = (await (await fetch(`${base}/health`)).json()) as {
        engines: Record<string, { ready: boolean; reason?: string }>;
      };
      const waiting = Object.entries(health.engines).filter(([, s]) => !s.ready);
      if (waiting.length === 0) return;
      const line = waiting.map(([name, s]) => `${name}: ${s.reason}`).join(', ');
      if (line !== last) process.stderr.write(`waiting for ${line}\n`);
      last = line;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

interface Outcome {
  latencies: number[];
  errors: number;
  seconds: number;
}

/**
 * Closed-loop load from autocannon (its HTTP client costs far less CPU than fetch, which matters
 * when client and server share two cores): `connections` requests in flight at all times.
 * A response counts as an error unless it is a 200 without GraphQL errors.
 */
async function drive(
  url: string,
  scenario: Scenario,
  connections: number,
  length: { seconds: number } | { amount: number },
): Promise<Outcome> {
  const random = createRandom(42);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        ...('seconds' in length ? { duration: length.seconds } : { amount: length.amount }),
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({
              ...request,
              headers: { ...request.headers, ...scenario.headers?.(random) },
              body: scenario.body(random),
            }),
            onResponse: (status, body) => {
              if (status !== 200 || body.includes('"errors"')) errors++;
            },
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  });
  return {
    latencies,
    errors: errors + result.errors + result.timeouts,
    seconds: (performance.now() - started) / 1000,
  };
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function main(): Promise<void> {
  if (!DATA) throw new Error('set MOVIELENS_DIR (or --data) to a MovieLens release, e.g. ml-latest-small');
  const databaseUrl = await ensureBenchDatabase(DATABASE);
  const base = `http://127.0.0.1:${PORT}`;
  const child = spawn(
    process.execPath,
    // The flags of `npm start` (package.json).
    ['--max-semi-space-size=128', '-r', '@swc-node/register', path.resolve(__dirname, '../src/main.ts')],
    {
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
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  try {
    await waitUntilReady(base, child);
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
    const users = Array.from({ length: 610 }, (_, i) => i + 1);
    const queries = [
      'mind-bending thriller about dreams',
      'space adventure with aliens',
      'romantic comedy in Paris',
      'animated movie for kids',
      'gritty crime drama in New York',
    ];
    const recommendationsOf = (strategy: string, userId: number) =>
      JSON.stringify({
        query: `query ($u: Int!) { recommendations(userId: $u, strategy: ${strategy}, first: 20) { rank score movie { id title } explanation { text } } }`,
        variables: { u: userId },
      });
    const recommend = (strategy: string): Scenario => ({
      name: `recommendations ${strategy}`,
      body: (random) => recommendationsOf(strategy, pick(users, random)),
    });
    const scenarios: Scenario[] = [
      recommend('HYBRID'),
      recommend('COLLABORATIVE'),
      recommend('CONTENT'),
      recommend('STATISTICAL'),
      {
        name: 'similarMovies',
        body: (random) =>
          JSON.stringify({
            query: `query ($m: Int!) { similarMovies(movieId: $m, first: 20) { score movie { id title } } }`,
            variables: { m: pick(movieIds, random) },
          }),
      },
      {
        name: 'trending',
        body: () => JSON.stringify({ query: `{ trending(first: 20) { score votes movie { id title } } }` }),
      },
      {
        name: 'search',
        body: (random) =>
          JSON.stringify({
            query: `query ($q: String!) { search(query: $q, first: 20) { score movie { id title } } }`,
            variables: { q: pick(queries, random) },
          }),
      },
    ];
    if ('recordEvents'.includes(ONLY) || ONLY.includes('recordEvents'))
      scenarios.push(...(await feedbackScenarios(url, movieIds, pick)));
    const row = (name: string, connections: number, outcome: Outcome, eventsPerRequest = 0) => {
      const sorted = outcome.latencies.sort((a, b) => a - b);
      const perSecond = sorted.length / outcome.seconds;
      console.log(
        `| ${name} | ${connections} | ${perSecond.toFixed(0)}` +
          `${eventsPerRequest ? ` (${(perSecond * eventsPerRequest).toFixed(0)} events/s)` : ''} | ` +
          `${percentile(sorted, 0.5).toFixed(1)} | ${percentile(sorted, 0.95).toFixed(1)} | ` +
          `${percentile(sorted, 0.99).toFixed(1)} | ${outcome.errors} |`,
      );
    };
    console.log(`\n${SECONDS} s per cell, ml data: ${DATA}\n`);
    console.log('| query | connections | requests/s | p50 ms | p95 ms | p99 ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    if ('recommendations HYBRID'.includes(ONLY)) {
      // Before anything else: every user once, so nothing of theirs is cached yet (their ratings,
      // engine state, the movies their lists show), at the highest concurrency asked for.
      const order = [...users];
      const shuffle = createRandom(7);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(shuffle() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      let next = 0;
      const firstRequests: Scenario = {
        name: "recommendations HYBRID, each user's first request",
        body: () => recommendationsOf('HYBRID', order[next++ % order.length]),
      };
      const connections = Math.max(...CONNECTIONS);
      row(
        firstRequests.name,
        connections,
        await drive(url, firstRequests, connections, { amount: order.length }),
      );
    }
    for (const scenario of scenarios.filter((s) => s.name.includes(ONLY))) {
      await drive(url, scenario, 4, { seconds: 1 }); // warm-up
      for (const connections of CONNECTIONS)
        row(
          scenario.name,
          connections,
          await drive(url, scenario, connections, { seconds: SECONDS }),
          scenario.eventsPerRequest,
        );
    }
  } finally {
    child.kill('SIGTERM');
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
): Promise<Scenario[]> {
  const tokens: string[] = [];
  for (let i = 0; i < 64; i++) {
    const ratings = Array.from({ length: 5 }, (_, k) => ({
      movieId: movieIds[(i + k * 7) % movieIds.length],
      rating: 4,
    }));
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($r: [RatingInput!]!) { onboard(ratings: $r) { token } }',
        variables: { r: ratings },
      }),
    });
    const { data } = (await response.json()) as { data: { onboard: { token: string } } };
    tokens.push(data.onboard.token);
  }
  const run = `${Date.now().toString(36)}-`;
  let counter = 0;
  const types = ['IMPRESSION', 'IMPRESSION', 'IMPRESSION', 'CLICK', 'WATCH', 'NOT_INTERESTED'];
  const scenario = (size: number): Scenario => ({
    name: `recordEvents, ${size} per call`,
    eventsPerRequest: size,
    headers: (random) => ({ authorization: `Bearer ${pick(tokens, random)}` }),
    body: (random) =>
      JSON.stringify({
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
  });
  return [scenario(1), scenario(10)];
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
