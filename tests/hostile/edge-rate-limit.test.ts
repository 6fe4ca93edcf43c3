import { TestApi, startTestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { postQuery, RawResponse } from './hostile-helpers';

const TRENDING = '{ trending(first: 1) { score } }';
const ONBOARD = 'mutation { onboard(ratings: [{ movieId: 1, rating: 4 }]) { token user { id } } }';

/** 127.0.0.x are all loopback on Linux: each local address is a different client IP. */
const ABUSER = '127.0.0.1';
const NEIGHBOUR = '127.0.0.2';
const TOKEN_HOLDER = '127.0.0.3';

describe('per-client rate limiting (token bucket)', () => {
  let db: TestDatabase;
  let api: TestApi;

  const userCount = async () =>
    Number((await db.dataSource.query(`SELECT count(*)::int AS n FROM users`))[0].n);
  const drain = async (from: string, headers: Record<string, string> = {}): Promise<RawResponse> => {
    for (let i = 0; i < 50; i++) {
      const response = await postQuery(api.url, TRENDING, {}, headers, from);
      if (response.status === 429) return response;
    }
    throw new Error('never throttled');
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES (1, 'Heat', 1995, '{Action}')`,
    );
    // A slow refill so the test does not race it: one token every 20 s, five at once.
    api = await startTestApi(db.dataSource, {}, { RATE_LIMIT_RPS: '0.05', RATE_LIMIT_BURST: '5' });
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  it('throttles one client with 429 RATE_LIMITED and Retry-After while others get through', async () => {
    const refused = await drain(ABUSER);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.json).toEqual({
      errors: [
        {
          message: expect.stringMatching(/too many requests/),
          extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter },
        },
      ],
    });
    // A throttled write is not carried out.
    const before = await userCount();
    const write = await postQuery(api.url, ONBOARD, {}, {}, ABUSER);
    expect(write.status).toBe(429);
    expect(await userCount()).toBe(before);
    // Another address is not affected.
    const neighbour = await postQuery(api.url, TRENDING, {}, {}, NEIGHBOUR);
    expect(neighbour.status).toBe(200);
    expect(neighbour.json.errors).toBeUndefined();
    // Probes are never throttled.
    expect((await fetch(api.url.replace(/\/graphql$/, '/livez'))).status).toBe(200);
  });

  it('gives a verified bearer token its own bucket, and invented tokens none', async () => {
    const onboarded = await postQuery(api.url, ONBOARD, {}, {}, TOKEN_HOLDER);
    const token: string = onboarded.json.data.onboard.token;
    const auth = { authorization: `Bearer ${token}` };
    // Its first request counts against its address and has the token verified meanwhile.
    expect((await postQuery(api.url, TRENDING, {}, auth, TOKEN_HOLDER)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await drain(ABUSER);
    const holder = await postQuery(api.url, TRENDING, {}, auth, ABUSER);
    expect(holder.status).toBe(200);
    // A fresh made-up token per request still counts against the address.
    const invented = await postQuery(api.url, TRENDING, {}, { authorization: 'Bearer cg_invented1' }, ABUSER);
    expect(invented.status).toBe(429);
    const another = await postQuery(api.url, TRENDING, {}, { authorization: 'Bearer cg_invented2' }, ABUSER);
    expect(another.status).toBe(429);
  });

  it('is off with RATE_LIMIT_RPS=0', async () => {
    const unlimited = await startTestApi(db.dataSource, {}, { RATE_LIMIT_RPS: '0', RATE_LIMIT_BURST: '1' });
    try {
      for (let i = 0; i < 20; i++)
        expect((await postQuery(unlimited.url, TRENDING, {}, {}, ABUSER)).status).toBe(200);
    } finally {
      await unlimited.stop();
    }
  });
});
