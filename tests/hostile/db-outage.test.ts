import { DataSource } from 'typeorm';
import { openDatabase } from '../../src/db/datasource';
import { databaseFailure } from '../../src/db/errors';
import { withLongStatements } from '../../src/db/guarded-pool';
import { StatisticalEngine } from '../../src/engines/statistical';
import { graphql, GraphQLResponse, startTestApi, TestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { answersPromptly, codeOf } from '../helpers/db-hostile';
import { TcpProxy } from '../../fixtures/tcp-proxy';

const TIMEOUTS = { connectMs: 800, statementMs: 1000, idleInTransactionMs: 2000 };
/** Far above what the timeouts allow, far below "stuck for good". */
const BOUND_MS = 15_000;

const MOVIES = `{ movies(first: 3) { edges { node { id title } } } }`;
const ONBOARD = `mutation ($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { user { id } } }`;

async function within<T>(ms: number, work: Promise<T>): Promise<T | 'timed out'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'timed out'>((resolve) => {
    timer = setTimeout(() => resolve('timed out'), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asks until the catalog answers again; resolves to how long that took. */
async function recovery(url: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const answer = await within(BOUND_MS, graphql<any>(url, MOVIES));
    if (answer !== 'timed out' && !answer.errors) return performance.now() - started;
    if (performance.now() - started > BOUND_MS) throw new Error('the API did not recover from the outage');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a database that stalls or vanishes', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let proxied: DataSource;
  let api: TestApi;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) SELECT i, 'Movie ' || i, 2000, ARRAY['Drama'] FROM generate_series(1, 20) AS i`,
    );
    proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
    await proxy.start();
    proxied = await openDatabase({
      url: proxy.url(db.url),
      poolSize: 4,
      schema: db.schema,
      timeouts: TIMEOUTS,
    });
    api = await startTestApi(proxied, {
      statistical: new StatisticalEngine(proxied, { globalStatsMaxAgeMs: 0 }),
    });
  });

  afterAll(async () => {
    await api?.stop();
    await proxied?.destroy().catch(() => undefined);
    await proxy?.stop();
    await db?.drop();
  });

  const users = async () => Number((await db.dataSource.query(`SELECT count(*) AS n FROM users`))[0].n);

  const expectUnavailable = (answer: GraphQLResponse<unknown> | 'timed out') => {
    expect(answer).not.toBe('timed out');
    const response = answer as GraphQLResponse<unknown>;
    expect(codeOf(response)).toBe('SERVICE_UNAVAILABLE');
    expect(response.errors?.[0]?.extensions).toMatchObject({ retryable: true });
  };

  it('sets the timeouts on every connection', async () => {
    const [settings] = await proxied.query(
      `SELECT current_setting('statement_timeout') AS statement,
              current_setting('idle_in_transaction_session_timeout') AS idle`,
    );
    expect(settings).toEqual({ statement: '1s', idle: '2s' });
  });

  it('cancels a statement past the timeout (a retryable failure), except where long statements are allowed', async () => {
    const slow = await proxied.query(`SELECT pg_sleep(1.5)`).catch((error: unknown) => error);
    expect(databaseFailure(slow)).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      extensions: { retryable: true },
    });
    const [row] = await withLongStatements(proxied, (manager) =>
      manager.query(`SELECT pg_sleep(1.5), 1 AS done`),
    );
    expect(row.done).toBe(1);
    // Lifted for that transaction only.
    await expect(proxied.query(`SELECT pg_sleep(1.5)`)).rejects.toThrow(/statement timeout/);
  });

  it('answers SERVICE_UNAVAILABLE while the database stalls, writes nothing, and recovers without a restart', async () => {
    expect((await graphql<any>(api.url, MOVIES)).errors).toBeUndefined();
    const usersBefore = await users();
    proxy.stall();
    try {
      const [read, write, prompt] = await Promise.all([
        within(BOUND_MS, graphql(api.url, MOVIES)),
        within(BOUND_MS, graphql(api.url, ONBOARD, { ratings: [{ movieId: 1, rating: 4 }] })),
        answersPromptly(api.url),
      ]);
      expectUnavailable(read);
      expectUnavailable(write);
      expect(prompt).toBe(true);
      // Still unavailable, and still answering, while the stall goes on.
      expectUnavailable(await within(BOUND_MS, graphql(api.url, MOVIES)));
    } finally {
      proxy.restore();
    }
    expect(await recovery(api.url)).toBeLessThan(BOUND_MS);
    // Every pooled connection works again, not just one: a burst larger than the pool all succeeds.
    const burst = await Promise.all(
      Array.from({ length: 8 }, () => within(BOUND_MS, graphql<any>(api.url, MOVIES))),
    );
    expect(burst.map((r) => (r === 'timed out' ? r : codeOf(r)))).toEqual(burst.map(() => 'none'));
    expect(await users()).toBe(usersBefore);
  });

  it('answers SERVICE_UNAVAILABLE while the database refuses connections, and recovers', async () => {
    proxy.cut();
    try {
      expectUnavailable(await within(BOUND_MS, graphql(api.url, MOVIES)));
      expect(await answersPromptly(api.url)).toBe(true);
    } finally {
      proxy.restore();
    }
    expect(await recovery(api.url)).toBeLessThan(BOUND_MS);
  });

  it('fails a start against a database that never answers within the connect timeout, with a clear message', async () => {
    proxy.stall();
    const started = performance.now();
    try {
      const opening = openDatabase({
        url: proxy.url(db.url),
        poolSize: 2,
        schema: db.schema,
        timeouts: TIMEOUTS,
      });
      const outcome = await within(
        BOUND_MS,
        opening.then(
          () => 'opened',
          (error: Error) => error,
        ),
      );
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(
        /could not connect to the database at 127\.0\.0\.1:\d+ within 800 ms/,
      );
      expect(performance.now() - started).toBeLessThan(BOUND_MS);
    } finally {
      proxy.restore();
    }
  });

  it('fails a start against a port nobody listens on with a clear message', async () => {
    proxy.cut();
    try {
      await expect(
        openDatabase({ url: proxy.url(db.url), poolSize: 2, schema: db.schema, timeouts: TIMEOUTS }),
      ).rejects.toThrow(/could not connect to the database at 127\.0\.0\.1:\d+/);
    } finally {
      proxy.restore();
    }
  });
});
