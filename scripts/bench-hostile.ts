/**
 * Hostile-query benchmark: starts the API (production mode, default limits) as a child process on
 * the local PostgreSQL, sends the worst queries we know how to build within the body limit, and
 * prints for each how long its refusal took and the slowest GET /livez answer while it was in
 * flight (another client asking all the time), next to /livez latency on an idle server.
 *
 *   npm run bench:hostile [-- --rounds 20 --port 4150]
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fragmentBomb } from '../fixtures/hostile-queries';
import { statisticalOnlyServices } from '../fixtures/statistical-services';
import { startApi } from '../src/app';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/datasource';
import { silentLogger } from '../src/logger';
import { ensureBenchDatabase } from './bench-database';

const USAGE = `usage: npm run bench:hostile [-- --rounds N --port P]
  --rounds N   times each hostile request is sent (default 20)
  --port P     port of the API child process (default 4150)`;

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const ROUNDS = Number(flag('rounds', '20'));
const PORT = Number(flag('port', '4150'));
const BODY_LIMIT = loadConfig({}).maxRequestBytes;

/** Child mode: the API on a benchmark database with a tiny catalog. */
async function serve(): Promise<void> {
  const dataSource = await openDatabase({ url: await ensureBenchDatabase('cinegraph_hostile'), poolSize: 4 });
  await dataSource.query(
    `INSERT INTO movies (id, title, year, genres) VALUES (1, 'Heat', 1995, '{Action}') ON CONFLICT DO NOTHING`,
  );
  const services = statisticalOnlyServices(dataSource);
  await startApi(
    loadConfig({ ...process.env, PORT: String(PORT), NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }),
    services,
    silentLogger,
  );
  process.stdout.write('ready\n');
}

interface Candidate {
  name: string;
  body: string;
}

/** Pads a query with spaces to just under the body limit, so every candidate is as large as allowed. */
function padded(query: string): string {
  const body = JSON.stringify({ query });
  return JSON.stringify({ query: query + ' '.repeat(Math.max(0, BODY_LIMIT - body.length - 16)) });
}

function candidates(): Candidate[] {
  const within = (name: string, query: string): Candidate => {
    const body = JSON.stringify({ query });
    if (body.length > BODY_LIMIT) throw new Error(`${name}: ${body.length} bytes, over the body limit`);
    return { name, body };
  };
  const repeatUpTo = (unit: string, head: string, tail: string) => {
    const count = Math.floor((BODY_LIMIT - head.length - tail.length - 64) / unit.length);
    return head + unit.repeat(count) + tail;
  };
  return [
    within('issue-11 bomb: 8 levels x 10 spreads', fragmentBomb(8, 10)),
    within('issue-11 bomb: 10 levels x 10 spreads', fragmentBomb(10, 10)),
    // The most fragments the cap allows, each spreading the one below as often as tokens allow.
    within('bomb at the caps: 45 levels x 8 spreads', fragmentBomb(45, 8)),
    within('body-limit bomb: 12 levels x 400 spreads (over token cap)', fragmentBomb(12, 400)),
    within(
      '610 aliased recommendations',
      `{ ${Array.from({ length: 610 }, (_, i) => `r${i}: recommendations(userId: ${i + 1}, first: 1) { movie { id } }`).join(' ')} }`,
    ),
    within('body full of aliases', repeatUpTo('a: id ', '{ movie(id: 1) { ', '} }')),
    within('body full of one field (token cap)', repeatUpTo('title ', '{ movie(id: 1) { ', '} }')),
    within(
      'body full of nested input objects',
      repeatUpTo('{genre:', '{ movies(filter: ', '"x"') + '}'.repeat(0),
    ),
    within('body full of nested selections', repeatUpTo('movie(id:1){similar{', '{ ', '')),
    within(
      'body full of fragment definitions',
      repeatUpTo('fragment G on Movie{id} ', '{ movie(id: 1) { id } } ', ''),
    ),
    // Within every text cap: duplicate fields the validator compares pairwise (OverlappingFieldsCanBeMerged).
    within(
      'one field 107 times in one selection (~970 tokens; quadratic validation)',
      `{ movie(id: 1) { ${Array(107).fill('similar(first: 100) { score }').join(' ')} } }`,
    ),
    // Within every text cap, repeated fields spread through the most fragments allowed.
    within(
      '10 fragments of 10 same-named fields spread in one selection (within caps)',
      `{ movie(id: 1) { ${Array.from({ length: 10 }, (_, i) => `...R${i}`).join(' ')} } } ` +
        Array.from(
          { length: 10 },
          (_, i) =>
            `fragment R${i} on Movie { ${Array(10).fill('similar(first: 100) { score }').join(' ')} }`,
        ).join(' '),
    ),
    within(
      '~970 tokens of duplicate sub-selections (validation-heavy, cost refusal)',
      `{ movies(first: 100) { edges { node { ${Array(107).fill('similar(first: 100) { score }').join(' ')} } } } }`.slice(
        0,
        99_000,
      ),
    ),
    { name: 'comment-padded introspection query (accepted)', body: padded(introspection()) },
  ];
}

function introspection(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getIntrospectionQuery } = require('graphql') as typeof import('graphql');
  return getIntrospectionQuery({ descriptions: true });
}

async function timed(url: string, body: string): Promise<{ ms: number; status: number; code: string }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  const json = (await response.json().catch(() => ({}))) as {
    errors?: { extensions?: { code?: string; limit?: string } }[];
  };
  const extensions = json.errors?.[0]?.extensions;
  return {
    ms: performance.now() - started,
    status: response.status,
    code: extensions ? `${extensions.code}${extensions.limit ? ` (${extensions.limit})` : ''}` : 'none',
  };
}

async function probeWhile(base: string, work: () => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  const probe = (async () => {
    while (!done) {
      const started = performance.now();
      await (await fetch(`${base}/livez`)).text();
      latencies.push(performance.now() - started);
    }
  })();
  try {
    await work();
  } finally {
    done = true;
    await probe;
  }
  return latencies;
}

const percentile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
};

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  if (process.argv.includes('--serve')) return serve();
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', '@swc-node/register', path.resolve(__filename), '--serve', '--port', String(PORT)],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RATE_LIMIT_RPS: '0' } },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (data: Buffer) => data.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const base = `http://127.0.0.1:${PORT}`;
    const url = `${base}/graphql`;
    const idle = await probeWhile(base, () => new Promise((resolve) => setTimeout(resolve, 2000)));
    console.log(
      `body limit ${BODY_LIMIT} bytes, ${ROUNDS} rounds per request; /livez idle: ` +
        `p50 ${percentile(idle, 0.5).toFixed(1)} ms, max ${Math.max(...idle).toFixed(1)} ms\n`,
    );
    console.log(
      '| request | bytes | status / code | answer p50 ms | answer max ms | /livez p50 ms | /livez max ms |',
    );
    console.log('|---|---:|---|---:|---:|---:|---:|');
    for (const candidate of candidates()) {
      const answers: number[] = [];
      let outcome = '';
      const livez = await probeWhile(base, async () => {
        for (let round = 0; round < ROUNDS; round++) {
          const result = await timed(url, candidate.body);
          answers.push(result.ms);
          outcome = `${result.status} ${result.code}`;
        }
      });
      console.log(
        `| ${candidate.name} | ${candidate.body.length} | ${outcome} | ${percentile(answers, 0.5).toFixed(1)} | ` +
          `${Math.max(...answers).toFixed(1)} | ${percentile(livez, 0.5).toFixed(1)} | ${Math.max(...livez).toFixed(1)} |`,
      );
    }
  } finally {
    child.kill('SIGKILL');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
