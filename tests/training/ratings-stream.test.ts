import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importRelease } from '../../src/data/importer';
import { generateRelease } from '../../src/data/synthetic-release';
import { datasetFromRows, distinctSorted } from '../../training/dataset';
import { loadRatingsDataset } from '../../training/ratings-stream';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

describe('loadRatingsDataset', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-ratings-stream-'));
    await generateRelease({ shape: 'ml-latest-small', scale: 0.05, seed: 2, out: dir });
    await importRelease(db.dataSource, dir);
  });

  afterAll(async () => {
    await db.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reads the table in batches into the dataset that all rows at once gave, catalog movies included', async () => {
    const progress: number[] = [];
    const streamed = await loadRatingsDataset(db.dataSource, {
      batchRows: 997,
      onProgress: (p) => progress.push(p.rows),
    });
    const rows: { user_id: number; movie_id: number; rating: number; ts: number }[] =
      await db.dataSource.query(
        `SELECT user_id, movie_id, rating, extract(epoch FROM rated_at)::float8 AS ts FROM ratings ORDER BY user_id, movie_id`,
      );
    const catalog: { id: number }[] = await db.dataSource.query(`SELECT id FROM movies`);
    const expected = datasetFromRows(
      rows.map((r) => ({ userId: r.user_id, movieId: r.movie_id, rating: r.rating, timestamp: r.ts })),
      {
        userIds: distinctSorted(rows.map((r) => r.user_id)),
        itemIds: distinctSorted([...rows.map((r) => r.movie_id), ...catalog.map((m) => m.id)]),
      },
    );
    expect(streamed.size).toBe(rows.length);
    expect(progress.length).toBe(Math.ceil(rows.length / 997));
    expect(progress[progress.length - 1]).toBe(rows.length);
    expect(Array.from(streamed.userIds)).toEqual(Array.from(expected.userIds));
    expect(Array.from(streamed.itemIds)).toEqual(Array.from(expected.itemIds));
    expect(streamed.numItems).toBeGreaterThan(new Set(rows.map((r) => r.movie_id)).size);
    expect(Buffer.from(streamed.users.slice().buffer).equals(Buffer.from(expected.users.buffer))).toBe(true);
    expect(Buffer.from(streamed.items.slice().buffer).equals(Buffer.from(expected.items.buffer))).toBe(true);
    expect(Buffer.from(streamed.ratings.slice().buffer).equals(Buffer.from(expected.ratings.buffer))).toBe(
      true,
    );
    expect(
      Buffer.from(streamed.timestamps.slice().buffer).equals(Buffer.from(expected.timestamps.buffer)),
    ).toBe(true);
  });

  it('says so when there is nothing to train on', async () => {
    const empty = await createTestDatabase();
    try {
      await expect(loadRatingsDataset(empty.dataSource)).rejects.toThrow(/ratings table is empty/);
    } finally {
      await empty.drop();
    }
  });
});
