import { createRandom } from '../../fixtures/synthetic';
import { transactionWithRetry } from '../../src/db/transaction';
import { graphql } from '../helpers/api';
import { FullStack, startFullStack } from '../helpers/full-stack';
import { answersPromptly } from '../helpers/db-hostile';

const ONBOARD = `mutation ($ratings: [RatingInput!]!) { onboard(ratings: $ratings) { user { id } } }`;
const RATE = `mutation ($movieId: Int!, $rating: Float!) { rate(movieId: $movieId, rating: $rating) { rating } }`;

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

describe('concurrent rating writes', () => {
  let stack: FullStack;

  beforeAll(async () => {
    // A pool as large as the crowd, so the writes really overlap in the database.
    stack = await startFullStack({}, undefined, 20);
  });

  afterAll(async () => {
    await stack.stop();
  });

  const votes = async (movieIds: number[]): Promise<Map<number, number>> => {
    const rows: { movie_id: number; votes: number }[] = await stack.db.dataSource.query(
      `SELECT movie_id, votes FROM movie_rating_stats WHERE movie_id = ANY($1::int[])`,
      [movieIds],
    );
    return new Map(rows.map((r) => [r.movie_id, r.votes]));
  };

  it('lands 20 concurrent onboards of the same 60 movies in shuffled orders, each exactly once', async () => {
    const random = createRandom(7);
    const movieIds = stack.catalog.movies.slice(0, 60).map((m) => m.movieId);
    const before = await votes(movieIds);
    const crowd = Array.from({ length: 20 }, () =>
      shuffled(movieIds, random).map((movieId) => ({ movieId, rating: 0.5 + Math.floor(random() * 10) / 2 })),
    );
    const [results, prompt] = await Promise.all([
      Promise.all(crowd.map((ratings) => graphql<any>(stack.api.url, ONBOARD, { ratings }))),
      answersPromptly(stack.api.url),
    ]);
    expect(results.map((r) => r.errors?.[0]?.message ?? 'ok')).toEqual(crowd.map(() => 'ok'));
    expect(prompt).toBe(true);
    const after = await votes(movieIds);
    for (const movieId of movieIds) expect(after.get(movieId)).toBe((before.get(movieId) ?? 0) + 20);
    const userIds = results.map((r) => r.data.onboard.user.id as number);
    const [{ count }] = await stack.db.dataSource.query(
      `SELECT count(*)::int AS count FROM ratings WHERE user_id = ANY($1::int[])`,
      [userIds],
    );
    expect(count).toBe(20 * 60);
  });

  it('lands concurrent re-rates of overlapping movies by many users', async () => {
    const random = createRandom(8);
    const movieIds = stack.catalog.movies.slice(60, 90).map((m) => m.movieId);
    const users = await Promise.all(
      Array.from({ length: 10 }, () =>
        graphql<any>(
          stack.api.url,
          `
            mutation ($ratings: [RatingInput!]!) {
              onboard(ratings: $ratings) {
                token
              }
            }
          `,
          {
            ratings: shuffled(movieIds, random).map((movieId) => ({ movieId, rating: 3 })),
          },
        ),
      ),
    );
    const writes = users.flatMap((user) =>
      shuffled(movieIds, random)
        .slice(0, 10)
        .map((movieId) =>
          graphql<any>(
            stack.api.url,
            RATE,
            { movieId, rating: 5 },
            {
              authorization: `Bearer ${user.data.onboard.token}`,
            },
          ),
        ),
    );
    const results = await Promise.all(writes);
    expect(results.filter((r) => r.errors).map((r) => r.errors?.[0]?.message)).toEqual([]);
  });

  it('runs a deadlock victim or serialization failure again, a bounded number of times, from a clean slate', async () => {
    const db = stack.db.dataSource;
    const fail = (code: string) => Object.assign(new Error(`simulated ${code}`), { code });
    let attempts = 0;
    const userId = await transactionWithRetry(db, async (tx) => {
      attempts++;
      const [user] = await tx.query(`INSERT INTO users DEFAULT VALUES RETURNING id`);
      if (attempts === 1) throw fail('40P01');
      if (attempts === 2) throw fail('40001');
      return user.id as number;
    });
    expect(attempts).toBe(3);
    // The two failed attempts left nothing behind: only the third user exists.
    const [{ n }] = await db.query(`SELECT count(*)::int AS n FROM users WHERE id BETWEEN $1 - 2 AND $1`, [
      userId,
    ]);
    expect(n).toBe(1);

    attempts = 0;
    await expect(
      transactionWithRetry(db, async () => {
        attempts++;
        throw fail('40P01');
      }),
    ).rejects.toThrow('simulated 40P01');
    expect(attempts).toBe(4);

    attempts = 0;
    await expect(
      transactionWithRetry(db, async () => {
        attempts++;
        throw fail('23505');
      }),
    ).rejects.toThrow('simulated 23505');
    expect(attempts).toBe(1);
  });
});
