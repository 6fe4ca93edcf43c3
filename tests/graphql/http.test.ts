import { serverAudits } from 'graphql-http';
import { RunningServer } from '../../src/server';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { graphql, startTestApi } from '../helpers/api';

describe('HTTP serving', () => {
  let db: TestDatabase;
  let api: RunningServer;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES (1, 'Heat', 1995, '{Action}')`,
    );
    api = await startTestApi(
      db.dataSource,
      {},
      {
        MAX_REQUEST_BYTES: '2000',
        MAX_QUERY_DEPTH: '5',
        MAX_QUERY_COST: '500',
      },
    );
    base = api.url.replace(/\/graphql$/, '');
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  describe('GraphQL over HTTP conformance (graphql-http audits)', () => {
    for (const audit of serverAudits({ url: () => api.url })) {
      const mandatory = audit.name.startsWith('MUST');
      (mandatory ? it : it.skip)(audit.name, async () => {
        const result = await audit.fn();
        if (result.status !== 'ok') throw new Error(`${result.status}: ${result.reason}`);
      });
    }
  });

  it('serves GraphiQL to browsers from local assets', async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="graphiql">');
    const scripts = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.every((s) => s.startsWith('/graphiql/'))).toBe(true);
    for (const asset of scripts) {
      const response = await fetch(`${base}${asset}`);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect((await fetch(`${base}/graphiql/../package.json`)).status).toBe(404);
  });

  it('answers /health', async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok' });
  });

  it('refuses bodies over the size limit with 413', async () => {
    const query = `{ movie(id: 1) { title } }`.padEnd(5000, ' ');
    const response = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    expect(response.status).toBe(413);
  });

  it('rejects queries over the depth and cost limits', async () => {
    const deep = await graphql(
      api.url,
      `
        {
          movies {
            edges {
              node {
                title
              }
            }
            pageInfo {
              hasNextPage
            }
          }
        }
      `,
    );
    expect(deep.errors).toBeUndefined();
    const tooDeep = await graphql(
      api.url,
      `
        {
          recommendations(userId: 1) {
            explanation {
              basedOn {
                title
              }
            }
            movie {
              title
            }
          }
          user(id: 1) {
            ratings {
              edges {
                node {
                  movie {
                    title
                  }
                }
              }
            }
          }
        }
      `,
    );
    expect(tooDeep.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(tooDeep.errors?.[0].message).toMatch(/depth 6 exceeds the limit of 5/);
    const tooCostly = await graphql(
      api.url,
      `
        {
          movies(first: 100) {
            edges {
              node {
                title
                year
                genres
                id
                overview
              }
            }
          }
        }
      `,
    );
    expect(tooCostly.errors?.[0].extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(tooCostly.errors?.[0].message).toMatch(/cost \d+ exceeds the limit of 500/);
  });

  it('masks internal errors: no stack trace or SQL reaches the client', async () => {
    await db.dataSource.query(`ALTER TABLE movies RENAME COLUMN overview TO overview_gone`);
    try {
      const response = await graphql(
        api.url,
        `
          {
            movies(first: 1) {
              edges {
                node {
                  title
                }
              }
            }
          }
        `,
      );
      expect(response.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      expect(JSON.stringify(response)).not.toMatch(/overview|SELECT|at \w+ \(/);
    } finally {
      await db.dataSource.query(`ALTER TABLE movies RENAME COLUMN overview_gone TO overview`);
    }
  });
});
