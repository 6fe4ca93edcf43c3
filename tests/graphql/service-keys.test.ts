import { rateLimitIdentity } from '../../src/http/edge-policy';
import { createTestDatabase, recordStatements, TestDatabase } from '../helpers/database';
import { graphql, GraphQLResponse, startTestApi, TestApi } from '../helpers/api';

const ONBOARD = `mutation ($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { token user { id } } }`;
const RECOMMEND = `query ($userId: Int, $externalId: String) {
  recommendations(userId: $userId, externalId: $externalId, first: 3) { movie { id } }
}`;
const USER = `query ($id: Int, $externalId: String) { user(id: $id, externalId: $externalId) { id externalId ratingsCount } }`;
const RATE = `mutation ($movieId: Int!, $rating: Float!, $userId: Int, $externalId: String) {
  rate(movieId: $movieId, rating: $rating, userId: $userId, externalId: $externalId) { rating movie { id } }
}`;
const UPSERT = `mutation ($externalId: String!) { upsertUser(externalId: $externalId) { id externalId ratingsCount } }`;
const ROTATE = `mutation ($userId: Int, $externalId: String) {
  rotateToken(userId: $userId, externalId: $externalId) { token user { id } }
}`;
const REVOKE = `mutation ($userId: Int, $externalId: String) { revokeToken(userId: $userId, externalId: $externalId) }`;
const ME = `{ me { id } }`;

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });
const codeOf = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code;

describe('service keys, external ids and end-user tokens through GraphQL', () => {
  let db: TestDatabase;
  let api: TestApi;
  let readKey: string;
  let writeKey: string;
  let alice: { id: number; token: string };
  let bob: { id: number; token: string };

  const call = <T = any>(query: string, variables: Record<string, unknown> = {}, credential?: string) =>
    graphql<T>(api.url, query, variables, credential ? bearer(credential) : {});
  const userCount = async () => Number((await db.dataSource.query(`SELECT count(*) AS n FROM users`))[0].n);

  async function onboard(movieId: number): Promise<{ id: number; token: string }> {
    const result = await call(ONBOARD, { ratings: [{ movieId, rating: 4 }] });
    expect(result.errors).toBeUndefined();
    return { id: result.data.onboard.user.id, token: result.data.onboard.token };
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(`INSERT INTO users (id) SELECT generate_series(1, 3)`);
    await db.dataSource.query(`SELECT setval('users_id_seq', 3)`);
    await db.dataSource.query(`
      INSERT INTO movies (id, title, year, genres) VALUES
        (1, 'Toy Story', 1995, '{Animation,Comedy}'), (2, 'Heat', 1995, '{Action,Crime}'),
        (3, 'American President, The', 1995, '{Comedy,Drama,Romance}'), (4, 'Clueless', 1995, '{Comedy}'),
        (5, 'Sabrina', 1995, '{Comedy,Romance}'), (6, 'Alien', 1979, '{Horror,Sci-Fi}')`);
    await db.dataSource.query(`
      INSERT INTO ratings (user_id, movie_id, rating) VALUES
        (1, 1, 4), (2, 1, 5), (3, 1, 3), (1, 2, 5), (2, 4, 2.5), (1, 6, 4.5)`);
    api = await startTestApi(db.dataSource);
    readKey = (await api.services.keys.create('reader', ['read'])).secret;
    writeKey = (await api.services.keys.create('writer', ['write'])).secret;
    alice = await onboard(1);
    bob = await onboard(2);
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  it('lets a read key read any user, private ones included, and nothing else (FORBIDDEN to write)', async () => {
    expect(readKey).toMatch(/^cgk_[A-Za-z0-9_-]{43}$/);
    const read = await call(RECOMMEND, { userId: alice.id }, readKey);
    expect(read.errors).toBeUndefined();
    expect(read.data.recommendations.length).toBeGreaterThan(0);
    expect((await call(USER, { id: alice.id }, readKey)).data.user).toEqual({
      id: alice.id,
      externalId: null,
      ratingsCount: 1,
    });

    const write = await call(RATE, { movieId: 3, rating: 4, userId: alice.id }, readKey);
    expect(codeOf(write)).toBe('FORBIDDEN');
    expect(write.errors?.[0].extensions).toMatchObject({ scope: 'write' });
    expect(codeOf(await call(UPSERT, { externalId: 'from-a-reader' }, readKey))).toBe('FORBIDDEN');
    expect(codeOf(await call(ROTATE, { userId: alice.id }, readKey))).toBe('FORBIDDEN');
    const ratings = await db.dataSource.query(`SELECT movie_id FROM ratings WHERE user_id = $1`, [alice.id]);
    expect(ratings).toEqual([{ movie_id: 1 }]);
    expect(await userCount()).toBe(5);

    // Scopes do not imply one another: a write key reads nothing private.
    expect(codeOf(await call(RECOMMEND, { userId: alice.id }, writeKey))).toBe('FORBIDDEN');
    // A key acts as no user of its own.
    expect((await call(ME, {}, readKey)).data).toEqual({ me: null });
  });

  it('creates users by external id, idempotently, and lets a write key act for them', async () => {
    const externalId = 'shop/customer:42';
    const before = await userCount();
    const first = await call(UPSERT, { externalId }, writeKey);
    expect(first.errors).toBeUndefined();
    expect(first.data.upsertUser).toMatchObject({ externalId, ratingsCount: 0 });
    const again = await call(UPSERT, { externalId }, writeKey);
    expect(again.data.upsertUser.id).toBe(first.data.upsertUser.id);
    // Racing calls for one new id still make one user.
    const raced = await Promise.all(
      Array.from({ length: 5 }, () => call(UPSERT, { externalId: 'raced' }, writeKey)),
    );
    expect(new Set(raced.map((r) => r.data.upsertUser.id)).size).toBe(1);
    expect(await userCount()).toBe(before + 2);

    const rated = await call(RATE, { movieId: 3, rating: 4.5, externalId }, writeKey);
    expect(rated.errors).toBeUndefined();
    expect(rated.data.rate).toEqual({ rating: 4.5, movie: { id: 3 } });
    const byId = await call(RATE, { movieId: 4, rating: 2, userId: first.data.upsertUser.id }, writeKey);
    expect(byId.errors).toBeUndefined();
    const seen = await call(USER, { externalId }, readKey);
    expect(seen.data.user).toEqual({ id: first.data.upsertUser.id, externalId, ratingsCount: 2 });
    const listed = await call(RECOMMEND, { externalId }, readKey);
    expect(listed.errors).toBeUndefined();
    expect(listed.data.recommendations.map((r: any) => r.movie.id)).not.toContain(3);

    // A write key may act for any user, the public demo profiles too, but must name one.
    expect((await call(RATE, { movieId: 5, rating: 3, userId: 1 }, writeKey)).errors).toBeUndefined();
    expect(codeOf(await call(RATE, { movieId: 5, rating: 3 }, writeKey))).toBe('BAD_USER_INPUT');
    expect(codeOf(await call(RATE, { movieId: 5, rating: 3, userId: 999_999 }, writeKey))).toBe('NOT_FOUND');

    // Users a key created are private: nobody without a key or their token reads them.
    expect((await call(USER, { externalId })).data).toEqual({ user: null });
    expect(codeOf(await call(RECOMMEND, { externalId }))).toBe('NOT_FOUND');
    expect(codeOf(await call(RECOMMEND, { userId: first.data.upsertUser.id }, bob.token))).toBe('NOT_FOUND');

    expect(codeOf(await call(UPSERT, { externalId: 'anonymous' }))).toBe('UNAUTHENTICATED');
    expect(codeOf(await call(UPSERT, { externalId: 'by-token' }, alice.token))).toBe('FORBIDDEN');
  });

  it('resolves external ids strictly: unknown → NOT_FOUND, both or neither selector or a bad id → BAD_USER_INPUT, nothing written', async () => {
    expect(codeOf(await call(RECOMMEND, { externalId: 'nobody-has-this' }, readKey))).toBe('NOT_FOUND');
    expect(codeOf(await call(RATE, { movieId: 1, rating: 3, externalId: 'nobody' }, writeKey))).toBe(
      'NOT_FOUND',
    );
    expect((await call(USER, { externalId: 'nobody-has-this' }, readKey)).data).toEqual({ user: null });

    const before = await userCount();
    const ratingsBefore = await db.dataSource.query(`SELECT count(*) AS n FROM ratings`);
    expect(codeOf(await call(RECOMMEND, { userId: 1, externalId: 'x' }, readKey))).toBe('BAD_USER_INPUT');
    expect(codeOf(await call(USER, { id: 1, externalId: 'x' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await call(RECOMMEND, {}, readKey))).toBe('BAD_USER_INPUT');
    expect(codeOf(await call(USER, {}))).toBe('BAD_USER_INPUT');
    expect(
      codeOf(
        await call(RATE, { movieId: 1, rating: 3, userId: 1, externalId: 'shop/customer:42' }, writeKey),
      ),
    ).toBe('BAD_USER_INPUT');
    for (const externalId of [
      '',
      'x'.repeat(257),
      'line\nbreak',
      'nul\u0000',
      'del\u007f',
      'c1\u0085',
      '\ud800',
    ])
      for (const query of [UPSERT, RECOMMEND]) {
        const refused = await call(query, { externalId }, query === UPSERT ? writeKey : readKey);
        expect(codeOf(refused)).toBe('BAD_USER_INPUT');
        expect(refused.errors?.[0].message).toMatch(/externalId/);
      }
    expect(await userCount()).toBe(before);
    expect(await db.dataSource.query(`SELECT count(*) AS n FROM ratings`)).toEqual(ratingsBefore);

    // The bound counts characters (code points), as PostgreSQL does, not UTF-16 units.
    const longest = '🎬'.repeat(256);
    const made = await call(UPSERT, { externalId: longest }, writeKey);
    expect(made.errors).toBeUndefined();
    expect(made.data.upsertUser.externalId).toBe(longest);
    expect(codeOf(await call(UPSERT, { externalId: `${longest}x` }, writeKey))).toBe('BAD_USER_INPUT');
  });

  it('keeps an end-user token acting only for its own user', async () => {
    const mine = await call(RATE, { movieId: 2, rating: 3, userId: alice.id }, alice.token);
    expect(mine.errors).toBeUndefined();
    const implicit = await call(RATE, { movieId: 3, rating: 3 }, alice.token);
    expect(implicit.errors).toBeUndefined();
    const before = await db.dataSource.query(`SELECT count(*) AS n FROM ratings`);
    // Another user, by id or external id, existing or not, public or private: FORBIDDEN alike.
    for (const selector of [
      { userId: bob.id },
      { userId: 1 },
      { userId: 999_999 },
      { externalId: 'shop/customer:42' },
      { externalId: 'nobody-has-this' },
    ])
      expect(codeOf(await call(RATE, { movieId: 5, rating: 1, ...selector }, alice.token))).toBe('FORBIDDEN');
    expect(codeOf(await call(ROTATE, { userId: bob.id }, alice.token))).toBe('FORBIDDEN');
    expect(codeOf(await call(REVOKE, { userId: bob.id }, alice.token))).toBe('FORBIDDEN');
    expect(await db.dataSource.query(`SELECT count(*) AS n FROM ratings`)).toEqual(before);
    // Reading: itself and the public profiles; private users read as unknown ones.
    expect((await call(RECOMMEND, { userId: alice.id }, alice.token)).errors).toBeUndefined();
    expect((await call(RECOMMEND, { userId: 1 }, alice.token)).errors).toBeUndefined();
    expect(codeOf(await call(RECOMMEND, { userId: bob.id }, alice.token))).toBe('NOT_FOUND');
    expect(codeOf(await call(RECOMMEND, { externalId: 'shop/customer:42' }, alice.token))).toBe('NOT_FOUND');
    expect(codeOf(await call(RATE, { movieId: 5, rating: 1 }))).toBe('UNAUTHENTICATED');
  });

  it('rotates and revokes end-user tokens: the old token fails at once, the user stays private', async () => {
    const carol = await onboard(4);
    const rotated = await call(ROTATE, {}, carol.token);
    expect(rotated.errors).toBeUndefined();
    const next = rotated.data.rotateToken.token as string;
    expect(next).toMatch(/^cg_/);
    expect(next).not.toBe(carol.token);
    expect(rotated.data.rotateToken.user).toEqual({ id: carol.id });
    expect(codeOf(await call(ME, {}, carol.token))).toBe('UNAUTHENTICATED');
    expect((await call(ME, {}, next)).data).toEqual({ me: { id: carol.id } });

    const revoked = await call(REVOKE, {}, next);
    expect(revoked.data).toEqual({ revokeToken: true });
    expect(codeOf(await call(ME, {}, next))).toBe('UNAUTHENTICATED');
    expect(codeOf(await call(RATE, { movieId: 5, rating: 2 }, next))).toBe('UNAUTHENTICATED');
    // Without a token the user is still private (privacy is not "has a token").
    expect((await call(USER, { id: carol.id })).data).toEqual({ user: null });
    expect((await call(USER, { id: carol.id }, readKey)).data.user.id).toBe(carol.id);

    // A write key hands a user it created a token (for a web app), and can take it back.
    const issued = await call(ROTATE, { externalId: 'shop/customer:42' }, writeKey);
    expect(issued.errors).toBeUndefined();
    const shopUser = issued.data.rotateToken.user.id;
    expect((await call(ME, {}, issued.data.rotateToken.token)).data).toEqual({ me: { id: shopUser } });
    expect((await call(REVOKE, { userId: shopUser }, writeKey)).data).toEqual({ revokeToken: true });
    expect((await call(REVOKE, { userId: shopUser }, writeKey)).data).toEqual({ revokeToken: false });
    expect(codeOf(await call(ME, {}, issued.data.rotateToken.token))).toBe('UNAUTHENTICATED');
    // Demo profiles are public and nobody's: no token for them.
    expect(codeOf(await call(ROTATE, { userId: 1 }, writeKey))).toBe('FORBIDDEN');
    expect(await db.dataSource.query(`SELECT token_hash FROM users WHERE id = 1`)).toEqual([
      { token_hash: null },
    ]);
  });

  it('fails a revoked, rotated-away or unknown key at once with UNAUTHENTICATED', async () => {
    const { secret } = await api.services.keys.create('short-lived', ['read']);
    expect((await call(RECOMMEND, { userId: alice.id }, secret)).errors).toBeUndefined();
    await api.services.keys.revoke('short-lived');
    const refused = await call(RECOMMEND, { userId: alice.id }, secret);
    expect(codeOf(refused)).toBe('UNAUTHENTICATED');
    expect(refused.data ?? null).toBeNull();
    expect(codeOf(await call(RECOMMEND, { userId: 1 }, secret))).toBe('UNAUTHENTICATED');

    const old = (await api.services.keys.create('rotating', ['read'])).secret;
    expect((await call(RECOMMEND, { userId: alice.id }, old)).errors).toBeUndefined();
    const fresh = await api.services.keys.rotate('rotating');
    expect(fresh.key.scopes).toEqual(['read']);
    expect(codeOf(await call(RECOMMEND, { userId: alice.id }, old))).toBe('UNAUTHENTICATED');
    expect((await call(RECOMMEND, { userId: alice.id }, fresh.secret)).errors).toBeUndefined();

    expect(codeOf(await call(RECOMMEND, { userId: 1 }, `cgk_${'A'.repeat(43)}`))).toBe('UNAUTHENTICATED');
    expect(codeOf(await call(RECOMMEND, { userId: 1 }, 'not-a-credential'))).toBe('UNAUTHENTICATED');
  });

  it('rate-limits a live key under a bucket of its own, an unknown or revoked one under the address', async () => {
    const { key, secret } = await api.services.keys.create('limited', ['read']);
    expect(await rateLimitIdentity(api.services.users, secret)).toBe(`key:${key.id}`);
    expect(await rateLimitIdentity(api.services.users, alice.token)).toBe(`user:${alice.id}`);
    await api.services.keys.revoke(String(key.id));
    expect(await rateLimitIdentity(api.services.users, secret)).toBeNull();
    expect(await rateLimitIdentity(api.services.users, `cgk_${'B'.repeat(43)}`)).toBeNull();
  });

  it('looks a live key up once while it is remembered, not once per request', async () => {
    const { secret } = await api.services.keys.create('busy', ['read']);
    const statements = await recordStatements(db.dataSource, async () => {
      for (let i = 0; i < 5; i++)
        expect((await call(RECOMMEND, { userId: 1 }, secret)).errors).toBeUndefined();
    });
    expect(statements.filter((sql) => /FROM service_keys/.test(sql))).toHaveLength(1);
  });
});
