import { storedModelsOfShape } from '../../../fixtures/stored-models';
import { FACTOR_BLOCK_BYTES } from '../../../src/engines/collaborative/factor-blocks';
import { ModelStore, type StoredModels } from '../../../src/engines/collaborative/model-store';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { factorsOf } from '../../helpers/top-n';

/** A model with enough users that its user factors span several 8 MiB blocks (user ids 1, 3, 5, …). */
function models(users: number, items: number, k: number, rank: number): StoredModels {
  return storedModelsOfShape({
    users,
    items,
    k,
    rank,
    value: (n, seed) => Math.fround(Math.sin(n * 12.9898 + seed) * 0.7),
    userId: (u) => u * 2 + 1,
  });
}

describe('ModelStore factors as binary blocks', () => {
  let db: TestDatabase;
  let store: ModelStore;

  beforeAll(async () => {
    db = await createTestDatabase();
    store = new ModelStore(db.dataSource);
    // Folded-in factors belong to users (a key with ON DELETE CASCADE); trained ones need no row.
    await db.dataSource.query(`INSERT INTO users (id) VALUES (3), (4), (7)`);
  });

  afterAll(async () => {
    await db.drop();
  });

  it('writes bytea blocks and reads them back bit for bit, with folded-in users on top', async () => {
    const k = 64;
    const users = Math.ceil((1.2 * FACTOR_BLOCK_BYTES) / (4 * k));
    const saved = models(users, 300, k, 16);
    const id = await store.save(saved);
    await store.activate(id);
    const [{ blocks }] = await db.dataSource.query(
      `SELECT count(*)::int AS blocks FROM model_factor_blocks WHERE model_id = $1 AND part = 'user_factors'`,
      [id],
    );
    expect(blocks).toBe(2);
    const [{ rows }] = await db.dataSource.query(
      `SELECT (SELECT count(*) FROM model_item_factors) + (SELECT count(*) FROM model_user_factors) AS rows`,
    );
    expect(Number(rows)).toBe(0);

    const loaded = (await store.loadActive())!;
    // Byte comparisons: jest's deep equality walks millions of elements one by one.
    const same = (a: ArrayBufferView, b: ArrayBufferView) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
        Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      );
    expect(same(loaded.biased.userFactors, saved.biased.userFactors)).toBe(true);
    expect(same(loaded.biased.itemFactors, saved.biased.itemFactors)).toBe(true);
    expect(same(loaded.biased.userBias, saved.biased.userBias)).toBe(true);
    expect(same(loaded.biased.userIds, saved.biased.userIds)).toBe(true);
    expect(same(factorsOf(loaded.topN), factorsOf(saved.topN))).toBe(true);

    // One trained user folded in again, one user new to the model.
    const refit = new Float32Array(k).fill(0.25);
    await store.saveUserFactors(id, 3, 0.5, refit);
    await store.saveUserFactors(id, 4, -0.5, refit);
    const withFolded = (await store.loadActive())!;
    expect(withFolded.biased.userIds.length).toBe(users + 1);
    expect(withFolded.biased.userBias[1]).toBe(0.5);
    expect(Array.from(withFolded.biased.userFactors.subarray(k, 2 * k))).toEqual(Array.from(refit));
    expect(withFolded.biased.userIds[users]).toBe(4);
    expect(Array.from(withFolded.biased.userFactors.subarray(users * k))).toEqual(Array.from(refit));
    expect(
      same(
        withFolded.biased.userFactors.subarray(2 * k, users * k),
        saved.biased.userFactors.subarray(2 * k),
      ),
    ).toBe(true);
  });

  it('forgets a deleted user’s folded-in factors with the user', async () => {
    const id = await store.save(models(4, 10, 2, 1));
    await store.activate(id);
    await db.dataSource.query(`INSERT INTO users (id) VALUES (20), (21)`);
    await store.saveUserFactors(id, 20, 0.5, new Float32Array([1, 2]));
    await store.saveUserFactors(id, 21, -0.5, new Float32Array([3, 4]));
    await db.dataSource.query(`DELETE FROM users WHERE id = 20`);
    const left = await db.dataSource.query(
      `SELECT user_id FROM model_user_factors WHERE model_id = $1 ORDER BY user_id`,
      [id],
    );
    expect(left).toEqual([{ user_id: 21 }]);
    const loaded = (await store.loadActive())!;
    expect(Array.from(loaded.biased.userIds.subarray(4))).toEqual([21]);
    await expect(store.saveUserFactors(id, 99, 0, new Float32Array([0, 0]))).rejects.toThrow(/foreign key/);
  });

  it('still reads a version stored as real[] rows before the binary blocks', async () => {
    const [{ id }] = await db.dataSource.query(
      `INSERT INTO model_versions (status, hyperparameters, metrics, params)
       VALUES ('ready', '{}', '{}', $1) RETURNING id`,
      [
        JSON.stringify({
          mu: 3.6,
          k: 2,
          rank: 1,
          encoding: 'rating',
          ratingScale: { min: 0.5, max: 5 },
          regBias: 0.02,
          regFactor: 0.05,
          regExponent: 0,
        }),
      ],
    );
    await db.dataSource.query(
      `INSERT INTO model_item_factors (model_id, movie_id, bias, factors, topn_factors)
       VALUES ($1, 10, 0.25, '{0.5,-1}', '{2}'), ($1, 11, -0.25, '{1,1}', '{0}')`,
      [id],
    );
    await db.dataSource.query(
      `INSERT INTO model_user_factors (model_id, user_id, bias, factors) VALUES ($1, 7, 0.125, '{0.75,0.5}')`,
      [id],
    );
    await store.activate(id);
    const loaded = (await store.loadActive())!;
    expect(Array.from(loaded.biased.itemIds)).toEqual([10, 11]);
    expect(Array.from(loaded.biased.itemFactors)).toEqual([0.5, -1, 1, 1]);
    expect(Array.from(factorsOf(loaded.topN))).toEqual([2, 0]);
    expect(Array.from(loaded.biased.userIds)).toEqual([7]);
    expect(Array.from(loaded.biased.userFactors)).toEqual([0.75, 0.5]);
    expect(loaded.biased.mu).toBe(3.6);
  });
});
