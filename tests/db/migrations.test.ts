import { createTestDatabase, TestDatabase } from '../helpers/database';

describe('migrations on the local Postgres', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('creates the catalog tables in the test schema', async () => {
    const rows: { table_name: string }[] = await db.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [db.schema],
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['movies', 'ratings', 'tags', 'users']),
    );
  });

  it('rejects ratings off the half-star scale and duplicate (user, movie) pairs', async () => {
    await db.dataSource.query(`INSERT INTO users (id) VALUES (1)`);
    await db.dataSource.query(`INSERT INTO movies (id, title) VALUES (1, 'Heat')`);
    await expect(
      db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES (1, 1, 4.25)`),
    ).rejects.toThrow(/check constraint/);
    await expect(
      db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES (1, 1, 5.5)`),
    ).rejects.toThrow(/check constraint/);
    await db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES (1, 1, 4.5)`);
    await expect(
      db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES (1, 1, 3)`),
    ).rejects.toThrow(/duplicate key/);
  });

  it('has the vector type available', async () => {
    const [row] = await db.dataSource.query(`SELECT '[1,2,3]'::vector <=> '[1,2,3]'::vector AS distance`);
    expect(Number(row.distance)).toBe(0);
  });
});
