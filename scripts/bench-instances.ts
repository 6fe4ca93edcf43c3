/**
 * One API process against two on the same PostgreSQL and the same cores: does a second instance
 * serve at least the throughput of one (issue 13)? Phase "one" starts `npm start` as deployed on
 * its own (WORKER=embedded, so the catalog, model and content index exist); phase "two" starts two
 * WORKER=off instances on two ports and nothing else. Both phases get the same load: recommendations
 * HYBRID for repeated users at N connections, split over the instances in phase two.
 *
 *   MOVIELENS_DIR=../shared/data/ml-latest-small npm run bench:instances [-- --rounds 2]
 */
import { ChildProcess, execSync, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { answerHelp } from '../src/cli-help';
import { ensureBenchDatabase } from './bench-database';
import { drive, Outcome, percentile, RequestSource, SERVER_NODE_FLAGS, waitUntilReady } from './bench-load';

answerHelp(`Usage: MOVIELENS_DIR=<ml-latest-small> npm run bench:instances [-- options]

Measures whether two API instances on one machine serve at least the throughput of one. On the local
PostgreSQL (a database of its own, kept between runs; the release is imported on a first run):
  one   one process as \`npm start\` runs it (WORKER=embedded: it makes the model and content index
        when missing), on --port;
  two   two API processes with WORKER=off (no worker: they serve what phase one left in the
        database) on --port and --port + 1.
Each phase starts its processes, waits until every engine of each is ready, warms up, then sends
recommendations HYBRID for repeated users (random imported users, with replacement) from
--connections concurrent connections for --seconds (in phase two, half the connections to each
instance, at the same time), and stops them. Prints requests/s, p50 / p99 latency and errors per
phase, the ratio two/one per round, the load average and the core count.

Each process gets DB_POOL_SIZE (default 16) pooled PostgreSQL connections plus one for notifications.

  --seconds N       measured seconds per phase (default 10)
  --warm-up N       seconds of the same load before measuring, per phase (default 3)
  --connections N   concurrent connections in all (default 16; at least 2)
  --rounds N        rounds of one then two, interleaved (default 1)
  --port N          the first instance's port (default 4620; the second uses N + 1)
  --database NAME   the benchmark database (default cinegraph_bench)
  --data DIR        the release to import on a first run (or MOVIELENS_DIR)
  -h, --help        print this text`);

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

function integerFlag(name: string, fallback: number, min: number): number {
  const text = flag(name, String(fallback));
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new Error(`--${name}: "${text}" is not an integer of at least ${min}`);
  return value;
}

const SECONDS = integerFlag('seconds', 10, 1);
const WARM_UP_SECONDS = integerFlag('warm-up', 3, 0);
const CONNECTIONS = integerFlag('connections', 16, 2);
const ROUNDS = integerFlag('rounds', 1, 1);
const PORT = integerFlag('port', 4620, 1);
const DATABASE = flag('database', 'cinegraph_bench');
const DATA = process.env.MOVIELENS_DIR ?? flag('data', '');
const POOL_SIZE = process.env.DB_POOL_SIZE ?? '16';

type Phase = 'one' | 'two';

/** Every process started and not yet seen to exit, so that an interrupted run leaves none behind. */
const running = new Set<ChildProcess>();

function startInstance(databaseUrl: string, port: number, worker: 'embedded' | 'off'): ChildProcess {
  const child = spawn(
    process.execPath,
    // The flags of `npm start` (package.json).
    [...SERVER_NODE_FLAGS, '-r', '@swc-node/register', path.resolve(__dirname, '../src/main.ts')],
    {
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        // Only the embedded worker imports; an API-only instance finds the catalog phase one left.
        MOVIELENS_DIR: worker === 'embedded' ? path.resolve(DATA) : '',
        PORT: String(port),
        WORKER: worker,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        // As deployed (Dockerfile): graphql-js skips its development-only checks.
        NODE_ENV: process.env.NODE_ENV ?? 'production',
        DB_POOL_SIZE: POOL_SIZE,
        MAX_QUERY_COST: '1000000',
        // One load generator stands for many users from one address: no per-client limit.
        RATE_LIMIT_RPS: '0',
        // No training may share phase one's measured seconds (phase two has no worker at all):
        // neither on new ratings nor on the age of a model made on an earlier day.
        RETRAIN_MIN_NEW_RATINGS: process.env.RETRAIN_MIN_NEW_RATINGS ?? '0',
        RETRAIN_INTERVAL_MS: process.env.RETRAIN_INTERVAL_MS ?? '0',
      },
      // stdout carries the report alone: the servers' own output goes to stderr.
      stdio: ['ignore', 2, 2],
    },
  );
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

async function stopInstance(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  // The next phase must not share the cores with a process still shutting down.
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function answers(base: string): Promise<boolean> {
  try {
    await fetch(`${base}/livez`);
    return true;
  } catch {
    return false;
  }
}

/** Recommendations HYBRID for users drawn at random, with replacement, from `users`. */
function hybridRecommendations(users: readonly number[]): RequestSource {
  return {
    next: (random) => ({
      body: JSON.stringify({
        query: `query ($u: Int!) { recommendations(userId: $u, strategy: HYBRID, first: 20) { rank score movie { id title } explanation { text } } }`,
        variables: { u: users[Math.floor(random() * users.length)] },
      }),
    }),
  };
}

/** The load split over the instances' ports (connections as even as they go), all at once. */
async function driveAll(
  ports: readonly number[],
  users: readonly number[],
  seconds: number,
): Promise<Outcome[]> {
  return Promise.all(
    ports.map((port, i) => {
      const connections = Math.floor(CONNECTIONS / ports.length) + (i < CONNECTIONS % ports.length ? 1 : 0);
      // Each instance gets its own sequence of users, as behind a balancer.
      return drive(
        `http://127.0.0.1:${port}/graphql`,
        hybridRecommendations(users),
        connections,
        { seconds },
        42 + i,
      );
    }),
  );
}

interface Measurement {
  round: number;
  phase: Phase;
  /** Requests/s of each instance. */
  perInstance: number[];
  requestsPerSecond: number;
  requests: number;
  p50: number;
  p99: number;
  errors: number;
  load: number[];
}

function measure(round: number, phase: Phase, outcomes: Outcome[]): Measurement {
  const sorted = outcomes.flatMap((o) => o.latencies).sort((a, b) => a - b);
  const perInstance = outcomes.map((o) => o.responses / o.seconds);
  return {
    round,
    phase,
    perInstance,
    requestsPerSecond: perInstance.reduce((a, b) => a + b, 0),
    requests: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    errors: outcomes.reduce((sum, o) => sum + o.errors, 0),
    load: os.loadavg(),
  };
}

const TABLE_HEAD = [
  '| round | phase | processes | requests | requests/s | per instance | p50 ms | p99 ms | errors | load (1 min) |',
  '|---:|---|---:|---:|---:|---|---:|---:|---:|---:|',
];

function formatRow(m: Measurement): string {
  return (
    `| ${m.round} | ${m.phase} | ${m.perInstance.length} | ${m.requests} | ${m.requestsPerSecond.toFixed(0)} | ` +
    `${m.perInstance.map((r) => r.toFixed(0)).join(' + ')} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ` +
    `${m.errors} | ${m.load[0].toFixed(2)} |`
  );
}

function uptime(): string {
  try {
    return execSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`;
  }
}

async function runPhase(
  databaseUrl: string,
  round: number,
  phase: Phase,
  usersOf: (databaseUrl: string) => Promise<number[]>,
): Promise<Measurement> {
  const ports = phase === 'one' ? [PORT] : [PORT, PORT + 1];
  for (const port of ports)
    if (await answers(`http://127.0.0.1:${port}`))
      throw new Error(`something already answers on port ${port}: pick others with --port`);
  process.stderr.write(`round ${round}, phase ${phase}: starting ${ports.length} process(es)\n`);
  const children = ports.map((port) =>
    startInstance(databaseUrl, port, phase === 'one' ? 'embedded' : 'off'),
  );
  try {
    await Promise.all(
      ports.map((port, i) =>
        waitUntilReady(`http://127.0.0.1:${port}`, children[i], { pollMilliseconds: 1000, nameServer: true }),
      ),
    );
    const users = await usersOf(databaseUrl);
    if (WARM_UP_SECONDS > 0) await driveAll(ports, users, WARM_UP_SECONDS);
    const measurement = measure(round, phase, await driveAll(ports, users, SECONDS));
    process.stderr.write(`${formatRow(measurement)}\n`);
    return measurement;
  } finally {
    await Promise.all(children.map(stopInstance));
  }
}

async function main(): Promise<void> {
  if (!DATA) throw new Error('set MOVIELENS_DIR (or --data) to a MovieLens release, e.g. ml-latest-small');
  const databaseUrl = await ensureBenchDatabase(DATABASE);
  const before = uptime();
  let imported: number[] | null = null;
  // Read once the first server has migrated (and, on a first run, imported) the database.
  const usersOf = async (url: string): Promise<number[]> => {
    if (imported) return imported;
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      // The release's users (onboarded ones have a token and are private).
      imported = (await db.query(`SELECT id FROM users WHERE token_hash IS NULL ORDER BY id`)).rows.map(
        (r: { id: number }) => r.id,
      );
    } finally {
      await db.end();
    }
    if (imported.length === 0) throw new Error(`the database ${DATABASE} has no imported users`);
    return imported;
  };

  const measurements: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++)
    for (const phase of ['one', 'two'] as const)
      measurements.push(await runPhase(databaseUrl, round, phase, usersOf));

  const pool = Number(POOL_SIZE);
  const lines = [
    '',
    `recommendations HYBRID, repeated users (${imported!.length} imported users, with replacement); ` +
      `${CONNECTIONS} connections in all; ${WARM_UP_SECONDS} s warm-up + ${SECONDS} s per phase; ` +
      `${ROUNDS} round(s), phases interleaved`,
    `PostgreSQL connections: one ${pool} pooled + 1 notification; two 2 × (${pool} + 1) = ${2 * (pool + 1)}`,
    `${os.cpus().length} cores; ml data: ${DATA}; database: ${DATABASE}`,
    `uptime before: ${before}`,
    `uptime after:  ${uptime()}`,
    '',
  ];
  for (let round = 1; round <= ROUNDS; round++) {
    const one = measurements.find((m) => m.round === round && m.phase === 'one')!;
    const two = measurements.find((m) => m.round === round && m.phase === 'two')!;
    lines.push(
      `Round ${round}:`,
      '',
      ...TABLE_HEAD,
      formatRow(one),
      formatRow(two),
      '',
      `two / one: ${(two.requestsPerSecond / one.requestsPerSecond).toFixed(2)} × the requests/s`,
      '',
    );
  }
  if (ROUNDS > 1) {
    const total = (phase: Phase) =>
      measurements.filter((m) => m.phase === phase).reduce((sum, m) => sum + m.requestsPerSecond, 0);
    lines.push(
      `All rounds: two / one = ${(total('two') / total('one')).toFixed(2)} × the requests/s ` +
        `(mean ${(total('two') / ROUNDS).toFixed(0)} against ${(total('one') / ROUNDS).toFixed(0)})`,
      '',
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

// Ctrl-C: the servers go too.
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    void Promise.all([...running].map(stopInstance)).finally(() => process.exit(130));
  });

main().catch(async (error: unknown) => {
  console.error(error);
  await Promise.all([...running].map(stopInstance));
  process.exitCode = 1;
});
