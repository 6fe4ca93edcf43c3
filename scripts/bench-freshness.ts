/**
 * Cross-instance freshness on real PostgreSQL: two Cinegraph instances in this process on one
 * schema (as two API processes behind one port would be). Rates through A and polls B's list until
 * it no longer shows the movie; activates a model version from a third connection and polls until
 * both instances serve it. Prints p50 / p99 / max of each, and `uptime`.
 *
 *   npm run bench:freshness -- --ratings 50
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { generateSyntheticCatalog, writeSyntheticRelease } from '../fixtures/synthetic';
import { startCinegraph, type Cinegraph } from '../src/app';
import { answerHelp } from '../src/cli-help';
import { loadConfig } from '../src/config';
import { importRelease } from '../src/data/importer';
import { openDatabase } from '../src/db/datasource';
import { CollaborativeEngine } from '../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../src/engines/collaborative/model-store';
import { silentLogger } from '../src/logger';
import { trainFromDatabase } from '../training/database';
import { DEFAULT_TRAIN_OPTIONS } from '../training/train';

answerHelp(`Usage: npm run bench:freshness [-- options]

Starts two Cinegraph instances in this process on one PostgreSQL schema of its own (created, then
dropped), over a synthetic catalog with a small trained model, and measures:
  - rating → other instance: a rating made through A, timed from A's answer (its commit) until
    B's next HYBRID list no longer shows the movie, B's list polled back to back;
  - model activation → served: a version activated from another connection until both instances
    serve it (their collaborative engines report it).
Prints p50 / p99 / max of each and \`uptime\`.

  --ratings N        ratings timed (default 50)
  --activations N    activations timed (default 10)
  --database URL     PostgreSQL (default DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test)
  --content          with the content engine (use-lite embeddings; slower to start)
  -h, --help         print this text`);

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const RATINGS = Number(flag('ratings', '50'));
const ACTIVATIONS = Number(flag('activations', '10'));
const DATABASE_URL = flag('database', process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const CONTENT = process.argv.includes('--content');

const LIST = `query ($u: Int!) { recommendations(userId: $u, strategy: HYBRID, first: 10) { movie { id } } }`;

interface Answer {
  onboard: { token: string; user: { id: number } };
  recommendations: { movie: { id: number } }[];
}

async function graphql(url: string, query: string, variables: object, token?: string): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: Answer; errors?: { message: string }[] };
  if (body.errors || !body.data) throw new Error((body.errors ?? []).map((e) => e.message).join('; '));
  return body.data;
}

function summary(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return (
    `${label}: n=${sorted.length} p50 ${at(0.5).toFixed(1)} ms, p99 ${at(0.99).toFixed(1)} ms, ` +
    `max ${sorted[sorted.length - 1].toFixed(1)} ms`
  );
}

async function main(): Promise<void> {
  const schema = `bench_fresh_${randomBytes(4).toString('hex')}`;
  const db = await openDatabase({ url: DATABASE_URL, poolSize: 4, schema });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-freshness-'));
  const apps: Cinegraph[] = [];
  try {
    process.stderr.write(`schema ${schema}: importing a synthetic catalog and training a small model\n`);
    const catalog = generateSyntheticCatalog({ seed: 3, users: 300, movies: 400 });
    await importRelease(db, await writeSyntheticRelease(path.join(dir, 'release'), catalog));
    const small = {
      biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 16, epochs: 10 },
      topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 16 },
    };
    const store = new ModelStore(db);
    await trainFromDatabase(db, store, small);
    const config = loadConfig({
      ...process.env,
      PORT: '0',
      DATABASE_URL,
      DATA_DIR: path.join(dir, 'data'),
      CACHE_DIR: path.join(dir, 'cache'),
      CONTENT_ENGINE: CONTENT ? 'true' : 'false',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_RPS: '0',
    });
    const a = await startCinegraph(config, silentLogger, { schema });
    apps.push(a);
    const b = await startCinegraph(config, silentLogger, { schema });
    apps.push(b);
    if (CONTENT) {
      process.stderr.write('waiting for the content index\n');
      while (!b.services.content?.status().ready || !a.services.content?.status().ready)
        await new Promise((resolve) => setTimeout(resolve, 500));
    }

    const seedRatings = catalog.ratings
      .filter((r) => r.userId === 1)
      .slice(0, 10)
      .map((r) => ({ movieId: r.movieId, rating: r.rating }));
    const onboarded = await graphql(
      a.url,
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
      { r: seedRatings },
    );
    const token: string = onboarded.onboard.token;
    const user: number = onboarded.onboard.user.id;
    const listOf = async (app: Cinegraph): Promise<number[]> =>
      (await graphql(app.url, LIST, { u: user }, token)).recommendations.map((item) => item.movie.id);

    process.stderr.write(`timing ${RATINGS} ratings through A, seen in B's list\n`);
    const freshness: number[] = [];
    const noticed: number[] = [];
    let polls = 0;
    for (let i = 0; i < RATINGS; i++) {
      const [top] = await listOf(b);
      const before = b.versions.userVersion(user) ?? 0;
      const sent = performance.now();
      // When B holds the new version (its notice arrived), watched beside the write and the list polls.
      const watching = (async () => {
        while ((b.versions.userVersion(user) ?? 0) <= before) await new Promise((r) => setImmediate(r));
        noticed.push(performance.now() - sent);
      })();
      await graphql(
        a.url,
        `
          mutation ($m: Int!) {
            rate(movieId: $m, rating: 4) {
              rating
            }
          }
        `,
        { m: top },
        token,
      );
      const committed = performance.now();
      while ((await listOf(b)).includes(top)) {
        polls++;
        if (performance.now() - committed > 10_000) throw new Error(`B still lists movie ${top} after 10 s`);
      }
      freshness.push(performance.now() - committed);
      await watching;
    }

    process.stderr.write(`timing ${ACTIVATIONS} model activations, served by both\n`);
    await trainFromDatabase(db, store, small);
    const versions = (await store.versions()).map((v) => v.id).slice(-2);
    const activation: number[] = [];
    const activationNoticed: number[] = [];
    const serving = (app: Cinegraph) => (app.services.predictor as CollaborativeEngine).activeVersionId();
    for (let i = 0; i < ACTIVATIONS; i++) {
      const target = versions[i % 2] === serving(a) ? versions[(i + 1) % 2] : versions[i % 2];
      const started = performance.now();
      await store.activate(target);
      const committed = performance.now();
      let heard = false;
      while (serving(a) !== target || serving(b) !== target) {
        if (!heard && a.versions.model === target && b.versions.model === target) {
          heard = true;
          activationNoticed.push(performance.now() - started);
        }
        if (performance.now() - committed > 10_000)
          throw new Error(`version ${target} not served after 10 s`);
        await new Promise((resolve) => setImmediate(resolve));
      }
      activation.push(performance.now() - started);
    }

    console.log(`\ntwo in-process instances on PostgreSQL (${DATABASE_URL.replace(/\/\/[^@]*@/, '//')})`);
    console.log(
      `catalog: ${catalog.movies.length} movies, ${catalog.ratings.length} ratings; ` +
        `B's list polled ${polls} times while stale`,
    );
    console.log(summary('rate mutation sent to A → B holds the new version (notice in)', noticed));
    console.log(summary("rating through A (answered) → B's next list excludes it", freshness));
    console.log(summary('model activation (activate() called) → both hold the notice', activationNoticed));
    console.log(summary('model activation (activate() called) → served by A and B', activation));
    console.log(`notices heard by B: ${b.versionFeed.counts.notices}, state ${b.versionFeed.state()}`);
    console.log(`uptime: ${execSync('uptime').toString().trim()}`);
  } finally {
    for (const app of apps) await app.stop().catch(() => undefined);
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
