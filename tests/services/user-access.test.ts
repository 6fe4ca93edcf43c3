import { RatingService } from '../../src/services/rating-service';
import { UserService } from '../../src/services/user-service';
import { createTestDatabase, recordStatements, type TestDatabase } from '../helpers/database';

describe('UserService.existing', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(2);
    await db.dataSource.query(`INSERT INTO users (id) VALUES (1), (2)`);
    await db.dataSource.query(`INSERT INTO users (id, is_private, external_id) VALUES (3, true, 'ext-3')`);
  });

  afterAll(async () => {
    await db.drop();
  });

  const fresh = () => new UserService(db.dataSource, new RatingService(db.dataSource));

  it('asks for one user by its own statement and for several by the array one, with the same answers', async () => {
    const single = fresh();
    const asked = await recordStatements(db.dataSource, async () => {
      for (const id of [1, 3, 99]) {
        const found = await single.existing([id]);
        expect([...found.keys()]).toEqual(id === 99 ? [] : [id]);
      }
    });
    expect(asked).toHaveLength(3);
    expect(asked.every((sql) => /WHERE id = \$1::int$/.test(sql))).toBe(true);

    const batch = fresh();
    let found = new Map();
    const askedOnce = await recordStatements(db.dataSource, async () => {
      found = await batch.existing([1, 3, 99]);
    });
    expect(askedOnce).toEqual([expect.stringMatching(/WHERE id = ANY\(\$1::int\[\]\)$/)]);
    expect(found).toEqual(
      new Map([
        [1, { id: 1, isPrivate: false, externalId: null }],
        [3, { id: 3, isPrivate: true, externalId: 'ext-3' }],
      ]),
    );
    expect(await single.existing([3])).toEqual(new Map([[3, found.get(3)]]));
    // Found users are remembered: no statement for them again.
    expect(await recordStatements(db.dataSource, () => batch.existing([1, 3]).then(() => undefined))).toEqual(
      [],
    );
  });
});
