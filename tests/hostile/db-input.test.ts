import { graphql } from '../helpers/api';
import { FullStack, startFullStack } from '../helpers/full-stack';
import { answersPromptly, codeOf, expectRefused, writableState } from '../helpers/db-hostile';

const MOVIES = `query ($filter: MovieFilterInput, $after: String) {
  movies(filter: $filter, after: $after, first: 5) { edges { node { id } } }
}`;
const TRENDING = `query ($genre: String, $windowDays: Int, $halfLifeDays: Float) {
  trending(genre: $genre, windowDays: $windowDays, halfLifeDays: $halfLifeDays, first: 5) { movie { id } score }
}`;
const SEARCH = `query ($genres: [String!]) { search(query: "space adventure", genres: $genres, first: 5) { movie { id } } }`;
const RECOMMEND = `query ($userId: Int!, $genres: [String!]) {
  recommendations(userId: $userId, genres: $genres, first: 5) { movie { id } }
}`;
const ONBOARD = `mutation ($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { token user { id } } }`;
const USER = `query ($id: Int!) { user(id: $id) { id ratingsCount } }`;
const USER_RATINGS = `query ($id: Int!, $after: String) { user(id: $id) { ratings(first: 2, after: $after) { edges { node { rating } } } } }`;

const cursor = (text: string) => Buffer.from(text).toString('base64url');

describe('hostile input against the database layer', () => {
  let stack: FullStack;
  let url: string;

  beforeAll(async () => {
    stack = await startFullStack();
    url = stack.api.url;
  });

  afterAll(async () => {
    await stack.stop();
  });

  const genre = () => stack.catalog.movies[0].genres[0];

  it('answers NUL bytes in genre and title filters with BAD_USER_INPUT', async () => {
    const db = stack.db.dataSource;
    await expectRefused(
      db,
      url,
      { query: MOVIES, variables: { filter: { genre: `${genre()}\u0000` } } },
      'BAD_USER_INPUT',
    );
    await expectRefused(
      db,
      url,
      { query: MOVIES, variables: { filter: { titleContains: 'a\u0000b' } } },
      'BAD_USER_INPUT',
    );
    await expectRefused(db, url, { query: TRENDING, variables: { genre: '\u0000' } }, 'BAD_USER_INPUT');
    await expectRefused(db, url, { query: SEARCH, variables: { genres: [`x\u0000`] } }, 'BAD_USER_INPUT');
    await expectRefused(
      db,
      url,
      { query: RECOMMEND, variables: { userId: 4, genres: ['\u0000'] } },
      'BAD_USER_INPUT',
    );
  });

  it('answers cursors holding ids beyond 32 bits with BAD_USER_INPUT', async () => {
    const db = stack.db.dataSource;
    await expectRefused(
      db,
      url,
      { query: MOVIES, variables: { after: cursor('movie:4294967297') } },
      'BAD_USER_INPUT',
    );
    await expectRefused(
      db,
      url,
      { query: MOVIES, variables: { after: cursor(`movie:${'9'.repeat(40)}`) } },
      'BAD_USER_INPUT',
    );
    await expectRefused(
      db,
      url,
      {
        query: USER_RATINGS,
        variables: { id: 4, after: cursor('rating:2020-01-01T00:00:00.000Z:2147483648') },
      },
      'BAD_USER_INPUT',
    );
    // A date JavaScript accepts but timestamptz cannot hold.
    await expectRefused(
      db,
      url,
      { query: USER_RATINGS, variables: { id: 4, after: cursor('rating:-200000-01-01T00:00:00.000Z:5') } },
      'BAD_USER_INPUT',
    );
    // The largest id that fits still works: the limit is the column type, not a guess.
    const edge = await graphql<any>(url, MOVIES, { after: cursor('movie:2147483647') });
    expect(edge.errors).toBeUndefined();
    expect(edge.data.movies.edges).toEqual([]);
  });

  it('refuses onboard with no ratings and creates no user', async () => {
    await expectRefused(
      stack.db.dataSource,
      url,
      { query: ONBOARD, variables: { ratings: [] } },
      'BAD_USER_INPUT',
    );
  });

  it('answers an unknown user id and another user’s private id the same way', async () => {
    const first = stack.catalog.movies.slice(0, 5).map((m) => ({ movieId: m.movieId, rating: 4 }));
    const owner = await graphql<any>(url, ONBOARD, { ratings: first });
    const other = await graphql<any>(url, ONBOARD, { ratings: first });
    const privateId: number = owner.data.onboard.user.id;
    const [{ next }] = await stack.db.dataSource.query(`SELECT max(id) + 1000 AS next FROM users`);
    const unknownId = Number(next);
    const asStranger = { authorization: `Bearer ${other.data.onboard.token}` };
    const shape = (r: any) =>
      JSON.stringify(r).replaceAll(String(privateId), 'N').replaceAll(String(unknownId), 'N');

    for (const headers of [{}, asStranger]) {
      const known = await graphql<any>(url, USER, { id: privateId }, headers);
      const unknown = await graphql<any>(url, USER, { id: unknownId }, headers);
      expect(shape(known)).toEqual(shape(unknown));
      const knownRecs = await graphql<any>(url, RECOMMEND, { userId: privateId }, headers);
      const unknownRecs = await graphql<any>(url, RECOMMEND, { userId: unknownId }, headers);
      expect(shape(knownRecs)).toEqual(shape(unknownRecs));
      expect(codeOf(knownRecs)).toBe('NOT_FOUND');
    }
    // The owner still reads their own data.
    const own = await graphql<any>(
      url,
      USER,
      { id: privateId },
      { authorization: `Bearer ${owner.data.onboard.token}` },
    );
    expect(own.data.user).toEqual({ id: privateId, ratingsCount: 5 });
  });

  it('weights trending by a half-life far shorter than the window without underflowing', async () => {
    const before = await writableState(stack.db.dataSource);
    const result = await graphql<any>(url, TRENDING, { windowDays: 3650, halfLifeDays: 1 });
    expect(result.errors).toBeUndefined();
    expect(result.data.trending.length).toBeGreaterThan(0);
    for (const item of result.data.trending) expect(Number.isFinite(item.score)).toBe(true);
    expect(await writableState(stack.db.dataSource)).toEqual(before);
    expect(await answersPromptly(url)).toBe(true);
  });

  it('answers a full disk on write (SQLSTATE 53100) with a retryable SERVICE_UNAVAILABLE, nothing written', async () => {
    const db = stack.db.dataSource;
    const owner = await graphql<any>(url, ONBOARD, {
      ratings: stack.catalog.movies.slice(0, 5).map((m) => ({ movieId: m.movieId, rating: 3 })),
    });
    const headers = { authorization: `Bearer ${owner.data.onboard.token}` };
    // What PostgreSQL raises when it cannot extend a file; raised by a trigger here, since filling the
    // shared test disk is not an option.
    await db.query(`
      CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$`);
    await db.query(
      `CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON ratings FOR EACH ROW EXECUTE FUNCTION disk_full()`,
    );
    try {
      const response = await expectRefused(
        db,
        url,
        {
          query: `mutation ($movieId: Int!) { rate(movieId: $movieId, rating: 4.5) { rating } }`,
          variables: { movieId: stack.catalog.movies[10].movieId },
          headers,
        },
        'SERVICE_UNAVAILABLE',
      );
      expect(response.errors?.[0]?.extensions).toMatchObject({ retryable: true });
      await expectRefused(
        db,
        url,
        { query: ONBOARD, variables: { ratings: [{ movieId: stack.catalog.movies[3].movieId, rating: 4 }] } },
        'SERVICE_UNAVAILABLE',
      );
    } finally {
      await db.query(`DROP TRIGGER disk_full ON ratings; DROP FUNCTION disk_full()`);
    }
  });
});
