/**
 * Side by side: the `trending` query against two checkouts' servers on one imported database,
 * measured in turns (cell by cell, the order swapped every round) so both see the same machine.
 *
 *   npm run bench:trending -- --database trending_5m --old /work/main
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { answerHelp } from '../src/cli-help';
import { drive, Outcome, percentile, SERVER_NODE_FLAGS } from './bench-load';

answerHelp(`Usage: npm run bench:trending -- --database NAME --old DIR [options]

Starts the server of two checkouts (WORKER=off, CONTENT_ENGINE=false, no rate limit) on a database
that already holds a release (npm run import), then sends the GraphQL trending query to each in
turn, for each connection count, the order swapped every round, and prints requests/s and p50/p99
per build with the machine's uptime (load average) at every cell. Nothing is written.

  --database NAME      the imported database, on DATABASE_URL's server (default postgres@127.0.0.1:5432)
  --old DIR            the checkout to compare against (its src/main.ts)
  --new DIR            the checkout measured (default: this one)
  --connections 1,16   concurrent connections to try
  --seconds N          measured seconds per cell (default 10), after 2 s of warm-up
  --rounds N           rounds (default 2)
  --query TEXT         the GraphQL query (default: trending(first: 20) as npm run bench:serve sends it)
  -h, --help           print this text`);

function flag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

const DATABASE = flag('database', '');
const OLD = flag('old', '');
const NEW = flag('new', path.resolve(__dirname, '..'));
const CONNECTIONS = flag('connections', '1,16').split(',').map(Number);
const SECONDS = Number(flag('seconds', '10'));
const ROUNDS = Number(flag('rounds', '2'));
const QUERY = flag('query', '{ trending(first: 20) { score votes movie { id title } } }');

interface Build {
  name: 'old' | 'new';
  dir: string;
  port: number;
  child?: ChildProcess;
  outcomes: Map<number, Outcome[]>;
}

function databaseUrl(): string {
  const server = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  server.pathname = `/${DATABASE}`;
  return server.toString();
}

function start(build: Build): ChildProcess {
  return spawn(
    process.execPath,
    [...SERVER_NODE_FLAGS, '-r', '@swc-node/register', path.join(build.dir, 'src/main.ts')],
    {
      cwd: build.dir,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl(),
        PORT: String(build.port),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        WORKER: 'off',
        CONTENT_ENGINE: 'false',
        DB_POOL_SIZE: '16',
        RATE_LIMIT_RPS: '0',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
}

async function answering(build: Build): Promise<void> {
  for (;;) {
    if (build.child && build.child.exitCode !== null) throw new Error(`the ${build.name} server exited`);
    try {
      const response = await fetch(`http://127.0.0.1:${build.port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: QUERY }),
      });
      const body = await response.text();
      if (response.status === 200 && !body.includes('"errors"')) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

function summary(outcomes: Outcome[]): { perSecond: number; p50: number; p99: number; errors: number } {
  const latencies = outcomes.flatMap((o) => o.latencies).sort((a, b) => a - b);
  const seconds = outcomes.reduce((sum, o) => sum + o.seconds, 0);
  const responses = outcomes.reduce((sum, o) => sum + o.responses, 0);
  return {
    perSecond: responses / seconds,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors: outcomes.reduce((sum, o) => sum + o.errors, 0),
  };
}

async function main(): Promise<void> {
  if (!DATABASE || !OLD) throw new Error('--database and --old are required (see --help)');
  const builds: Build[] = [
    { name: 'old', dir: path.resolve(OLD), port: 4710, outcomes: new Map() },
    { name: 'new', dir: path.resolve(NEW), port: 4711, outcomes: new Map() },
  ];
  try {
    for (const build of builds) {
      build.child = start(build);
      await answering(build);
    }
    const body = JSON.stringify({ query: QUERY });
    console.log(`query: ${QUERY}\n`);
    console.log('| round | build | conn. | req/s | p50 ms | p99 ms | errors | uptime |');
    console.log('|---:|---|---:|---:|---:|---:|---:|---|');
    for (let round = 1; round <= ROUNDS; round++)
      for (const connections of CONNECTIONS) {
        const order = round % 2 === 1 ? builds : [...builds].reverse();
        for (const build of order) {
          const url = `http://127.0.0.1:${build.port}/graphql`;
          const source = { next: () => ({ body }) };
          await drive(url, source, connections, { seconds: 2 });
          const outcome = await drive(url, source, connections, { seconds: SECONDS });
          build.outcomes.set(connections, [...(build.outcomes.get(connections) ?? []), outcome]);
          const one = summary([outcome]);
          console.log(
            `| ${round} | ${build.name} | ${connections} | ${one.perSecond.toFixed(0)} | ${one.p50.toFixed(1)} | ` +
              `${one.p99.toFixed(1)} | ${one.errors} | ${uptime()} |`,
          );
        }
      }
    console.log('\nAll rounds together (new / old: requests/s ratio, p50 and p99 ratios):\n');
    console.log(
      '| conn. | old req/s | old p50 / p99 ms | new req/s | new p50 / p99 ms | req/s new/old | p50 new/old | p99 new/old |',
    );
    console.log('|---:|---:|---|---:|---|---:|---:|---:|');
    for (const connections of CONNECTIONS) {
      const [old, now] = builds.map((build) => summary(build.outcomes.get(connections) ?? []));
      console.log(
        `| ${connections} | ${old.perSecond.toFixed(0)} | ${old.p50.toFixed(1)} / ${old.p99.toFixed(1)} | ` +
          `${now.perSecond.toFixed(0)} | ${now.p50.toFixed(1)} / ${now.p99.toFixed(1)} | ` +
          `${(now.perSecond / old.perSecond).toFixed(1)}x | ${(now.p50 / old.p50).toFixed(3)} | ${(now.p99 / old.p99).toFixed(3)} |`,
      );
    }
  } finally {
    for (const build of builds) build.child?.kill('SIGTERM');
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
