import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { startCinegraph, type Cinegraph } from '../../src/app';
import { loadConfig } from '../../src/config';
import { CollaborativeEngine } from '../../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { silentLogger } from '../../src/logger';
import { trainFromDatabase } from '../../training/database';
import { DEFAULT_TRAIN_OPTIONS } from '../../training/train';
import { graphql } from '../helpers/api';
import { closedPortUrl } from '../helpers/closed-port';
import { createTestDatabase, TestDatabase, TEST_DATABASE_URL } from '../helpers/database';
import { importSyntheticCatalog } from '../helpers/synthetic-database';

const LIST = `query ($userId: Int!) { recommendations(userId: $userId, strategy: HYBRID, first: 10) { movie { id } } }`;
const ONBOARD = `mutation ($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { token user { id } } }`;

const SMALL_MODEL = {
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 10 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
};

/** Polls `check` until it holds; the deadline only bounds a failing test, it measures nothing. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 10_000) {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const collaborativeOf = (app: Cinegraph) => app.services.predictor as CollaborativeEngine;

/**
 * Two Cinegraph instances on one PostgreSQL schema, as two API processes behind a load balancer
 * would be: what one commits reaches the other by LISTEN/NOTIFY, or by polling while its
 * notification connection is down.
 */
describe('two instances on one database', () => {
  let db: TestDatabase;
  let dir: string;
  let a: Cinegraph;
  let b: Cinegraph;
  let user: number;
  let auth: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase();
    const catalog = generateSyntheticCatalog({ seed: 5, users: 80, movies: 120 });
    await importSyntheticCatalog(db.dataSource, catalog);
    await trainFromDatabase(db.dataSource, new ModelStore(db.dataSource), SMALL_MODEL);
    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-two-instances-'));
    const config = loadConfig({
      PORT: '0',
      DATABASE_URL: TEST_DATABASE_URL,
      DATA_DIR: path.join(dir, 'data'),
      CACHE_DIR: path.join(dir, 'cache'),
      MOVIELENS_DOWNLOAD_URL: await closedPortUrl(),
      CONTENT_ENGINE: 'false',
    });
    a = await startCinegraph(config, silentLogger, { schema: db.schema });
    // B polls often and waits long before listening again, so the fault case sees polling at work.
    b = await startCinegraph(config, silentLogger, {
      schema: db.schema,
      versionPollMs: 100,
      versionReconnectMs: { min: 3000, max: 3000 },
    });
    const onboard = await graphql<any>(a.url, ONBOARD, {
      ratings: catalog.ratings
        .filter((r) => r.userId === 1)
        .slice(0, 8)
        .map((r) => ({ movieId: r.movieId, rating: r.rating })),
    });
    expect(onboard.errors).toBeUndefined();
    user = onboard.data.onboard.user.id;
    auth = { authorization: `Bearer ${onboard.data.onboard.token}` };
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const listOn = async (app: Cinegraph): Promise<number[]> => {
    const result = await graphql<any>(app.url, LIST, { userId: user }, auth);
    expect(result.errors).toBeUndefined();
    return result.data.recommendations.map((item: any) => item.movie.id);
  };

  /** Rates the first movie of B's list through A; returns it and the version A's write made. */
  const rateBsTopThroughA = async (): Promise<{ movie: number; version: number }> => {
    const [top] = await listOn(b);
    const rated = await graphql<any>(
      a.url,
      `mutation { rate(movieId: ${top}, rating: 4.5) { rating } }`,
      {},
      auth,
    );
    expect(rated.errors).toBeUndefined();
    return { movie: top, version: a.versions.userVersion(user)! };
  };

  it('listens on both instances', () => {
    expect(a.versionFeed.state()).toBe('listening');
    expect(b.versionFeed.state()).toBe('listening');
    expect(b.versionFeed.listenerPid()).not.toBe(a.versionFeed.listenerPid());
  });

  it("a rating through A: B's next list, once the notice is in, excludes the movie", async () => {
    await listOn(b); // B caches the user's ratings, state and list
    const { movie, version } = await rateBsTopThroughA();
    expect(version).toBeGreaterThan(0);
    await eventually(() => b.versions.userVersion(user) === version, "B hears of A's rating");
    expect(await listOn(b)).not.toContain(movie);
  });

  it("NOT_INTERESTED through A: B's next list leaves the movie out once the notice is in", async () => {
    const [top] = await listOn(b);
    const before = a.versions.userVersion(user) ?? 0;
    const recorded = await graphql<any>(
      a.url,
      `
        mutation ($events: [EventInput!]!) {
          recordEvents(events: $events) {
            accepted
          }
        }
      `,
      { events: [{ clientEventId: `not-interested-${top}`, movieId: top, type: 'NOT_INTERESTED' }] },
      auth,
    );
    expect(recorded.errors).toBeUndefined();
    const version = a.versions.userVersion(user)!;
    expect(version).toBeGreaterThan(before);
    await eventually(() => b.versions.userVersion(user) === version, "B hears of A's exclusion");
    expect(await listOn(b)).not.toContain(top);
  });

  it('a model activated through another connection is served by both instances, without a restart', async () => {
    const before = collaborativeOf(a).activeVersionId();
    expect(collaborativeOf(b).activeVersionId()).toBe(before);
    await listOn(b);
    // A training elsewhere (npm run train, a worker) saves and activates a version.
    const trainer = new ModelStore(db.dataSource);
    await trainFromDatabase(db.dataSource, trainer, SMALL_MODEL);
    const activated = await trainer.activeVersionId();
    expect(activated).not.toBe(before);
    for (const app of [a, b])
      await eventually(() => collaborativeOf(app).activeVersionId() === activated, 'the new model loads');
    const health = (await (await fetch(b.url.replace(/\/graphql$/, '/health'))).json()) as any;
    expect(health.model.versionId).toBe(activated);
  });

  it('a killed LISTEN connection: polling still delivers, then it listens again', async () => {
    const pid = b.versionFeed.listenerPid();
    expect(pid).not.toBeNull();
    await db.dataSource.query(`SELECT pg_terminate_backend($1)`, [pid]);
    await eventually(() => b.versionFeed.state() === 'polling', 'B notices the lost connection');

    const polled = b.versionFeed.counts.polls;
    const { movie, version } = await rateBsTopThroughA();
    await eventually(() => b.versions.userVersion(user) === version, 'B polls the new version');
    expect(b.versionFeed.state()).toBe('polling');
    expect(b.versionFeed.counts.polls).toBeGreaterThan(polled);
    expect(await listOn(b)).not.toContain(movie);

    await eventually(() => b.versionFeed.state() === 'listening', 'B listens again');
    expect(b.versionFeed.listenerPid()).not.toBe(pid);
    expect(b.versionFeed.counts.reconnects).toBe(1);
    const notices = b.versionFeed.counts.notices;
    const next = await rateBsTopThroughA();
    await eventually(() => b.versions.userVersion(user) === next.version, 'B hears by notice again');
    expect(b.versionFeed.counts.notices).toBeGreaterThan(notices);
  });
});
