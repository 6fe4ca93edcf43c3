/**
 * The scale benchmark of issue 12: for each size, a synthetic release of the ML-25M shape (ML-32M's
 * for 32M) is generated, imported into a fresh database of the local PostgreSQL, served cold (no
 * model: STATISTICAL while the first model trains in the background) and warm (model present), and
 * loaded with requests for users never requested before. Prints Markdown tables.
 *
 *   npm run bench:scale -- --sizes 1M,5M,25M,32M [--connections 1,16,64] [--log-dir DIR] [--keep]
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { createRandom } from '../fixtures/synthetic';
import { importRelease } from '../src/data/importer';
import { generateRelease, RELEASE_SHAPES, type ReleaseShapeName } from '../src/data/synthetic-release';
import { openDatabase } from '../src/db/datasource';
import { CONTENT_INDEX_JOB, TRAINING_JOB } from '../src/worker';
import { BENCH_ADMIN_URL } from './bench-database';
import { BENCH_SEARCHES, drive, percentile, SERVER_NODE_FLAGS } from './bench-load';
import {
  ACTIVE_TOP_N_SQL,
  describeJobs,
  describeTopN,
  describeTraining,
  enginesState,
  FIRST_RUN_SQL,
  firstModelState,
  type ActiveTopNRow,
  type JobRunRow,
  type ServerHealth,
  type Waited,
} from './bench-scale-jobs';
import { judgeTargets, TARGET_CONNECTIONS, verdictCell, type SizeMeasures } from './bench-scale-targets';

const USAGE = `Usage: npm run bench:scale -- [--sizes 1M,5M,25M,32M] [options]

For each size (ratings; 32M uses the ML-32M shape, others ML-25M's): generate a synthetic release,
import it into a fresh database, start the server cold (it serves STATISTICAL while the first model
trains in a child process), wait for the model and the content index, time the first 64 HYBRID lists
(the first of 300 warm-up lists, not in any cell), load it with requests for users never requested
before, time a rating until the list changes, restart warm (until COLLABORATIVE serves,
and until every engine does); prints Markdown tables.

  --sizes <list>        e.g. 0.2M,1M (default 1M)
  --seed <n>            generator seed (default 1)
  --connections <list>  concurrent connections per cell (default 1,16,64)
  --max-requests <n>    requests per cell at most (default 6000; each user is asked for once): at 16
                        connections a stall holds 16 requests at once, so a p99 over 1,500 is one
                        or two stalls (1,500-request stretches of one 25M cell: 38 to 145 ms)
  --port <n>            server port (default 4590)
  --wait-minutes <n>    longest wait for the first model, and then for every engine (default 240);
                        a progress line is printed every 30 s while waiting
  --log-dir <dir>       where each server's whole output is written (default: a new directory under
                        the system's temporary directory; its path is printed)
  --keep                keep the databases and generated files
  --help

A size that fails (import, first training, a server exit, a wait past --wait-minutes) is reported in
the table with its reason and the next size is measured; the exit code is 1 when any size failed or
any request had an error.`;

interface Args {
  sizes: { label: string; ratings: number }[];
  seed: number;
  connections: number[];
  maxRequests: number;
  port: number;
  waitMs: number;
  logDir: string | null;
  keep: boolean;
}

function parseSize(text: string): { label: string; ratings: number } {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new Error(`--sizes: "${text}" is not a size like 1M or 200k`);
  const unit = match[2].toLowerCase() === 'm' ? 1e6 : match[2].toLowerCase() === 'k' ? 1e3 : 1;
  return { label: text.trim(), ratings: Math.round(Number(match[1]) * unit) };
}

function parseCli(argv: string[]): Args | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      sizes: { type: 'string' },
      seed: { type: 'string' },
      connections: { type: 'string' },
      'max-requests': { type: 'string' },
      port: { type: 'string' },
      'wait-minutes': { type: 'string' },
      'log-dir': { type: 'string' },
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  return {
    sizes: (values.sizes ?? '1M').split(',').map(parseSize),
    seed: Number(values.seed ?? '1'),
    connections: (values.connections ?? '1,16,64').split(',').map(Number),
    maxRequests: Number(values['max-requests'] ?? '6000'),
    port: Number(values.port ?? '4590'),
    waitMs: Number(values['wait-minutes'] ?? '240') * 60_000,
    logDir: values['log-dir'] ?? null,
    keep: values.keep === true,
  };
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

async function admin<T>(work: (client: Client) => Promise<T>, database = 'postgres'): Promise<T> {
  const client = new Client({ connectionString: BENCH_ADMIN_URL.replace(/\/[^/]*$/, `/${database}`) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** RSS now and at its peak, of a process of ours (Linux /proc); zeros once it is gone. */
function memoryOf(pid: number): { rss: number; peak: number } {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rss: 0, peak: 0 };
  }
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** The processes a process started (the server's training runs in one), from /proc. */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Lines of the server's output kept in memory for error reports; all of it goes to its log file. */
const RECENT_LINES = 40;

interface Server {
  child: ChildProcess;
  base: string;
  logFile: string;
  /** The last lines it printed. */
  recent(): string[];
  /** How it exited ("code 1", "SIGKILL"), or null while it runs. */
  exit(): string | null;
  stop(): Promise<void>;
}

function startServer(databaseUrl: string, port: number, logFile: string): Server {
  const child = spawn(
    process.execPath,
    [...SERVER_NODE_FLAGS, '-r', '@swc-node/register', path.resolve(__dirname, '../src/main.ts')],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        // LOG_LEVEL=info writes a line per request (README, Operations): a cost the cells would
        // measure. Jobs are followed through /health and worker_job_runs, not through log lines.
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        NODE_ENV: 'production',
        DB_POOL_SIZE: process.env.DB_POOL_SIZE ?? '16',
        MAX_QUERY_COST: '1000000',
        // One load generator stands for many users from one address: no per-client limit (the
        // default, 100 requests/s per address, would fail most requests at 16 and 64 connections).
        RATE_LIMIT_RPS: '0',
        // The model is the first one for the whole run: no retraining started by the ratings the
        // run writes or by age, which would share the measured seconds.
        RETRAIN_MIN_NEW_RATINGS: '0',
        RETRAIN_INTERVAL_MS: '0',
        EMBEDDINGS: process.env.EMBEDDINGS ?? 'use-lite',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = createWriteStream(logFile, { flags: 'a' });
  const recent: string[] = [];
  let exit: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = signal ? `${signal}` : `code ${code}`;
      log.write(`--- the server exited: ${exit}\n`);
      resolve();
    }),
  );
  const onLine = (line: string) => {
    log.write(`${line}\n`);
    recent.push(line);
    if (recent.length > RECENT_LINES) recent.shift();
    if (/ERROR|error|heap out of memory/.test(line)) process.stderr.write(`  server: ${line}\n`);
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    logFile,
    recent: () => [...recent],
    exit: () => exit,
    async stop() {
      if (exit === null) child.kill('SIGTERM');
      await exited;
      await new Promise((resolve) => log.end(resolve));
    },
  };
}

async function health(base: string): Promise<ServerHealth | null> {
  try {
    return (await (
      await fetch(`${base}/health`, { signal: AbortSignal.timeout(30_000) })
    ).json()) as ServerHealth;
  } catch {
    return null;
  }
}

/**
 * Set by the first SIGINT/SIGTERM: the wait in progress ends, the size is reported as interrupted
 * with what it measured so far, its server stopped and its database dropped, and the tables are
 * printed (a run of hours stopped at a deadline still reports). A second signal exits at once.
 */
let interrupted: string | null = null;

function stopIfInterrupted(stage: string): void {
  if (interrupted) throw new Error(`${interrupted} before ${stage}`);
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | false>,
  timeoutMs: number,
  server?: Server,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    const exit = server?.exit();
    if (exit) throw new Error(`the server exited (${exit}) while waiting for ${what}`);
    if (interrupted) throw new Error(`${interrupted} while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** How often a line says what a long wait is waiting for. */
const PROGRESS_EVERY_MS = 30_000;

/**
 * Polls /health and the job's first run until `judge` says done or failed, printing every 30 s
 * what the jobs are doing and the RSS of the server and of the processes it started (the training).
 */
async function waitForJobs(
  what: string,
  server: Server,
  db: Client,
  job: string,
  judge: (health: ServerHealth | null, run: JobRunRow | null, exit: string | null) => Waited,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<Waited & { run: JobRunRow | null }> {
  const started = Date.now();
  let reported = started;
  for (;;) {
    const h = await health(server.base);
    const [run] = (await db.query(FIRST_RUN_SQL, [job])).rows as JobRunRow[];
    const verdict = judge(h, run ?? null, server.exit());
    if (verdict.state !== 'waiting') return { ...verdict, run: run ?? null };
    const now = Date.now();
    if (interrupted)
      return {
        state: 'failed',
        reason: `${interrupted} after ${((now - started) / 60_000).toFixed(1)} min of waiting for ${what} (${describeJobs(h)})`,
        run: run ?? null,
      };
    if (now - started > timeoutMs)
      return {
        state: 'failed',
        reason: `no end of waiting for ${what} within ${Math.round(timeoutMs / 60_000)} min (${describeJobs(h)})`,
        run: run ?? null,
      };
    if (now - reported >= PROGRESS_EVERY_MS) {
      reported = now;
      const children = childrenOf(server.child.pid!).map((pid) => mib(memoryOf(pid).rss));
      log(
        `${((now - started) / 60_000).toFixed(1)} min waiting for ${what}: ${describeJobs(h)}; ` +
          `server RSS ${mib(memoryOf(server.child.pid!).rss)}` +
          (children.length ? `, its child processes ${children.join(', ')}` : '') +
          `; load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    await sleep(1000);
  }
}

async function graphql<T>(base: string, query: string, variables: object = {}, token?: string): Promise<T> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length) throw new Error(`GraphQL: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data as T;
}

interface Cell {
  query: string;
  connections: number;
  requestsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
}

/** Closed loop at `connections`, `amount` requests whose bodies come from `next()` (bench-load's drive). */
async function driveCell(
  base: string,
  query: string,
  connections: number,
  amount: number,
  next: () => string,
): Promise<Cell> {
  const outcome = await drive(
    `${base}/graphql`,
    { next: () => ({ body: next() }) },
    connections,
    { amount },
    42,
    {
      timeoutSeconds: 60,
    },
  );
  const latencies = [...outcome.latencies].sort((a, b) => a - b);
  return {
    query,
    connections,
    requestsPerSecond: outcome.responses / outcome.seconds,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    errors: outcome.errors,
  };
}

interface SizeResult {
  label: string;
  figures: Record<string, string>;
  cells: Cell[];
  /** The figures issue #12's targets are judged by, as numbers. */
  measures: Omit<SizeMeasures, 'completed'>;
  /** Why the size did not complete; null when it did. */
  failure: string | null;
}

const loadNow = () => os.loadavg()[0].toFixed(2);

/** HYBRID lists for users outside the cells before the first cell (benchSize says why). */
const WARM_UP_LISTS = 300;
/** The warm-up's first lists, timed and reported as the first lists after a start. */
const FIRST_LISTS_REPORTED = 64;

/** Measures one size into `result` as it goes, so a failure part-way still shows what was measured. */
async function benchSize(
  args: Args,
  size: { label: string; ratings: number },
  result: SizeResult,
  logDir: string,
): Promise<void> {
  const { figures, cells, measures } = result;
  const shapeName: ReleaseShapeName = size.ratings >= 30e6 ? 'ml-32m' : 'ml-25m';
  const scale = size.ratings / RELEASE_SHAPES[shapeName].ratings;
  const tag = `${size.label.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${process.pid}`;
  const dir = path.join(os.tmpdir(), `cinegraph-scale-${tag}`);
  const database = `bench_scale_${tag}`;
  const log = (line: string) =>
    process.stderr.write(`${new Date().toISOString().slice(11, 19)} [${size.label}] ${line}\n`);
  const loadAtStart = loadNow();

  log(`generating ${shapeName} × ${scale.toFixed(4)} into ${dir}`);
  const generated = await generateRelease({ shape: shapeName, scale, seed: args.seed, out: dir }).catch(
    async (error: unknown) => {
      if (!args.keep) await fs.rm(dir, { recursive: true, force: true });
      throw error;
    },
  );
  figures['generate: ratings/s'] = Math.round(generated.ratingsPerSecond).toLocaleString('en-US');
  figures['users / movies'] =
    `${generated.users.toLocaleString('en-US')} / ${generated.movies.toLocaleString('en-US')}`;

  await admin((c) => c.query(`CREATE DATABASE ${database}`));
  const url = BENCH_ADMIN_URL.replace(/\/[^/]*$/, `/${database}`);
  let server: Server | null = null;
  // Reads worker_job_runs while the server runs; its own connection, outside the server's pool.
  const jobsDb = new Client({ connectionString: url });
  try {
    await admin((c) => c.query(`CREATE EXTENSION IF NOT EXISTS vector`), database);
    log('importing');
    const db = await openDatabase({ url, poolSize: 2 });
    let users: number[];
    let movieIds: number[];
    try {
      const imported = await importRelease(db, dir);
      figures['import'] =
        `${imported.seconds.toFixed(1)} s, ${Math.round(imported.ratingsPerSecond).toLocaleString('en-US')} rows/s`;
      const [{ bytes }] = await db.query(`SELECT pg_database_size(current_database())::float8 AS bytes`);
      figures['database size'] = mib(bytes);
      users = (await db.query(`SELECT id FROM users ORDER BY id`)).map((r: { id: number }) => r.id);
      // From the counts the ratings' triggers keep: grouping 32M ratings outlasted the statement timeout.
      movieIds = (
        await db.query(
          `SELECT movie_id AS id FROM movie_rating_stats ORDER BY votes DESC, movie_id LIMIT 2000`,
        )
      ).map((r: { id: number }) => r.id);
    } finally {
      await db.destroy();
    }
    await jobsDb.connect();

    const coldLog = path.join(logDir, `server-${tag}-cold.log`);
    log(`cold start (no model); server output in ${coldLog}`);
    let started = performance.now();
    server = startServer(url, args.port, coldLog);
    const cold = server;
    await waitFor('the server to listen', () => health(cold.base), 600_000, cold);
    figures['cold start to serving'] = `${seconds(started).toFixed(1)} s`;
    const during = await graphql<{ recommendations: { strategyUsed: string }[] }>(
      cold.base,
      `
        query ($u: Int!) {
          recommendations(userId: $u, strategy: COLLABORATIVE, first: 5) {
            strategyUsed
          }
        }
      `,
      { u: users[0] },
    );
    const duringHealth = await health(cold.base);
    figures['while training'] =
      `COLLABORATIVE answered as ${during.recommendations[0]?.strategyUsed ?? 'nothing'}; ` +
      `collaborative: ${duringHealth?.engines?.collaborative?.reason ?? 'ready'}`;

    log('waiting for the first model');
    const trained = await waitForJobs(
      'the first model',
      cold,
      jobsDb,
      TRAINING_JOB,
      firstModelState,
      args.waitMs,
      log,
    );
    figures['first training'] = describeTraining(trained.run);
    if (trained.run?.outcome === 'succeeded') {
      const { seconds: trainingSeconds, maxRssBytes } = trained.run.detail;
      if (typeof trainingSeconds === 'number') measures.trainingSeconds = trainingSeconds;
      if (typeof maxRssBytes === 'number') measures.trainingPeakBytes = maxRssBytes;
    }
    if (trained.state === 'failed') {
      figures['first training'] = `failed: ${trained.reason}`;
      throw new Error(`first training: ${trained.reason}`);
    }
    figures['cold start to COLLABORATIVE served'] = `${seconds(started).toFixed(1)} s`;
    figures['top-N model served'] = describeTopN(
      (await jobsDb.query(ACTIVE_TOP_N_SQL)).rows[0] as ActiveTopNRow,
    );
    log(`first model served: ${figures['first training']}; waiting for every engine`);
    // Waits until `on` serves from every engine, then writes the seconds since `started` (or why not) as `figure`.
    const everyEngine = async (what: string, on: Server, figure: string, failure: string) => {
      const ready = await waitForJobs(what, on, jobsDb, CONTENT_INDEX_JOB, enginesState, args.waitMs, log);
      if (ready.state === 'failed') {
        figures[figure] = `failed: ${ready.reason}`;
        throw new Error(`${failure}: ${ready.reason}`);
      }
      figures[figure] = `${seconds(started).toFixed(1)} s`;
      return ready;
    };
    const ready = await everyEngine('every engine', cold, 'cold start to all engines ready', 'engines');
    const indexSeconds = ready.run?.detail.seconds;
    if (typeof indexSeconds === 'number') {
      measures.indexSeconds = indexSeconds;
      figures['content index build'] =
        `${indexSeconds.toFixed(1)} s, ${String(ready.run?.detail.embedded ?? '?')} movies embedded`;
    }

    // Users in a seeded random order, each requested once over the whole run.
    const order = [...users];
    const random = createRandom(args.seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const strategies = ['HYBRID', 'COLLABORATIVE', 'STATISTICAL', 'CONTENT'];
    const warmUp = Math.min(WARM_UP_LISTS, Math.floor(order.length / 10));
    const perCell = Math.max(
      1,
      Math.min(
        args.maxRequests,
        Math.floor((order.length - warmUp) / (strategies.length * args.connections.length)),
      ),
    );
    let nextUser = 0;
    const listOfNextUser = (strategy: string) => () =>
      JSON.stringify({
        query: `query ($u: Int!) { recommendations(userId: $u, strategy: ${strategy}, first: 20) { rank score strategyUsed movie { id title } explanation { text } } }`,
        variables: { u: order[nextUser++ % order.length] },
      });
    // The process's first lists are reported on their own and the rest of the warm-up is not
    // measured: a cell measures users never requested before on a running server, and its p99 is
    // its slowest 1%, which the first few dozen lists of a new process took on their own (up to
    // ~1 s each before the engines made their parts while starting; JIT-compiled code settles over
    // the first few hundred).
    const first = Math.min(FIRST_LISTS_REPORTED, warmUp);
    const { base } = server;
    const hybridLists = (amount: number) =>
      driveCell(base, 'HYBRID', TARGET_CONNECTIONS, amount, listOfNextUser('HYBRID'));
    if (first > 0) {
      log(
        `warm-up: ${warmUp} HYBRID lists at ${TARGET_CONNECTIONS} connections, the first ${first} reported`,
      );
      const firstLists = await hybridLists(first);
      figures[`first ${first} HYBRID lists after the start (${TARGET_CONNECTIONS} conn.): p50 / p99`] =
        `${firstLists.p50.toFixed(0)} / ${firstLists.p99.toFixed(0)} ms`;
      const rest = warmUp > first ? await hybridLists(warmUp - first) : null;
      // Not a cell, but the same requests: an error there fails the size as one in a cell would.
      const warmUpErrors = firstLists.errors + (rest?.errors ?? 0);
      if (warmUpErrors > 0) throw new Error(`${warmUpErrors} of the ${warmUp} warm-up lists failed`);
    }
    for (const strategy of strategies) {
      for (const connections of args.connections) {
        stopIfInterrupted(`${strategy} at ${connections} connections`);
        log(`${strategy} at ${connections} connections, ${perCell} new users`);
        cells.push(await driveCell(server.base, strategy, connections, perCell, listOfNextUser(strategy)));
      }
    }
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
    const others: [string, () => string][] = [
      [
        'similarMovies',
        () =>
          JSON.stringify({
            query: `query ($m: Int!) { similarMovies(movieId: $m, first: 20) { score movie { id title } } }`,
            variables: { m: pick(movieIds) },
          }),
      ],
      [
        'search',
        () =>
          JSON.stringify({
            query: `query ($q: String!) { search(query: $q, first: 20) { score movie { id title } } }`,
            variables: { q: pick(BENCH_SEARCHES) },
          }),
      ],
      [
        'trending',
        () => JSON.stringify({ query: `{ trending(first: 20) { score votes movie { id title } } }` }),
      ],
    ];
    for (const [query, body] of others)
      for (const connections of args.connections) {
        stopIfInterrupted(`${query} at ${connections} connections`);
        log(`${query} at ${connections} connections`);
        cells.push(await driveCell(server.base, query, connections, args.maxRequests, body));
      }
    const memory = memoryOf(server.child.pid!);
    figures['server RSS after load (peak)'] = `${mib(memory.rss)} (${mib(memory.peak)})`;
    measures.serverPeakBytes = memory.peak;

    // A new user rates; how long until their next list is a different list.
    const onboard = await graphql<{ onboard: { token: string; user: { id: number } } }>(
      server.base,
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
      { r: movieIds.slice(0, 10).map((movieId, n) => ({ movieId, rating: n % 2 ? 4.5 : 2 })) },
    );
    const listOf = async () =>
      (
        await graphql<{ recommendations: { movie: { id: number } }[] }>(
          server!.base,
          `
            query ($u: Int!) {
              recommendations(userId: $u, strategy: HYBRID, first: 20) {
                movie {
                  id
                }
              }
            }
          `,
          { u: onboard.onboard.user.id },
          onboard.onboard.token,
        )
      ).recommendations
        .map((r) => r.movie.id)
        .join(',');
    const rateTimes: number[] = [];
    for (let n = 0; n < 5; n++) {
      const before = await listOf();
      const movieId = movieIds[20 + n * 7];
      const t = performance.now();
      await graphql(
        server.base,
        `
          mutation ($m: Int!) {
            rate(movieId: $m, rating: 5) {
              rating
            }
          }
        `,
        { m: movieId },
        onboard.onboard.token,
      );
      const after = await listOf();
      if (after !== before) rateTimes.push(performance.now() - t);
    }
    rateTimes.sort((a, b) => a - b);
    measures.rateToListMs = rateTimes.length ? percentile(rateTimes, 0.5) : null;
    figures['rate → changed HYBRID list (median of 5)'] =
      measures.rateToListMs === null
        ? 'list never changed'
        : `${measures.rateToListMs.toFixed(0)} ms (${rateTimes.length}/5 changed)`;

    stopIfInterrupted('the warm start');
    log('warm start (model present)');
    await server.stop();
    const warmLog = path.join(logDir, `server-${tag}-warm.log`);
    started = performance.now();
    server = startServer(url, args.port, warmLog);
    const warm = server;
    await waitFor(
      'the warm server to serve COLLABORATIVE',
      async () => {
        const h = await health(warm.base);
        return h?.engines?.collaborative?.ready ? h : null;
      },
      600_000,
      warm,
    );
    measures.warmStartSeconds = seconds(started);
    figures['warm start to serving (model loaded)'] = `${measures.warmStartSeconds.toFixed(1)} s`;
    figures['server RSS after warm start'] = mib(memoryOf(warm.child.pid!).rss);
    // What an operator waits for after a restart: the content engine serves once this process has
    // checked the index (every text hash unchanged) and, where configured, built its in-process search.
    await everyEngine(
      'every engine after the warm start',
      warm,
      'warm start to all engines ready',
      'warm start',
    );
  } catch (error) {
    if (server?.exit())
      log(`the server exited (${server.exit()}); its last lines:\n${server.recent().join('\n')}`);
    throw error;
  } finally {
    figures['load average (1 min) at start → end'] = `${loadAtStart} → ${loadNow()}`;
    await server?.stop();
    await jobsDb.end().catch(() => undefined);
    if (!args.keep) {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

/**
 * The PostgreSQL settings the serving figures depend on most: with shared_buffers below the content
 * index and its vectors (at 25M, 163 MB of HNSW graph and 340 MB of table), a fifth of the graph's
 * page reads and half the vectors' missed the buffer pool (pg_statio), and HYBRID served half the
 * lists per second (README, Performance at scale).
 */
async function databaseSettings(): Promise<string> {
  // autovacuum: off on the machines these figures come from (their PostgreSQL's conf.d); on, a vacuum
  // of the ratings table can share a cell's seconds.
  const names = ['shared_buffers', 'effective_cache_size', 'work_mem', 'max_connections', 'autovacuum'];
  const rows: { name: string; setting: string }[] = (
    await admin((client) =>
      client.query(`SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1)`, [
        names,
      ]),
    )
  ).rows;
  return rows.map((row) => `${row.name} ${row.setting}`).join(', ');
}

function printTables(results: SizeResult[], startedAt: Date, settings: string): void {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.figures)))];
  const lines = [
    `| stage | ${results.map((r) => r.label).join(' | ')} |`,
    `|---|${results.map(() => '---').join('|')}|`,
    ...keys.map((key) => `| ${key} | ${results.map((r) => r.figures[key] ?? '–').join(' | ')} |`),
    `| outcome | ${results.map((r) => (r.failure ? `**failed**: ${r.failure}` : 'complete')).join(' | ')} |`,
    '',
  ];
  for (const result of results) {
    if (result.cells.length === 0) continue;
    lines.push(
      `${result.label}, users never requested before (similarMovies/search/trending: random movies/queries):`,
      '',
      '| query | connections | req/s | p50 ms | p95 ms | p99 ms | errors |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...result.cells.map(
        (c) =>
          `| ${c.query} | ${c.connections} | ${c.requestsPerSecond.toFixed(0)} | ${c.p50.toFixed(1)} | ` +
          `${c.p95.toFixed(1)} | ${c.p99.toFixed(1)} | ${c.errors} |`,
      ),
      '',
    );
  }
  const verdicts = results.map((r) =>
    judgeTargets({ ...r.measures, completed: r.failure === null }, r.cells),
  );
  if (verdicts.length > 0)
    lines.push(
      "Issue #12's targets (stated for 25M ratings; every size judged by the same bounds). At " +
        `${TARGET_CONNECTIONS} connections ${TARGET_CONNECTIONS} requests are always in flight, so the mean ` +
        `latency is ${TARGET_CONNECTIONS} / (req/s):`,
      '',
      `| target | ${results.map((r) => r.label).join(' | ')} |`,
      `|---|${results.map(() => '---').join('|')}|`,
      ...verdicts[0].map(
        (first, i) => `| ${first.target} | ${verdicts.map((v) => verdictCell(v[i])).join(' | ')} |`,
      ),
      '',
    );
  const errors = results.reduce((sum, r) => sum + r.cells.reduce((n, c) => n + c.errors, 0), 0);
  lines.push(
    `requests with errors: ${errors}; sizes failed: ${results.filter((r) => r.failure).length} of ${results.length}`,
    `machine: ${os.cpus().length} cores, ${mib(os.totalmem())} memory, load average now ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; run ${startedAt.toISOString()} → ${new Date().toISOString()}`,
    `PostgreSQL: ${settings}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const startedAt = new Date();
  const logDir = args.logDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-scale-logs-')));
  await fs.mkdir(logDir, { recursive: true });
  process.stderr.write(`server logs in ${logDir}\n`);
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (interrupted) process.exit(130);
      interrupted = `interrupted by ${signal}`;
      process.stderr.write(`${signal}: ending the current wait, then printing what was measured\n`);
    });
  const results: SizeResult[] = [];
  for (const size of args.sizes) {
    if (interrupted) break;
    const result: SizeResult = { label: size.label, figures: {}, cells: [], measures: {}, failure: null };
    results.push(result);
    try {
      await benchSize(args, size, result, logDir);
    } catch (error) {
      result.failure = error instanceof Error ? error.message : String(error);
      process.stderr.write(
        `[${size.label}] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
  }
  printTables(
    results,
    startedAt,
    await databaseSettings().catch((error: unknown) => `unread (${String(error)})`),
  );
  if (results.some((r) => r.failure || r.cells.some((c) => c.errors > 0))) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
