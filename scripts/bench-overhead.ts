/**
 * The cost of metrics and request logging, side by side: starts the service twice from this
 * checkout (METRICS=true LOG_LEVEL=info with its log lines going to a file, and METRICS=false
 * LOG_LEVEL=warn), and optionally a third time from another checkout (--baseline DIR, e.g. the
 * main branch without any of it), all on one PostgreSQL database, then drives the same HYBRID
 * load at each in turn, in short interleaved windows, so a noisy machine weighs on all alike.
 * Prints requests/s, p50/p99 and the server's CPU time per request (from /proc), and the ratios.
 *
 *   MOVIELENS_DIR=…/ml-latest-small npm run bench:overhead -- [--baseline ../main] [--rounds 5]
 *     [--seconds 3] [--connections 16] [--database cinegraph_bench] [--port 4700]
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createRandom } from '../fixtures/synthetic';
import { createLogger } from '../src/logger';
import { ServiceMetrics } from '../src/observability';
import { requestIdFrom } from '../src/observability/request-tracking';
import { ensureBenchDatabase } from './bench-database';
import { processCpuSeconds, SERVER_NODE_FLAGS } from './bench-load';

const HELP = `usage: MOVIELENS_DIR=<ml-latest-small> npm run bench:overhead -- [options]
  --baseline DIR     also run the service of another checkout (its src/main.ts), e.g. ../main
  --rounds N         interleaved rounds (default 5)
  --seconds S        length of one window of load (default 3)
  --connections N    concurrent connections (default 16)
  --database NAME    PostgreSQL database to use, created when missing (default cinegraph_bench)
  --port P           first port; the servers take P, P+1, P+2 (default 4700)
  --users N          users to ask for (default 610, all of ml-latest-small: mostly first requests;
                     20: mostly finished lists, where the cost per request weighs most)
The content engine is off (CONTENT_ENGINE=false): the cost measured is per request, not per engine.`;

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

interface Variant {
  name: string;
  root: string;
  env: Record<string, string>;
  port: number;
  logFile: string;
  child?: ChildProcess;
  requests: number;
  errors: number;
  cpuSeconds: number;
  latencies: number[];
  rates: number[];
}

/** utime + stime of a running server, in seconds (this benchmark needs Linux's /proc). */
function cpuSecondsOf(pid: number): number {
  const seconds = processCpuSeconds(pid);
  if (seconds === null) throw new Error(`no CPU time for process ${pid}: this benchmark reads Linux's /proc`);
  return seconds;
}

async function waitUntilReady(variant: Variant): Promise<void> {
  for (;;) {
    if (variant.child?.exitCode !== null && variant.child?.exitCode !== undefined)
      throw new Error(`${variant.name} exited with code ${variant.child.exitCode}; see ${variant.logFile}`);
    try {
      const health = (await (await fetch(`http://127.0.0.1:${variant.port}/health`)).json()) as {
        engines?: Record<string, { ready: boolean }>;
      };
      if (Object.values(health.engines ?? {}).every((status) => status.ready)) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN;
}

async function drive(variant: Variant, seconds: number, connections: number, users: number): Promise<void> {
  const random = createRandom(variant.requests + 1);
  const pid = variant.child!.pid!;
  const cpuBefore = cpuSecondsOf(pid);
  const latencies: number[] = [];
  let errors = 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${variant.port}/graphql`,
        connections,
        duration: seconds,
        requests: [
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({
                query: `query Recommend($u: Int!) { recommendations(userId: $u, strategy: HYBRID, first: 20) { rank score movie { id title } explanation { text } } }`,
                variables: { u: 1 + Math.floor(random() * users) },
              }),
            }),
            onResponse: (status, body) => {
              if (status !== 200 || body.includes('"errors"')) errors++;
            },
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, time) => latencies.push(time));
  });
  variant.cpuSeconds += cpuSecondsOf(pid) - cpuBefore;
  variant.requests += latencies.length;
  variant.errors += errors + result.errors + result.timeouts;
  variant.latencies.push(...latencies);
  variant.rates.push(latencies.length / seconds);
}

/**
 * The instrumentation of one HYBRID request alone, in this process: a request id, the HTTP and
 * GraphQL counters, three engine and one request histogram observations, and (second figure) the
 * request's log line written synchronously to a file. CPU time per request, in microseconds: the
 * part of the cost that does not drown in the noise of a shared machine.
 */
function instrumentationCost(logFile: string): { metrics: number; metricsAndLog: number } {
  const logger = createLogger('info', { destination: pino.destination({ dest: logFile, sync: true }) });
  const metrics = new ServiceMetrics();
  const iterations = 50_000;
  const measure = (withLog: boolean) => {
    const started = process.cpuUsage();
    for (let i = 0; i < iterations; i++) {
      const id = requestIdFrom(undefined);
      metrics.httpInFlight.inc();
      for (const engine of ['collaborative', 'content', 'statistical'])
        metrics.engineDuration.observe({ engine, method: 'recommend', outcome: 'ok' }, 0.001);
      const operation = metrics.operationLabel('Recommend');
      metrics.graphqlRequests.inc({ operation, outcome: 'ok' });
      metrics.graphqlDuration.observe({ operation, strategy: 'HYBRID' }, 0.002);
      metrics.httpInFlight.dec();
      metrics.httpRequests.inc({ route: '/graphql', status: '200' });
      if (withLog)
        logger.event(
          'info',
          {
            reqId: id,
            method: 'POST',
            route: '/graphql',
            status: 200,
            durationMs: 1.234,
            operation,
            outcome: 'ok',
          },
          'request',
        );
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / iterations;
  };
  measure(true); // warm-up
  return { metrics: measure(false), metricsAndLog: measure(true) };
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const data = process.env.MOVIELENS_DIR;
  if (!data) {
    console.error(`set MOVIELENS_DIR to a MovieLens release\n\n${HELP}`);
    process.exit(2);
  }
  const rounds = Number(flag('rounds', '5'));
  const seconds = Number(flag('seconds', '3'));
  const connections = Number(flag('connections', '16'));
  const port = Number(flag('port', '4700'));
  const baseline = flag('baseline', '');
  const users = Number(flag('users', '610'));
  const databaseUrl = await ensureBenchDatabase(flag('database', 'cinegraph_bench'));
  const here = path.resolve(__dirname, '..');
  const logDir = os.tmpdir();
  const make = (name: string, root: string, env: Record<string, string>, offset: number): Variant => ({
    name,
    root,
    env,
    port: port + offset,
    logFile: path.join(logDir, `cinegraph-overhead-${name}-${process.pid}.log`),
    requests: 0,
    errors: 0,
    cpuSeconds: 0,
    latencies: [],
    rates: [],
  });
  const variants = [
    make('metrics+logs', here, { METRICS: 'true', LOG_LEVEL: 'info' }, 0),
    make('off', here, { METRICS: 'false', LOG_LEVEL: 'warn' }, 1),
    ...(baseline ? [make('baseline', path.resolve(baseline), { LOG_LEVEL: 'warn' }, 2)] : []),
  ];
  try {
    // One at a time: the first start on a new database imports and trains.
    for (const variant of variants) {
      const log = openSync(variant.logFile, 'w');
      variant.child = spawn(
        process.execPath,
        [...SERVER_NODE_FLAGS, '-r', '@swc-node/register', path.join(variant.root, 'src/main.ts')],
        {
          cwd: variant.root,
          env: {
            ...process.env,
            ...variant.env,
            DATABASE_URL: databaseUrl,
            MOVIELENS_DIR: path.resolve(data),
            PORT: String(variant.port),
            NODE_ENV: 'production',
            DB_POOL_SIZE: '16',
            CONTENT_ENGINE: 'false',
            // One address stands for every user here: the per-client limit would answer 429s.
            RATE_LIMIT_RPS: '0',
          },
          stdio: ['ignore', log, log],
        },
      );
      await waitUntilReady(variant);
      await drive(variant, 2, 4, users); // warm-up
      Object.assign(variant, { requests: 0, errors: 0, cpuSeconds: 0, latencies: [], rates: [] });
    }
    const alone = instrumentationCost(path.join(logDir, `cinegraph-overhead-micro-${process.pid}.log`));
    console.log(
      `instrumentation alone: ${alone.metrics.toFixed(1)} µs CPU per request (metrics), ` +
        `${alone.metricsAndLog.toFixed(1)} µs (metrics + request log line)`,
    );
    console.log(
      `load: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (1/5/15 min) before the first round`,
    );
    for (let round = 0; round < rounds; round++) {
      // Rotated order per round, so no variant always follows the same one.
      for (let i = 0; i < variants.length; i++)
        await drive(variants[(round + i) % variants.length], seconds, connections, users);
    }
    console.log(
      `load: ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} after the last round\n`,
    );
    console.log(
      `${rounds} rounds × ${seconds} s per variant, ${connections} connections, HYBRID for random users of ${users}\n`,
    );
    console.log('| variant | requests | median req/s | p50 ms | p99 ms | server CPU ms/request | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|');
    const summary = variants.map((variant) => {
      const sorted = [...variant.latencies].sort((a, b) => a - b);
      const rates = [...variant.rates].sort((a, b) => a - b);
      const row = {
        name: variant.name,
        rate: rates[Math.floor(rates.length / 2)],
        cpuPerRequest: (variant.cpuSeconds * 1000) / Math.max(1, variant.requests),
        p50: percentile(sorted, 0.5),
        p99: percentile(sorted, 0.99),
      };
      console.log(
        `| ${variant.name} | ${variant.requests} | ${row.rate.toFixed(0)} | ${row.p50.toFixed(1)} | ` +
          `${row.p99.toFixed(1)} | ${row.cpuPerRequest.toFixed(3)} | ${variant.errors} |`,
      );
      return row;
    });
    const on = summary[0];
    for (const other of summary.slice(1))
      console.log(
        `\nmetrics+logs / ${other.name}: req/s ${(on.rate / other.rate).toFixed(3)}, ` +
          `CPU per request ${(on.cpuPerRequest / other.cpuPerRequest).toFixed(3)}`,
      );
  } finally {
    for (const variant of variants) variant.child?.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
