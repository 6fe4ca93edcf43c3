import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DataSource } from 'typeorm';
import { generateSyntheticCatalog, SyntheticCatalog } from '../../fixtures/synthetic';
import { TcpProxy } from '../../fixtures/tcp-proxy';
import { connectDatabase, refreshOnRatings } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createDataSource } from '../../src/db/datasource';
import { startEmbeddedDatabase } from '../../src/db/embedded';
import { ReplicaReads } from '../../src/db/read-routing';
import { ContentEngine, ContentIndexer } from '../../src/engines/content';
import { CachedRatingHistory, SqlRatingHistory } from '../../src/engines/rating-history';
import { StatisticalEngine } from '../../src/engines/statistical';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';
import { graphql, TestApi, startTestApi } from '../helpers/api';
import { silentLogger } from '../../src/logger';
import { createTestDatabase, recordStatements, TEST_DATABASE_URL, TestDatabase } from '../helpers/database';
import { pauseReplay, resumeReplay, testReplica, waitForReplay } from '../helpers/replica';
import { importSyntheticCatalog } from '../helpers/synthetic-database';

const replica = testReplica();
if (replica.reason) console.warn(`skipping the read replica tests: ${replica.reason}`);
const describeWithReplica = replica.url ? describe : describe.skip;

/** Statements the router's freshness probes send, which are not the reads under test. */
const isProbe = (sql: string) => /pg_current_wal_lsn|pg_last_wal_replay_lsn/.test(sql);

const inRecovery = async (db: DataSource) =>
  ((await db.query(`SELECT pg_is_in_recovery() AS r`)) as { r: boolean }[])[0].r;

/**
 * Probes until the router has seen the replica caught up: the shared server takes other work's
 * writes all the time, so a single probe may find the replica a moment behind.
 */
async function settle(router: ReplicaReads, primary: DataSource, replica: DataSource): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await waitForReplay(primary, replica);
    await router.probe();
    if (router.state().pinnedUsers === 0 && (await router.shared(inRecovery))) return;
    if (Date.now() > deadline) throw new Error('the router never saw the replica caught up');
  }
}

describeWithReplica('reads on a streaming replica (DATABASE_READ_URL)', () => {
  let db: TestDatabase;
  let catalog: SyntheticCatalog;
  let proxy: TcpProxy;
  /** The replica as the API reaches it: through a proxy, so a test can make it vanish. */
  let replicaDb: DataSource;
  /** The replica straight, for the tests' own looks at it. */
  let direct: DataSource;
  let reads: ReplicaReads;
  let api: TestApi;

  const seeReplica = () => settle(reads, db.dataSource, direct);

  beforeAll(async () => {
    db = await createTestDatabase(6);
    catalog = generateSyntheticCatalog({ seed: 7, users: 60, movies: 80 });
    await importSyntheticCatalog(db.dataSource, catalog);
    const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() });
    await indexer.run();

    const url = replica.url as string;
    direct = createDataSource({ url, poolSize: 2, schema: db.schema });
    await direct.initialize();
    // The schema and its data reach the replica by replay like everything else.
    await waitForReplay(db.dataSource, direct);
    proxy = new TcpProxy('127.0.0.1', Number(new URL(url).port || 5432));
    await proxy.start();
    replicaDb = createDataSource({ url: proxy.url(url), poolSize: 4, schema: db.schema });
    await replicaDb.initialize();
    // A lag bound far above anything here: the tests pause replay and expect the replica to answer.
    reads = new ReplicaReads(db.dataSource, replicaDb, {
      maxLagMs: 600_000,
      probeIntervalMs: 20,
      downForMs: 50,
    });
    await settle(reads, db.dataSource, direct);

    const history = new CachedRatingHistory(new SqlRatingHistory(db.dataSource, reads));
    const statistical = new StatisticalEngine(
      db.dataSource,
      { globalStatsMaxAgeMs: 0 },
      history,
      null,
      reads,
    );
    const content = new ContentEngine({ dataSource: db.dataSource, indexer, history, reads });
    api = await startTestApi(
      db.dataSource,
      { statistical, content, all: [content, statistical], history },
      {},
      undefined,
      reads,
    );
    refreshOnRatings(api.services.ratings, { history, content, collaborative: null, reads });
  });

  afterAll(async () => {
    // Whatever failed, the shared replica must not stay paused.
    if (direct?.isInitialized) await resumeReplay(direct).catch(() => undefined);
    await api?.stop();
    if (replicaDb?.isInitialized) await replicaDb.destroy();
    if (direct?.isInitialized) await direct.destroy();
    await proxy?.stop();
    await db?.drop();
  });

  it('sends catalog, ranking, similarity and search reads to the replica and writes to the primary', async () => {
    expect(await inRecovery(direct)).toBe(true);
    expect(await inRecovery(db.dataSource)).toBe(false);
    expect(await reads.shared(inRecovery)).toBe(true);

    const movieId = catalog.movies[3].movieId;
    let onPrimary: string[] = [];
    const onReplica = await recordStatements(replicaDb, async () => {
      onPrimary = await recordStatements(db.dataSource, async () => {
        const result = await graphql<any>(
          api.url,
          `
            query ($id: Int!) {
              movies(first: 5) {
                edges {
                  node {
                    id
                    title
                    ratingsCount
                    averageRating
                    bayesianRating {
                      weighted
                    }
                  }
                }
              }
              movie(id: $id) {
                similar(first: 3) {
                  movie {
                    id
                  }
                }
              }
              trending(first: 3, windowDays: 36500) {
                movie {
                  id
                }
              }
              search(query: "drama", first: 3) {
                movie {
                  id
                }
              }
            }
          `,
          { id: movieId },
        );
        expect(result.errors).toBeUndefined();
        expect(result.data.movies.edges).toHaveLength(5);
        expect(result.data.movie.similar).toHaveLength(3);
        expect(result.data.search).toHaveLength(3);
      });
    });
    expect(onPrimary.filter((sql) => !isProbe(sql))).toEqual([]);
    for (const table of ['FROM movies', 'movie_rating_stats', 'movie_embeddings'])
      expect(onReplica.some((sql) => sql.includes(table))).toBe(true);

    const user = catalog.users[0];
    const unrated = catalog.movies.find(
      (m) => !catalog.ratings.some((r) => r.userId === user && r.movieId === m.movieId),
    )!.movieId;
    let replicaWrites: string[] = [];
    const primaryWrites = await recordStatements(db.dataSource, async () => {
      replicaWrites = await recordStatements(replicaDb, async () => {
        await api.services.ratings.rate(user, unrated, 4);
      });
    });
    expect(primaryWrites.some((sql) => sql.includes('INSERT INTO ratings'))).toBe(true);
    expect(replicaWrites.filter((sql) => !isProbe(sql))).toEqual([]);
  });

  it("shows a user their own rating at once while replay lags, and everyone else the replica's consistent past", async () => {
    const onboardRatings = catalog.movies.slice(0, 5).map((m, i) => ({ movieId: m.movieId, rating: 1 + i }));
    const onboarded = await graphql<any>(
      api.url,
      `
        mutation ($ratings: [RatingInput!]!) {
          onboard(ratings: $ratings) {
            token
            user {
              id
            }
          }
        }
      `,
      { ratings: onboardRatings },
    );
    expect(onboarded.errors).toBeUndefined();
    const auth = { authorization: `Bearer ${onboarded.data.onboard.token}` };
    const userId: number = onboarded.data.onboard.user.id;
    await seeReplica();
    expect(reads.state().pinnedUsers).toBe(0);

    const ME = `{ me { ratingsCount ratings(first: 50) { edges { node { rating movie { id } } } }
                       recommendations(first: 10, strategy: CONTENT) { movie { id } } } }`;
    const before = await graphql<any>(api.url, ME, {}, auth);
    expect(before.errors).toBeUndefined();
    const target: number = before.data.me.recommendations[0].movie.id;
    const COUNT = `query ($id: Int!) { movie(id: $id) { ratingsCount } }`;
    const countBefore: number = (await graphql<any>(api.url, COUNT, { id: target })).data.movie.ratingsCount;

    await pauseReplay(direct);
    try {
      const rated = await graphql<any>(
        api.url,
        `
          mutation ($id: Int!) {
            rate(movieId: $id, rating: 5) {
              rating
            }
          }
        `,
        { id: target },
        auth,
      );
      expect(rated.errors).toBeUndefined();
      await db.dataSource.query(
        `INSERT INTO movies (id, title, year, genres) VALUES (900001, 'Replica lag probe', 2026, '{Drama}')`,
      );
      // The lag is real: the replica has neither write.
      expect(
        await direct.query(`SELECT 1 FROM ratings WHERE user_id = $1 AND movie_id = $2`, [userId, target]),
      ).toEqual([]);
      expect(await direct.query(`SELECT 1 FROM movies WHERE id = 900001`)).toEqual([]);

      const after = await graphql<any>(api.url, ME, {}, auth);
      expect(after.errors).toBeUndefined();
      expect(after.data.me.ratingsCount).toBe(6);
      expect(after.data.me.ratings.edges[0].node).toEqual({ rating: 5, movie: { id: target } });
      const recommended = after.data.me.recommendations.map((r: any) => r.movie.id);
      expect(recommended).toHaveLength(10);
      expect(recommended).not.toContain(target);
      expect(reads.state().pinnedUsers).toBe(1);

      // Shared reads still come from the paused replica: the past, but a whole one (the aggregate
      // agrees with the ratings it summarises there), never a half-applied write.
      const stale = await graphql<any>(
        api.url,
        `
          query ($id: Int!) {
            movie(id: $id) {
              ratingsCount
            }
            movies(filter: { titleContains: "Replica lag probe" }) {
              edges {
                node {
                  id
                }
              }
            }
          }
        `,
        { id: target },
      );
      expect(stale.errors).toBeUndefined();
      expect(stale.data.movie.ratingsCount).toBe(countBefore);
      expect(stale.data.movies.edges).toEqual([]);
      const [{ n }] = await direct.query(`SELECT count(*)::int AS n FROM ratings WHERE movie_id = $1`, [
        target,
      ]);
      expect(n).toBe(countBefore);
      const [{ votes }] = await db.dataSource.query(
        `SELECT votes FROM movie_rating_stats WHERE movie_id = $1`,
        [target],
      );
      expect(votes).toBe(countBefore + 1);
    } finally {
      await resumeReplay(direct);
    }

    await seeReplica();
    expect(reads.state().pinnedUsers).toBe(0);
    const fresh = await graphql<any>(
      api.url,
      `
        query ($id: Int!) {
          movie(id: $id) {
            ratingsCount
          }
          movies(filter: { titleContains: "Replica lag probe" }) {
            edges {
              node {
                id
              }
            }
          }
        }
      `,
      { id: target },
    );
    expect(fresh.data.movie.ratingsCount).toBe(countBefore + 1);
    expect(fresh.data.movies.edges).toEqual([{ node: { id: 900001 } }]);
    // Caught up, the user's own reads go back to the replica too.
    expect(await reads.ofUser(userId, inRecovery)).toBe(true);
  });

  it('moves shared reads to the primary once the replica may be further behind than the bound', async () => {
    const bounded = new ReplicaReads(db.dataSource, direct, { maxLagMs: 200, probeIntervalMs: 10 });
    await settle(bounded, db.dataSource, direct);
    await pauseReplay(direct);
    try {
      // A write the replica will not replay: from now on it is behind by the time that passes.
      await db.dataSource.query(`INSERT INTO movies (id, title, genres) VALUES (900002, 'Unreplayed', '{}')`);
      const deadline = Date.now() + 10_000;
      while ((await bounded.shared(inRecovery)) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await bounded.shared(inRecovery)).toBe(false);
      expect(bounded.state().lagBoundMs).toBeGreaterThan(200);
    } finally {
      await resumeReplay(direct);
    }
    await settle(bounded, db.dataSource, direct);
    expect(await bounded.shared(inRecovery)).toBe(true);
  });

  it('answers from the primary while the replica is gone, and returns to it once it is back', async () => {
    const QUERY = `{ movies(first: 3) { edges { node { id ratingsCount } } } trending(first: 3, windowDays: 36500) { movie { id } } }`;
    const expected = await graphql<any>(api.url, QUERY);
    expect(expected.errors).toBeUndefined();
    proxy.cut();
    try {
      const whileDown = await recordStatements(db.dataSource, async () => {
        const answer = await graphql<any>(api.url, QUERY);
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toEqual(expected.data);
      });
      expect(whileDown.some((sql) => sql.includes('FROM movies'))).toBe(true);
      expect(reads.state().down).toBe(true);
      expect(await reads.shared(inRecovery)).toBe(false);
    } finally {
      proxy.restore();
    }
    const deadline = Date.now() + 10_000;
    while (!(await reads.shared(inRecovery)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 25));
    expect(reads.state().down).toBe(false);
    expect(await reads.shared(inRecovery)).toBe(true);
  });
});

describeWithReplica('DATABASE_READ_URL at start (connectDatabase)', () => {
  const name = `t_replica_${randomBytes(4).toString('hex')}`;
  let admin: DataSource;
  let replicaAdmin: DataSource;
  const urlOf = (base: string) => base.replace(/\/[^/]*$/, `/${name}`);
  const primaryUrl = urlOf(TEST_DATABASE_URL);
  const replicaUrl = urlOf(replica.url ?? '');

  beforeAll(async () => {
    admin = createDataSource({ url: TEST_DATABASE_URL.replace(/\/[^/]*$/, '/postgres'), poolSize: 1 });
    await admin.initialize();
    await admin.query(`CREATE DATABASE ${name}`);
    const scratch = createDataSource({ url: primaryUrl, poolSize: 1 });
    await scratch.initialize();
    await scratch.query(`CREATE EXTENSION IF NOT EXISTS vector`);
    await scratch.destroy();
    replicaAdmin = createDataSource({
      url: (replica.url as string).replace(/\/[^/]*$/, '/postgres'),
      poolSize: 1,
    });
    await replicaAdmin.initialize();
    await waitForReplay(admin, replicaAdmin);
  });

  afterAll(async () => {
    await replicaAdmin?.destroy();
    await admin?.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin?.destroy();
  });

  it('migrates the primary only and reads shared data from the replica once it has replayed them', async () => {
    const database = await connectDatabase(
      loadConfig({ DATABASE_URL: primaryUrl, DATABASE_READ_URL: replicaUrl }),
      silentLogger,
    );
    try {
      expect(database.replica).not.toBeNull();
      const deadline = Date.now() + 20_000;
      while (!(await database.reads.shared(inRecovery)) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(await database.reads.shared(inRecovery)).toBe(true);
      const [{ n }] = await database.reads.shared((db) => db.query(`SELECT count(*)::int AS n FROM movies`));
      expect(n).toBe(0);
    } finally {
      await database.close();
    }
  });

  it('reads the primary when the read URL is not a server in recovery', async () => {
    const database = await connectDatabase(
      loadConfig({ DATABASE_URL: primaryUrl, DATABASE_READ_URL: primaryUrl }),
      silentLogger,
    );
    try {
      expect(database.replica?.state().down).toBe(true);
      expect(await database.reads.shared(inRecovery)).toBe(false);
    } finally {
      await database.close();
    }
  });

  it('refuses to start on a read URL of another cluster', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-other-cluster-'));
    const other = await startEmbeddedDatabase({ dataDir: dir, port: 0, poolSize: 1 });
    try {
      await expect(
        connectDatabase(loadConfig({ DATABASE_URL: primaryUrl, DATABASE_READ_URL: other.url }), silentLogger),
      ).rejects.toThrow(/DATABASE_READ_URL is not a replica of DATABASE_URL/);
    } finally {
      await other.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
