import { RunningServer } from '../../src/server';
import { createTestDatabase, recordStatements, TestDatabase } from '../helpers/database';
import { graphql, startTestApi } from '../helpers/api';

describe('movie queries', () => {
  let db: TestDatabase;
  let api: RunningServer;

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(`INSERT INTO users (id) SELECT generate_series(1, 3)`);
    await db.dataSource.query(`
      INSERT INTO movies (id, title, year, genres) VALUES
        (1, 'Toy Story', 1995, '{Animation,Comedy}'), (2, 'Heat', 1995, '{Action,Crime}'),
        (3, 'American President, The', 1995, '{Comedy,Drama,Romance}'), (4, 'Clueless', 1995, '{Comedy}'),
        (5, 'Sabrina', 1995, '{Comedy,Romance}'), (6, 'Alien', 1979, '{Horror,Sci-Fi}'),
        (7, '100% Love', 2001, '{Comedy}')`);
    await db.dataSource.query(`
      INSERT INTO ratings (user_id, movie_id, rating) VALUES
        (1, 1, 4), (2, 1, 5), (3, 1, 3), (1, 2, 5), (2, 4, 2.5), (1, 6, 4.5)`);
    api = await startTestApi(db.dataSource);
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  it('pages through a genre with opaque cursors', async () => {
    const query = `query ($after: String) {
      movies(first: 2, after: $after, filter: { genre: "Comedy" }) {
        edges { cursor node { id title year genres } }
        pageInfo { hasNextPage endCursor }
      }
    }`;
    const first = await graphql<any>(api.url, query);
    expect(first.errors).toBeUndefined();
    expect(first.data.movies.edges.map((e: any) => e.node.id)).toEqual([1, 3]);
    expect(first.data.movies.pageInfo.hasNextPage).toBe(true);
    const second = await graphql<any>(api.url, query, { after: first.data.movies.pageInfo.endCursor });
    expect(second.data.movies.edges.map((e: any) => e.node.id)).toEqual([4, 5]);
    const third = await graphql<any>(api.url, query, { after: second.data.movies.pageInfo.endCursor });
    expect(third.data.movies.edges.map((e: any) => e.node.id)).toEqual([7]);
    expect(third.data.movies.pageInfo).toEqual({
      hasNextPage: false,
      endCursor: third.data.movies.edges[0].cursor,
    });
  });

  it('filters by year range and title, treating LIKE wildcards literally', async () => {
    const result = await graphql<any>(
      api.url,
      `
        {
          a: movies(filter: { yearFrom: 1979, yearTo: 1990 }) {
            edges {
              node {
                title
              }
            }
          }
          b: movies(filter: { titleContains: "100%" }) {
            edges {
              node {
                title
              }
            }
          }
          c: movies(filter: { titleContains: "president" }) {
            edges {
              node {
                title
              }
            }
          }
        }
      `,
    );
    expect(result.data.a.edges.map((e: any) => e.node.title)).toEqual(['Alien']);
    expect(result.data.b.edges.map((e: any) => e.node.title)).toEqual(['100% Love']);
    expect(result.data.c.edges.map((e: any) => e.node.title)).toEqual(['American President, The']);
  });

  it('answers rating statistics and null for unknown movies', async () => {
    const result = await graphql<any>(
      api.url,
      `
        {
          toy: movie(id: 1) {
            title
            ratingsCount
            averageRating
          }
          sabrina: movie(id: 5) {
            ratingsCount
            averageRating
          }
          missing: movie(id: 999) {
            title
          }
        }
      `,
    );
    expect(result.data).toEqual({
      toy: { title: 'Toy Story', ratingsCount: 3, averageRating: 4 },
      sabrina: { ratingsCount: 0, averageRating: null },
      missing: null,
    });
  });

  it('rejects bad arguments with BAD_USER_INPUT', async () => {
    const tooMany = await graphql(
      api.url,
      `
        {
          movies(first: 101) {
            edges {
              cursor
            }
          }
        }
      `,
    );
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badCursor = await graphql(
      api.url,
      `
        {
          movies(after: "nonsense") {
            edges {
              cursor
            }
          }
        }
      `,
    );
    expect(badCursor.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badYear = await graphql(
      api.url,
      `
        {
          movies(filter: { yearFrom: 3000 }) {
            edges {
              cursor
            }
          }
        }
      `,
    );
    expect(badYear.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('batches rating statistics: one SQL statement for a whole page', async () => {
    const statements = await recordStatements(db.dataSource, async () => {
      const result = await graphql<any>(
        api.url,
        `
          {
            movies(first: 7) {
              edges {
                node {
                  id
                  ratingsCount
                  averageRating
                }
              }
            }
          }
        `,
      );
      expect(result.data.movies.edges).toHaveLength(7);
    });
    const ratingQueries = statements.filter((s) => /FROM (ratings|movie_rating_stats)\b/.test(s));
    expect(ratingQueries).toHaveLength(1);
    expect(statements.filter((s) => /FROM movies/.test(s))).toHaveLength(1);
  });
});
