import { errorCode } from '../../src/db/errors';
import { queryNamed } from '../../src/db/prepared';
import { createTestDatabase, recordStatements, type TestDatabase } from '../helpers/database';

describe('named prepared statements', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    // One connection, so the statement prepared by one call is the one the next call runs.
    db = await createTestDatabase(1);
  });

  afterAll(async () => {
    await db.drop();
  });

  const SQUARES = {
    name: 'test_squares',
    text: `SELECT x, x * x AS square FROM unnest($1::int[]) AS x ORDER BY x`,
  };

  it('are prepared once per connection and answer each call with its own values', async () => {
    expect(await queryNamed(db.dataSource, SQUARES, [[3, 1, 2]])).toEqual([
      { x: 1, square: 1 },
      { x: 2, square: 4 },
      { x: 3, square: 9 },
    ]);
    expect(await queryNamed(db.dataSource, SQUARES, [[5]])).toEqual([{ x: 5, square: 25 }]);
    const prepared: { name: string; statement: string }[] = await db.dataSource.query(
      `SELECT name, statement FROM pg_prepared_statements WHERE name = $1`,
      [SQUARES.name],
    );
    expect(prepared).toEqual([{ name: SQUARES.name, statement: SQUARES.text }]);
  });

  it('are logged as every statement TypeORM sends is, and fail with the database error and its code', async () => {
    const statements = await recordStatements(db.dataSource, async () => {
      await queryNamed(db.dataSource, SQUARES, [[4]]);
    });
    expect(statements).toEqual([SQUARES.text]);
    const failing = { name: 'test_division', text: `SELECT 1 / $1::int AS quotient` };
    const error = await queryNamed(db.dataSource, failing, [0]).catch((caught: unknown) => caught);
    expect(errorCode(error)).toBe('22012');
    // The connection goes on serving.
    expect(await queryNamed(db.dataSource, failing, [2])).toEqual([{ quotient: 0 }]);
  });
});
