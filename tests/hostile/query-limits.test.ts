import { getIntrospectionQuery } from 'graphql';
import { TestApi, startTestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { fragmentBomb } from '../../fixtures/hostile-queries';
import { postQuery, whileProbingLiveness } from './hostile-helpers';

/**
 * "Promptly" for another client while a hostile request is refused. Generous on purpose (the
 * machine is shared); what it catches is an event loop blocked for seconds, as the exponential
 * fragment walk did. The figure itself comes from `npm run bench:hostile`.
 */
const PROMPT_MS = 1000;

describe('hostile queries are refused by the query limits, cheaply', () => {
  let db: TestDatabase;
  let api: TestApi;
  let base: string;

  const userCount = async () =>
    Number((await db.dataSource.query(`SELECT count(*)::int AS n FROM users`))[0].n);

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES (1, 'Heat', 1995, '{Action}'), (2, 'Fargo', 1996, '{Crime}')`,
    );
    api = await startTestApi(db.dataSource);
    base = api.url.replace(/\/graphql$/, '');
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  it('answers GET /livez with 200 {"status":"ok"}', async () => {
    const response = await fetch(`${base}/livez`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('refuses the nested-fragment bomb of issue 11 in linear time while /livez keeps answering', async () => {
    const { result, slowestLivezMs, livezStatuses } = await whileProbingLiveness(base, () =>
      postQuery(api.url, fragmentBomb(8, 10)),
    );
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
    expect(livezStatuses.every((s) => s === 200)).toBe(true);
    expect(slowestLivezMs).toBeLessThan(PROMPT_MS);
  });

  it('refuses 10 levels of 10 spreads (minutes of CPU before) by cost, promptly', async () => {
    const { result, slowestLivezMs } = await whileProbingLiveness(base, () =>
      postQuery(api.url, fragmentBomb(10, 10)),
    );
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'cost' });
    expect(slowestLivezMs).toBeLessThan(PROMPT_MS);
  });

  it('refuses 610 aliased recommendations fields by the alias cap', async () => {
    const fields = Array.from(
      { length: 610 },
      (_, i) => `r${i}: recommendations(userId: ${i + 1}, first: 1) { movie { id } }`,
    );
    const query = `{ ${fields.join(' ')} }`;
    const result = await postQuery(api.url, query);
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
    expect(result.json.data).toBeUndefined();
  });

  it('refuses 100 aliased onboard mutations before any of them runs: nothing is written', async () => {
    const before = await userCount();
    const fields = Array.from(
      { length: 100 },
      (_, i) => `u${i}: onboard(ratings: [{ movieId: 1, rating: 4 }]) { token }`,
    );
    const result = await postQuery(api.url, `mutation { ${fields.join(' ')} }`);
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'aliases' });
    expect(await userCount()).toBe(before);
  });

  it('refuses a query over the token cap before parsing it', async () => {
    const query = `{ search(query: "x", genres: [${'"Drama" '.repeat(1500)}]) { score } }`;
    const result = await postQuery(api.url, query);
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'tokens' });
  });

  it('refuses one field repeated past the cap in a selection (quadratic validation) before validating', async () => {
    const repeated = Array(40).fill('similar(first: 100) { score }').join(' ');
    const result = await postQuery(api.url, `{ movie(id: 1) { ${repeated} } }`);
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions).toMatchObject({
      code: 'QUERY_TOO_COMPLEX',
      limit: 'repeatedField',
    });
    // A name repeated a few times, also through aliases and inline fragments, is fine.
    const fine = await postQuery(
      api.url,
      `{ movie(id: 1) { id id __typename ... on Movie { id title } t: title } }`,
    );
    expect(fine.json.errors).toBeUndefined();
  });

  it('refuses deep syntactic nesting (input objects) before parsing it', async () => {
    const depth = 5000;
    const value = '{ genre: '.repeat(depth) + '"x"' + ' }'.repeat(depth);
    const result = await postQuery(api.url, `{ movies(filter: ${value}) { pageInfo { hasNextPage } } }`);
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'nesting' });
  });

  it('refuses too many fragment definitions', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `G${i}`);
    const query =
      `{ movie(id: 1) { ${names.map((n) => `...${n}`).join(' ')} } } ` +
      names.map((n) => `fragment ${n} on Movie { id }`).join(' ');
    const result = await postQuery(api.url, query);
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'fragments' });
  });

  it('lets the standard introspection query (depth 15) through under the default limits', async () => {
    const result = await postQuery(api.url, getIntrospectionQuery({ descriptions: true }));
    expect(result.json.errors).toBeUndefined();
    const types: { name: string }[] = result.json.data.__schema.types;
    expect(types.map((t) => t.name)).toContain('Movie');
  });

  it('measures a field merely aliased __schema or __type like any other (the graphql-armor bypass)', async () => {
    let nested = '{ score }';
    for (let i = 0; i < 8; i++) nested = `{ movie { similar(first: 1) ${nested} } }`;
    const aliased = await postQuery(
      api.url,
      `{ __schema: movie(id: 1) { similar(first: 1) ${nested} } __type: movie(id: 2) { id } }`,
    );
    expect(aliased.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' });
    // Genuine root introspection spread in through a fragment stays exempt; real fields beside it are not.
    const spread = await postQuery(
      api.url,
      `query { ...Root movie(id: 1) { similar(first: 1) ${nested} } }
       fragment Root on Query { __schema { types { name } } }`,
    );
    expect(spread.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'depth' });
  });

  it('still refuses recursive introspection (graphql-js MaxIntrospectionDepthRule)', async () => {
    const result = await postQuery(
      api.url,
      `{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }`,
    );
    expect(result.status).toBe(400);
    expect(result.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
