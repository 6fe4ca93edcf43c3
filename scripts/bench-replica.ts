/**
 * Read replica benchmark, against the local primary and the streaming replica of
 * scripts/setup-replica.sh: how long a committed rating takes to become visible on the replica, how
 * long a writer's reads stay on the primary (ReplicaReads' pin, which waits for the probes), whether
 * a writer ever read the replica before it had their write (must be 0), and catalog page throughput
 * with reads on the primary alone and on the replica, interleaved. Both servers share this machine's
 * cores, so the throughput pair shows the routing's cost, not a replica's added capacity.
 *
 *   node -r @swc-node/register scripts/bench-replica.ts [--writes 200 --seconds 5 --concurrency 8]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { DataSource } from 'typeorm';
import { generateSyntheticCatalog, writeSyntheticRelease } from '../fixtures/synthetic';
import { answerHelp } from '../src/cli-help';
import { importRelease } from '../src/data/importer';
import { createDataSource, openDatabase } from '../src/db/datasource';
import { primaryReads, Reads, ReplicaReads } from '../src/db/read-routing';
import { MovieCatalog } from '../src/services/movie-catalog';
import { ensureBenchDatabase } from './bench-database';

const USAGE = `usage: node -r @swc-node/register scripts/bench-replica.ts [--writes N --seconds S --concurrency C]
  --writes N        ratings written one after another for the lag figures (default 200)
  --seconds S       length of each throughput round (default 5; two rounds per side, interleaved)
  --concurrency C   catalog reads in flight (default 8)
  BENCH_REPLICA_PORT  port of the replica (default 5433; bash scripts/setup-replica.sh makes it)`;
answerHelp(USAGE);

function flag(name: string, fallback: string): number {
  const index = process.argv.indexOf(`--${name}`);
  return Number(index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback);
}

const WRITES = flag('writes', '200');
const SECONDS = flag('seconds', '5');
const CONCURRENCY = flag('concurrency', '8');
const DATABASE = 'cinegraph_replica_bench';

function percentiles(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `p50 ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
}

async function replayed(primary: DataSource, replica: DataSource): Promise<void> {
  const [{ lsn }] = await primary.query(`SELECT pg_current_wal_lsn()::text AS lsn`);
  for (;;) {
    const [{ done }] = await replica.query(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`, [lsn]);
    if (done) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function seed(primary: DataSource): Promise<void> {
  const [{ movies }] = await primary.query(`SELECT count(*)::int AS movies FROM movies`);
  if (movies > 0) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-replica-bench-'));
  try {
    const catalog = generateSyntheticCatalog({ seed: 3, users: 400, movies: 2000 });
    await importRelease(primary, await writeSyntheticRelease(dir, catalog));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function throughput(reads: Reads, seconds: number): Promise<number> {
  const catalog = new MovieCatalog(null as unknown as DataSource, reads);
  const genres = ['Action', 'Comedy', 'Drama', 'Thriller', 'Romance'];
  const until = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      for (let i = lane; performance.now() < until; i += CONCURRENCY) {
        const page = await catalog.page({ genre: genres[i % genres.length] }, 20, (i * 37) % 1500);
        await catalog.ratingSummaries(page.movies.map((m) => m.id));
        done++;
      }
    }),
  );
  return done / seconds;
}

async function main(): Promise<void> {
  const url = await ensureBenchDatabase(DATABASE);
  const admin = createDataSource({ url, poolSize: 1 });
  await admin.initialize();
  await admin.query(`CREATE EXTENSION IF NOT EXISTS vector`);
  await admin.destroy();
  const primary = await openDatabase({ url, poolSize: CONCURRENCY + 2 });
  await seed(primary);
  const replicaUrl = url.replace(/:\d+\//, `:${process.env.BENCH_REPLICA_PORT ?? '5433'}/`);
  const replica = createDataSource({ url: replicaUrl, poolSize: CONCURRENCY + 2 });
  await replica.initialize();
  const [{ recovering }] = await replica.query(`SELECT pg_is_in_recovery() AS recovering`);
  if (!recovering) throw new Error(`${replicaUrl} is not a replica in recovery`);
  await replayed(primary, replica);

  const [{ user }] = await primary.query(`SELECT min(id)::int AS user FROM users`);
  const movies: number[] = (await primary.query(`SELECT id FROM movies ORDER BY id LIMIT 50`)).map(
    (row: { id: number }) => row.id,
  );
  const router = new ReplicaReads(primary, replica, { maxLagMs: 5_000 });
  await router.probe();
  const visible: number[] = [];
  const pinned: number[] = [];
  let earlyReplicaReads = 0;
  for (let i = 0; i < WRITES; i++) {
    const movie = movies[i % movies.length];
    const rating = 0.5 + (i % 10) * 0.5;
    await primary.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at`,
      [user, movie, rating],
    );
    const committed = performance.now();
    router.wrote(user);
    const has = (db: DataSource) =>
      db.query(
        `SELECT rating = $3 AS has, pg_is_in_recovery() AS replica FROM ratings
                 WHERE user_id = $1 AND movie_id = $2`,
        [user, movie, rating],
      ) as Promise<{ has: boolean; replica: boolean }[]>;
    let seenAt: number | null = null;
    let pinDone: number | null = null;
    while (seenAt === null || pinDone === null) {
      if (seenAt === null && (await has(replica))[0]?.has) seenAt = performance.now();
      if (pinDone === null) {
        const [row] = await router.ofUser(user, has);
        if (row.replica) {
          pinDone = performance.now();
          if (!row.has) earlyReplicaReads++;
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    visible.push(seenAt - committed);
    pinned.push(pinDone - committed);
  }

  const rounds: { primary: number[]; replica: number[] } = { primary: [], replica: [] };
  for (let round = 0; round < 2; round++) {
    rounds.primary.push(await throughput(primaryReads(primary), SECONDS));
    rounds.replica.push(await throughput(router, SECONDS));
  }
  const state = router.state();

  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `read replica benchmark (${WRITES} sequential rating writes; catalog pages: ${CONCURRENCY} in flight, 2 × ${SECONDS} s per side, interleaved)`,
  );
  out(`  write visible on the replica after commit: ${percentiles(visible)}`);
  out(`  writer's reads kept on the primary for:    ${percentiles(pinned)}`);
  out(`  writer reads that hit the replica before it had the write: ${earlyReplicaReads}`);
  out(`  catalog pages/s, primary only: ${rounds.primary.map((r) => r.toFixed(0)).join(', ')}`);
  out(
    `  catalog pages/s, via replica:  ${rounds.replica.map((r) => r.toFixed(0)).join(', ')} (router: ${state.replicaReads} replica / ${state.primaryReads} primary reads)`,
  );
  out(`  uptime: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
  await replica.destroy();
  await primary.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
