/**
 * The scale benchmark of issue 12: for each size, a synthetic release of the ML-25M shape (ML-32M's
 * for 32M) is generated, imported into a fresh database of the local PostgreSQL, served cold (no
 * model: STATISTICAL while the first model trains in the background) and warm (model present), and
 * loaded with requests for users never requested before. Prints Markdown tables.
 *
 *   npm run bench:scale -- --sizes 1M,5M,25M,32M [--seconds-cap 20] [--connections 1,16,64]
 */
import 'reflect-metadata';
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
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
import { BENCH_ADMIN_URL } from './bench-database';

const USAGE = `Usage: npm run bench:scale -- [--sizes 1M,5M,25M,32M] [options]

For each size (ratings; 32M uses the ML-32M shape, others ML-25M's): generate a synthetic release,
import it into a fresh database, start the server cold (it serves STATISTICAL while the first model
trains in a child process), wait for the model and the content index, load it with requests for users
never requested before, time a rating until the list changes, restart warm; prints Markdown tables.

  --sizes <list>        e.g. 0.2M,1M (default 1M)
  --seed <n>            generator seed (default 1)
  --connections <list>  concurrent connections per cell (default 1,16,64)
  --max-requests <n>    requests per cell at most (default 1500; each user is asked for once)
  --port <n>            server port (default 4590)
  --keep                keep the databases and generated files
  --help`;

interface Args {
  sizes: { label: string; ratings: number }[];
  seed: number;
  connections: number[];
  maxRequests: number;
  port: number;
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
      keep: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  return {
    sizes: (values.sizes ?? '1M').split(',').map(parseSize),
    seed: Number(values.seed ?? '1'),
    connections: (values.connections ?? '1,16,64').split(',').map(Number),
    maxRequests: Number(values['max-requests'] ?? '1500'),
    port: Number(values.port ?? '4590'),
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

/** RSS now and at its peak, of a process of ours (Linux /proc). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

interface Server {
  child: ChildProcess;
  base: string;
  lines: string[];
  /** Resolves with the first log line matching. */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  stop(): Promise<void>;
}

function startServer(databaseUrl: string, port: number): Server {
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=128', '-r', '@swc-node/register', path.resolve(__dirname, '../src/main.ts')],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        LOG_LEVEL: 'info',
        NODE_ENV: 'production',
        DB_POOL_SIZE: process.env.DB_POOL_SIZE ?? '16',
        MAX_QUERY_COST: '1000000',
        EMBEDDINGS: process.env.EMBEDDINGS ?? 'use-lite',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onLine = (line: string) => {
    lines.push(line);
    if (/ERROR|error/.test(line)) process.stderr.write(`  server: ${line}\n`);
    for (const waiter of [...waiters])
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
  };
  readline.createInterface({ input: child.stdout! }).on('line', onLine);
  readline.createInterface({ input: child.stderr! }).on('line', onLine);
  return {
    child,
    base: `http://127.0.0.1:${port}`,
    lines,
    waitForLine(pattern, timeoutMs) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no log line ${pattern} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Health {
  engines: Record<string, { ready: boolean; reason?: string }>;
}

async function health(base: string): Promise<Health | null> {
  try {
    return (await (await fetch(`${base}/health`)).json()) as Health;
  } catch {
    return null;
  }
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
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

function percentile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** Closed loop at `connections`, `amount` requests whose bodies come from `next()`; errors are non-200 or GraphQL errors. */
async function drive(base: string, query: string, connections: number, amount: number, next: () => string) {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${base}/graphql`,
        connections,
        amount,
        timeout: 60,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({ ...request, body: next() }),
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
  const elapsed = seconds(started);
  latencies.sort((a, b) => a - b);
  return {
    query,
    connections,
    requestsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p95: percentile(latencies, 0.95),
    p99: percentile(latencies, 0.99),
    errors: errors + result.errors + result.timeouts,
  } satisfies Cell;
}

interface SizeResult {
  label: string;
  figures: Record<string, string>;
  cells: Cell[];
}

const SEARCHES = [
  'mind-bending thriller about dreams',
  'space adventure with aliens',
  'romantic comedy in Paris',
  'animated movie for kids',
  'gritty crime drama in New York',
];

async function benchSize(args: Args, size: { label: string; ratings: number }): Promise<SizeResult> {
  const figures: Record<string, string> = {};
  const shapeName: ReleaseShapeName = size.ratings >= 30e6 ? 'ml-32m' : 'ml-25m';
  const scale = size.ratings / RELEASE_SHAPES[shapeName].ratings;
  const tag = `${size.label.toLowerCase().replace(/[^a-z0-9]/g, '_')}_${process.pid}`;
  const dir = path.join(os.tmpdir(), `cinegraph-scale-${tag}`);
  const database = `bench_scale_${tag}`;
  const log = (line: string) => process.stderr.write(`[${size.label}] ${line}\n`);

  log(`generating ${shapeName} × ${scale.toFixed(4)} into ${dir}`);
  const generated = await generateRelease({ shape: shapeName, scale, seed: args.seed, out: dir });
  figures['generate: ratings/s'] = Math.round(generated.ratingsPerSecond).toLocaleString('en-US');
  figures['users / movies'] =
    `${generated.users.toLocaleString('en-US')} / ${generated.movies.toLocaleString('en-US')}`;

  await admin((c) => c.query(`CREATE DATABASE ${database}`));
  const url = BENCH_ADMIN_URL.replace(/\/[^/]*$/, `/${database}`);
  let server: Server | null = null;
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
      movieIds = (
        await db.query(
          `SELECT movie_id AS id FROM ratings GROUP BY movie_id ORDER BY count(*) DESC LIMIT 2000`,
        )
      ).map((r: { id: number }) => r.id);
    } finally {
      await db.destroy();
    }

    log('cold start (no model)');
    let started = performance.now();
    server = startServer(url, args.port);
    const cold = server;
    await waitFor('the server to listen', () => health(cold.base), 600_000);
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
      `collaborative: ${duringHealth?.engines.collaborative?.reason ?? 'ready'}`;
    const trained = await cold.waitForLine(
      /trained model version|training the collaborative model failed/,
      6 * 3600_000,
    );
    const trainedMatch = /: (\d+) ratings, ([\d.]+) s, peak RSS (\d+) MiB/.exec(trained);
    figures['first training'] = trainedMatch
      ? `${Number(trainedMatch[2]).toFixed(1)} s, peak RSS ${trainedMatch[3]} MiB`
      : `failed: ${trained}`;
    log('waiting for every engine');
    await waitFor(
      'every engine to be ready',
      async () => {
        const h = await health(cold.base);
        return h && Object.values(h.engines).every((e) => e.ready) ? h : null;
      },
      6 * 3600_000,
    );
    figures['cold start to all engines ready'] = `${seconds(started).toFixed(1)} s`;

    // Users in a seeded random order, each requested once over the whole run.
    const order = [...users];
    const random = createRandom(args.seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const strategies = ['HYBRID', 'COLLABORATIVE', 'STATISTICAL', 'CONTENT'];
    const perCell = Math.max(
      1,
      Math.min(args.maxRequests, Math.floor(order.length / (strategies.length * args.connections.length))),
    );
    let nextUser = 0;
    const cells: Cell[] = [];
    for (const strategy of strategies) {
      for (const connections of args.connections) {
        log(`${strategy} at ${connections} connections, ${perCell} new users`);
        cells.push(
          await drive(server.base, strategy, connections, perCell, () =>
            JSON.stringify({
              query: `query ($u: Int!) { recommendations(userId: $u, strategy: ${strategy}, first: 20) { rank score strategyUsed movie { id title } explanation { text } } }`,
              variables: { u: order[nextUser++ % order.length] },
            }),
          ),
        );
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
            variables: { q: pick(SEARCHES) },
          }),
      ],
      [
        'trending',
        () => JSON.stringify({ query: `{ trending(first: 20) { score votes movie { id title } } }` }),
      ],
    ];
    for (const [query, body] of others)
      for (const connections of args.connections) {
        log(`${query} at ${connections} connections`);
        cells.push(await drive(server.base, query, connections, Math.min(args.maxRequests, 500), body));
      }
    const memory = memoryOf(server.child.pid!);
    figures['server RSS after load (peak)'] = `${mib(memory.rss)} (${mib(memory.peak)})`;

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
    figures['rate → changed HYBRID list (median of 5)'] = rateTimes.length
      ? `${percentile(rateTimes, 0.5).toFixed(0)} ms (${rateTimes.length}/5 changed)`
      : 'list never changed';

    log('warm start (model present)');
    await server.stop();
    started = performance.now();
    server = startServer(url, args.port);
    const warm = server;
    await waitFor(
      'the warm server to serve COLLABORATIVE',
      async () => {
        const h = await health(warm.base);
        return h?.engines.collaborative?.ready ? h : null;
      },
      600_000,
    );
    figures['warm start to serving (model loaded)'] = `${seconds(started).toFixed(1)} s`;
    figures['server RSS after warm start'] = mib(memoryOf(warm.child.pid!).rss);
    return { label: size.label, figures, cells };
  } finally {
    await server?.stop();
    if (!args.keep) {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database}`));
      await fs.rm(dir, { recursive: true, force: true });
    }
  }
}

function printTables(results: SizeResult[]): void {
  const keys = [...new Set(results.flatMap((r) => Object.keys(r.figures)))];
  const lines = [
    `| stage | ${results.map((r) => r.label).join(' | ')} |`,
    `|---|${results.map(() => '---').join('|')}|`,
    ...keys.map((key) => `| ${key} | ${results.map((r) => r.figures[key] ?? '–').join(' | ')} |`),
    '',
  ];
  for (const result of results) {
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
  lines.push(
    `machine: ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const results: SizeResult[] = [];
  for (const size of args.sizes) results.push(await benchSize(args, size));
  printTables(results);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
