import 'reflect-metadata';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statisticalOnlyServices } from '../fixtures/statistical-services';
import { startApi } from '../src/app';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/datasource';
import { silentLogger } from '../src/logger';
import { TcpProxy } from '../fixtures/tcp-proxy';

/**
 * Fault drill: the API in front of PostgreSQL through a TCP proxy that black-holes every connection
 * for STALL_SECONDS (accepts, never answers; stalled connections stay dead), while clients keep
 * asking. Prints how long requests waited during the stall, what they answered, and how long after
 * the database came back every request succeeded again; then how long a start against a database
 * that never answers, and one that refuses, takes to fail. Timeouts come from the environment
 * (DB_CONNECT_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS, DB_IDLE_TX_TIMEOUT_MS) as in the service.
 *
 *   node -r @swc-node/register scripts/fault-db-stall.ts     (DATABASE_URL defaults to the test database)
 */

const STALL_SECONDS = Number(process.env.STALL_SECONDS ?? 10);
const CLIENTS = Number(process.env.CLIENTS ?? 4);
const MOVIES = `{ movies(first: 3) { edges { node { id title } } } }`;

interface Outcome {
  sentAt: number;
  doneAt: number;
  code: string;
}

async function ask(url: string): Promise<Outcome> {
  const sentAt = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: MOVIES }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    return { sentAt, doneAt: performance.now(), code: body.errors?.[0]?.extensions?.code ?? 'ok' };
  } catch (error) {
    return { sentAt, doneAt: performance.now(), code: `fetch failed: ${String(error)}` };
  }
}

const USAGE = `usage: [STALL_SECONDS=10] [CLIENTS=4] [DATABASE_URL=…] node -r @swc-node/register scripts/fault-db-stall.ts

Fault drill: the API behind a TCP proxy that black-holes PostgreSQL for STALL_SECONDS while clients
keep asking; prints what they answered, how long after the database returned every request succeeded,
and how long a start against a silent or refusing database takes to fail.
`;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  const config = loadConfig({ ...process.env, PORT: process.env.PORT ?? '4310' });
  const url = config.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/test';
  const timeouts = {
    connectMs: config.dbConnectTimeoutMs,
    statementMs: config.dbStatementTimeoutMs,
    idleInTransactionMs: config.dbIdleTxTimeoutMs,
  };
  const schema = `fault_${randomBytes(5).toString('hex')}`;
  const direct = await openDatabase({ url, poolSize: 1, schema });
  const target = new URL(url);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  try {
    await direct.query(
      `INSERT INTO movies (id, title, year, genres) SELECT i, 'Movie ' || i, 2000, '{Drama}' FROM generate_series(1, 50) i`,
    );
    const dataSource = await openDatabase({
      url: proxy.url(url),
      poolSize: config.dbPoolSize,
      schema,
      timeouts,
    });
    const services = statisticalOnlyServices(dataSource);
    const server = await startApi(config, services, silentLogger);
    const outcomes: Outcome[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        outcomes.push(await ask(server.url));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const stallAt = performance.now();
    proxy.stall();
    await new Promise((resolve) => setTimeout(resolve, STALL_SECONDS * 1000));
    const restoreAt = performance.now();
    proxy.restore();
    // Run on until 60 s after the return, or until 5 s of nothing but successes.
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = performance.now();
      const recentFailure = outcomes.some((o) => o.code !== 'ok' && o.doneAt > now - 5000);
      const inFlightSinceRestore = outcomes.filter((o) => o.sentAt >= restoreAt).length;
      if ((!recentFailure && inFlightSinceRestore > CLIENTS * 5) || now - restoreAt > 60_000) break;
    }
    running = false;
    await Promise.all(clients);
    await server.stop();
    await dataSource.destroy();

    const during = outcomes.filter((o) => o.sentAt >= stallAt && o.sentAt < restoreAt);
    const after = outcomes.filter((o) => o.doneAt > restoreAt);
    const lastFailure = Math.max(...after.filter((o) => o.code !== 'ok').map((o) => o.doneAt), restoreAt);
    const firstSuccess = Math.min(...after.filter((o) => o.code === 'ok').map((o) => o.doneAt));
    const codes = (list: Outcome[]) =>
      Object.entries(
        list.reduce<Record<string, number>>((n, o) => ({ ...n, [o.code]: (n[o.code] ?? 0) + 1 }), {}),
      )
        .map(([code, count]) => `${code} ×${count}`)
        .join(', ');
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const lines = [
      `timeouts: connect ${timeouts.connectMs} ms, statement ${timeouts.statementMs} ms, idle in transaction ${timeouts.idleInTransactionMs} ms; pool ${config.dbPoolSize}; ${CLIENTS} clients`,
      `before the stall (${seconds(stallAt - t0)}): ${codes(outcomes.filter((o) => o.sentAt < stallAt))}`,
      `during the ${STALL_SECONDS} s stall: ${codes(during)}; longest wait ${seconds(Math.max(...during.map((o) => o.doneAt - o.sentAt)))}`,
      `after the database came back: first success after ${seconds(firstSuccess - restoreAt)}, ` +
        `last failure ended ${seconds(lastFailure - restoreAt)} after (recovery time); ${codes(after)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);

    for (const [label, act] of [
      ['never answers', () => proxy.stall()],
      ['refuses connections', () => proxy.cut()],
    ] as const) {
      act();
      const started = performance.now();
      const failure = await openDatabase({ url: proxy.url(url), poolSize: 1, schema, timeouts }).then(
        async (opened) => {
          await opened.destroy();
          return 'it started';
        },
        (error: Error) => error.message,
      );
      proxy.restore();
      process.stdout.write(
        `start against a database that ${label}: failed after ${seconds(performance.now() - started)}: ${failure}\n`,
      );
    }
  } finally {
    await direct.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await direct.destroy();
    await proxy.stop();
  }
  process.stdout.write(`uptime: ${execSync('uptime').toString().trim()}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
