import { warnWithoutAutovacuum } from '../../src/db/maintenance-check';
import { createTestDatabase, TestDatabase } from '../helpers/database';

function recordingLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (message: string) => void warnings.push(message) } };
}

describe('the autovacuum check at start', () => {
  it('warns, naming the tables to vacuum, when autovacuum is off', async () => {
    const { warnings, logger } = recordingLogger();
    expect(await warnWithoutAutovacuum(async () => [{ setting: 'off' }], logger)).toBe(true);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/autovacuum off/);
    expect(warnings[0]).toMatch(/ratings, movie_rating_stats and users/);
  });

  it('says nothing when it is on, unknown, or the setting cannot be read', async () => {
    for (const query of [
      async () => [{ setting: 'on' }],
      async () => [{ setting: null }],
      async () => {
        throw new Error('permission denied');
      },
    ]) {
      const { warnings, logger } = recordingLogger();
      expect(await warnWithoutAutovacuum(query, logger)).toBe(false);
      expect(warnings).toEqual([]);
    }
  });

  describe('on PostgreSQL', () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(1);
    });
    afterAll(async () => db?.drop());

    it('reads the server’s own setting', async () => {
      const [{ autovacuum }] = await db.dataSource.query('SHOW autovacuum');
      const { warnings, logger } = recordingLogger();
      expect(await warnWithoutAutovacuum((sql) => db.dataSource.query(sql), logger)).toBe(
        autovacuum === 'off',
      );
      expect(warnings).toHaveLength(autovacuum === 'off' ? 1 : 0);
    });
  });
});
