import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { buildTinyBertModel } from '../../fixtures/tiny-bert/build';
import { openDatabase } from '../../src/db/datasource';
import { graphql } from '../helpers/api';
import { TEST_DATABASE_URL } from '../helpers/database';
import { MainProcess, startMainProcess, startWorkerProcess } from '../helpers/main-process';
import { importSyntheticCatalog } from '../helpers/synthetic-database';

/**
 * The scale-out topology as real OS processes on one PostgreSQL database of its own: two API
 * instances (WORKER=off) started from `npm start`, workers started from `npm run worker`. Timings
 * are printed, never asserted.
 */

/** Retraining is triggered by writing this many ratings through the API. */
const RETRAIN_AFTER = 25;
const WORKER_ENV = { WORKER_POLL_MS: '300', RETRAIN_MIN_NEW_RATINGS: String(RETRAIN_AFTER) };
const API_ENV = { WORKER: 'off', FOLLOW_POLL_MS: '250', RATE_LIMIT_RPS: '0', DB_POOL_SIZE: '4' };

interface RunRow {
  id: number;
  job: string;
  owner: string;
  trigger: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
  progress: number;
  detail: Record<string, unknown>;
}

interface Health {
  model: { versionId: number } | null;
  engines: Record<string, { ready: boolean; reason?: string }>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    await sleep(50);
  }
}

async function health(process: MainProcess): Promise<Health> {
  const response = await fetch(`${process.base}/health`);
  return (await response.json()) as Health;
}

const RATE = `mutation Rate($m: Int!, $r: Float!) { rate(movieId: $m, rating: $r) { rating } }`;
const ONBOARD = `mutation Onboard($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { token user { id } } }`;
const MINE = `query Mine { me { ratings(first: 50) { edges { node { movie { id } rating } } }
  recommendations(first: 10) { movie { id } } } }`;

interface Mine {
  me: {
    ratings: { edges: { node: { movie: { id: number }; rating: number } }[] };
    recommendations: { movie: { id: number } }[];
  };
}

describe('two API processes and the worker on one PostgreSQL', () => {
  const name = `mp_${randomBytes(5).toString('hex')}`;
  const url = (() => {
    const parsed = new URL(TEST_DATABASE_URL);
    parsed.pathname = `/${name}`;
    return parsed.toString();
  })();
  let admin: Client;
  let db: DataSource;
  let dir: string;
  let env: Record<string, string>;
  const processes: MainProcess[] = [];
  let a: MainProcess;
  let b: MainProcess;
  let workers: MainProcess[] = [];
  const catalog = generateSyntheticCatalog({ seed: 5, users: 300, movies: 400 });
  /** Movie ids, so users rate movies that exist. */
  const movieIds = catalog.movies.map((movie) => movie.movieId);
  let nextMovie = 0;
  const someRatings = (count: number) =>
    Array.from({ length: count }, () => ({
      movieId: movieIds[nextMovie++ % movieIds.length],
      rating: 1 + (nextMovie % 9) / 2,
    }));

  const runs = async (job: string): Promise<RunRow[]> =>
    (await db.query(`SELECT * FROM worker_job_runs WHERE job = $1 ORDER BY id`, [job])).map(
      (row: RunRow & { id: string }) => ({ ...row, id: Number(row.id) }),
    );
  const activeVersion = async (): Promise<number | null> =>
    (await db.query(`SELECT id FROM model_versions WHERE status = 'active'`))[0]?.id ?? null;
  const start = async (kind: 'api' | 'worker') => {
    const started =
      kind === 'api'
        ? await startMainProcess({ ...env, ...API_ENV })
        : await startWorkerProcess({ ...env, ...WORKER_ENV });
    processes.push(started);
    return started;
  };
  /** When each API process first serves `version` (from /health), in ms after it was activated. */
  const servedAfterActivation = async (version: number) => {
    const [{ activated_at: activatedAt }] = await db.query(
      `SELECT activated_at FROM model_versions WHERE id = $1`,
      [version],
    );
    const lags: Record<string, number> = {};
    await Promise.all(
      [
        ['A', a],
        ['B', b],
      ].map(async ([label, api]) => {
        await waitFor(
          `${label} to serve model version ${version}`,
          async () => (await health(api as MainProcess)).model?.versionId === version,
          60_000,
        );
        lags[label as string] = Date.now() - (activatedAt as Date).getTime();
      }),
    );
    return lags;
  };

  beforeAll(async () => {
    admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const setup = new Client({ connectionString: url });
    await setup.connect();
    await setup.query(`CREATE EXTENSION IF NOT EXISTS vector`);
    await setup.end();
    // Migrated and imported before any process starts, so they start on a settled catalog version.
    const importer = await openDatabase({ url, poolSize: 2 });
    await importSyntheticCatalog(importer, catalog);
    await importer.destroy();
    db = await openDatabase({ url, poolSize: 2 });

    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-multiprocess-'));
    const model = await buildTinyBertModel(path.join(dir, 'models'), { hiddenSize: 24 });
    // The service loads the quantized file name by default; the tiny model's float weights serve as it.
    await copyFile(
      path.join(model.modelDir, 'onnx', 'model.onnx'),
      path.join(model.modelDir, 'onnx', 'model_quantized.onnx'),
    );
    env = {
      DATABASE_URL: url,
      DATA_DIR: path.join(dir, 'data'),
      CACHE_DIR: path.join(dir, 'cache'),
      EMBEDDINGS: 'transformers',
      TRANSFORMERS_MODEL: model.modelId,
      LOCAL_MODEL_PATH: path.join(dir, 'models'),
      ALLOW_REMOTE_MODELS: 'false',
    };
  }, 120_000);

  afterAll(async () => {
    for (const proc of processes) proc.child.kill('SIGKILL');
    await Promise.all(processes.map((proc) => proc.exited));
    await db?.destroy();
    await admin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin?.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('two workers started together on a cold start: the first model and the index are each made once', async () => {
    const started = Date.now();
    [a, b, ...workers] = await Promise.all([start('api'), start('api'), start('worker'), start('worker')]);
    const version = await waitFor('the first model', activeVersion, 120_000);
    await waitFor(
      'the content index',
      async () => (await runs('content-index')).some((run) => run.outcome === 'succeeded'),
      120_000,
    );
    const lags = await servedAfterActivation(version);
    for (const api of [a, b])
      await waitFor(
        'the content engine to be ready on an API process',
        async () => (await health(api)).engines.content?.ready,
        30_000,
      );
    // Both workers have checked every job several times since (WORKER_POLL_MS=300).
    await sleep(1500);
    const training = await runs('training');
    const index = await runs('content-index');
    expect(training.map((run) => [run.trigger, run.outcome])).toEqual([['first model', 'succeeded']]);
    expect(training[0].detail.versionId).toBe(version);
    expect(index.map((run) => [run.trigger, run.outcome])).toEqual([['first index', 'succeeded']]);
    expect(index[0].detail.embedded).toBe(movieIds.length);
    process.stdout.write(
      `[multiprocess] cold start: first model version ${version} after ${Date.now() - started} ms from launch; ` +
        `served by A ${lags.A} ms, B ${lags.B} ms after its activation\n`,
    );
  }, 240_000);

  it('a rating through A: B’s next list excludes the movie and B reflects the rating', async () => {
    const onboarded = await graphql<{ onboard: { token: string } }>(`${a.base}/graphql`, ONBOARD, {
      ratings: someRatings(5),
    });
    expect(onboarded.errors).toBeUndefined();
    const auth = { authorization: `Bearer ${onboarded.data!.onboard.token}` };
    const before = await graphql<Mine>(`${b.base}/graphql`, MINE, {}, auth);
    expect(before.errors).toBeUndefined();
    const movie = before.data!.me.recommendations[0].movie.id;

    const rated = await graphql(`${a.base}/graphql`, RATE, { m: movie, r: 1 }, auth);
    expect(rated.errors).toBeUndefined();
    const ratedAt = Date.now();
    const after = await waitFor(
      `B's list to drop movie ${movie}`,
      async () => {
        const mine = await graphql<Mine>(`${b.base}/graphql`, MINE, {}, auth);
        return mine.data?.me.recommendations.every((r) => r.movie.id !== movie) ? mine : null;
      },
      90_000,
    );
    const excludedAfterMs = Date.now() - ratedAt;
    expect(after.errors).toBeUndefined();
    expect(after.data!.me.recommendations.length).toBeGreaterThan(0);
    expect(after.data!.me.ratings.edges.map((edge) => edge.node)).toContainEqual({
      movie: { id: movie },
      rating: 1,
    });
    process.stdout.write(`[multiprocess] a rating through A left B's list after ${excludedAfterMs} ms\n`);
  }, 120_000);

  it('enough new ratings: the worker retrains once and both API processes serve the new version', async () => {
    const previous = (await activeVersion())!;
    const runsBefore = (await runs('training')).length;
    // The workers stopped polling the second one: the next tests kill and restart the one left.
    const second = workers.pop()!;
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const onboarded = await graphql(`${a.base}/graphql`, ONBOARD, { ratings: someRatings(RETRAIN_AFTER) });
    expect(onboarded.errors).toBeUndefined();
    const version = await waitFor(
      'a retrained model',
      async () => {
        const active = await activeVersion();
        return active !== previous ? active : null;
      },
      120_000,
    );
    const lags = await servedAfterActivation(version!);
    const training = await waitFor(
      'the training run to be recorded',
      async () => {
        const recorded = (await runs('training')).slice(runsBefore);
        return recorded.every((run) => run.finished_at !== null) ? recorded : null;
      },
      30_000,
    );
    expect(training).toHaveLength(1);
    expect(training[0]).toMatchObject({
      outcome: 'succeeded',
      detail: expect.objectContaining({ versionId: version }),
    });
    expect(training[0].trigger).toMatch(/new ratings since model version/);
    process.stdout.write(
      `[multiprocess] retrained model version ${version} served by A ${lags.A} ms, B ${lags.B} ms after its activation\n`,
    );
  }, 180_000);

  it('kill -9 of the worker mid-training leaves the active model alone; a restarted worker finishes', async () => {
    const previous = (await activeVersion())!;
    const [worker] = workers;
    const onboarded = await graphql(`${a.base}/graphql`, ONBOARD, { ratings: someRatings(RETRAIN_AFTER) });
    expect(onboarded.errors).toBeUndefined();
    // Past the start of SGD (progress is written at most once a second), well before activation.
    const running = await waitFor(
      'a training run under way',
      async () => {
        const [run] = (await runs('training')).filter((r) => r.finished_at === null && r.progress >= 0.05);
        return run;
      },
      120_000,
    );
    expect(running.owner).toMatch(new RegExp(`:${worker.child.pid}$`));
    const trainingConnections = async () =>
      (
        await db.query(
          `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cinegraph training'`,
          [name],
        )
      )[0].count as number;
    expect(await trainingConnections()).toBeGreaterThan(0);
    worker.child.kill('SIGKILL');
    await worker.exited;
    expect(await activeVersion()).toBe(previous);
    // The training child dies with its parent: nothing holds the lock, nothing gets activated.
    await waitFor(
      'the training child to let go of the database',
      async () => {
        const [{ count }] = await db.query(
          `SELECT count(*)::int AS count FROM pg_stat_activity
            WHERE datname = $1 AND (application_name LIKE 'cinegraph job lock%' OR application_name = 'cinegraph training')`,
          [name],
        );
        return count === 0;
      },
      20_000,
    );
    await sleep(3000);
    expect(await activeVersion()).toBe(previous);
    expect(await db.query(`SELECT id FROM model_versions WHERE id > $1`, [previous])).toEqual([]);

    const restarted = await start('worker');
    workers = [restarted];
    // The run's outcome is written just after the activation: wait for both.
    const finished = await waitFor(
      'the restarted worker to finish a training run',
      async () => {
        const done = (await runs('training')).filter(
          (run) => run.id > running.id && run.finished_at !== null,
        );
        return done.length > 0 ? done : null;
      },
      120_000,
    );
    const version = await activeVersion();
    const training = await runs('training');
    const killed = training.find((run) => run.id === running.id)!;
    expect(killed.outcome).toBe('abandoned');
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({
      outcome: 'succeeded',
      detail: expect.objectContaining({ versionId: version }),
    });
    expect(finished[0].owner).toMatch(new RegExp(`:${restarted.child.pid}$`));
    // Exactly one version was written after the one that was active at the kill.
    expect(
      (await db.query(`SELECT id FROM model_versions WHERE id > $1`, [previous])).map(
        (r: { id: number }) => r.id,
      ),
    ).toEqual([version]);
    expect(training.filter((run) => run.id > running.id)).toHaveLength(1);
    await servedAfterActivation(version!);
  }, 240_000);

  it('kill -9 of A under load: B keeps answering, without an error', async () => {
    const outcomes = { A: { ok: 0, failed: 0 }, B: { ok: 0, failed: 0 } };
    const bErrors: string[] = [];
    let stop = false;
    const query = `query Recs($u: Int!) { recommendations(userId: $u, first: 10) { rank movie { id title } } }`;
    const loop = async (label: 'A' | 'B', api: MainProcess, seed: number) => {
      let i = seed;
      while (!stop) {
        i = (i * 7 + 13) % 300;
        try {
          const answer = await graphql<{ recommendations: unknown[] }>(`${api.base}/graphql`, query, {
            u: i + 1,
          });
          if (answer.errors || !answer.data?.recommendations.length)
            throw new Error(JSON.stringify(answer.errors));
          outcomes[label].ok++;
        } catch (error) {
          outcomes[label].failed++;
          if (label === 'B') bErrors.push(String(error));
          if (label === 'A') await sleep(20);
        }
      }
    };
    const loops = [0, 1, 2, 3].flatMap((n) => [loop('A', a, n * 50), loop('B', b, n * 50 + 25)]);
    // Both answer under load first (a user's first list is the slow one).
    await waitFor(
      'both API processes to answer under load',
      async () => outcomes.A.ok >= 8 && outcomes.B.ok >= 8,
      60_000,
    );
    const beforeKill = { ...outcomes.B };
    a.child.kill('SIGKILL');
    await a.exited;
    await sleep(2500);
    stop = true;
    await Promise.all(loops);
    expect(bErrors).toEqual([]);
    expect(outcomes.B.ok).toBeGreaterThan(beforeKill.ok);
    process.stdout.write(
      `[multiprocess] under load: B answered ${outcomes.B.ok} requests (${outcomes.B.ok - beforeKill.ok} after A was killed), ` +
        `0 errors; A answered ${outcomes.A.ok}, ${outcomes.A.failed} failed once killed\n`,
    );
  }, 60_000);
});
