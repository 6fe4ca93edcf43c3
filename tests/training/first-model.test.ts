import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importRelease } from '../../src/data/importer';
import { generateRelease } from '../../src/data/synthetic-release';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { trainFirstModelInChild } from '../../training/first-model';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from '../helpers/database';

describe('the first model, trained in a child process', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-first-model-'));
    await generateRelease({ shape: 'ml-latest-small', scale: 0.03, seed: 4, out: dir });
    await importRelease(db.dataSource, dir);
  });

  afterAll(async () => {
    await db.drop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses a training whose estimated memory exceeds the budget, and says why', async () => {
    const training = trainFirstModelInChild({
      databaseUrl: TEST_DATABASE_URL,
      schema: db.schema,
      budgetMb: 1,
    });
    await expect(training.done).rejects.toThrow(/training needs about .* GiB, more than its budget/);
    expect(await new ModelStore(db.dataSource).activeVersionId()).toBeNull();
  });

  it('trains on the database, activates the model and reports what it did', async () => {
    const lines: string[] = [];
    const progress: number[] = [];
    const training = trainFirstModelInChild({
      databaseUrl: TEST_DATABASE_URL,
      schema: db.schema,
      onLine: (line) => lines.push(line),
      onProgress: (fraction) => progress.push(fraction),
    });
    const result = await training.done;
    const [{ n }] = await db.dataSource.query(`SELECT count(*)::int AS n FROM ratings`);
    expect(result.ratings).toBe(n);
    expect(result.maxRssBytes).toBeGreaterThan(10 * 2 ** 20);
    const active = await new ModelStore(db.dataSource).loadActive();
    expect(active?.biased.itemIds.length).toBeGreaterThan(0);
    expect(result.version).toBe(`model version ${active?.versionId}`);
    expect(result.versionId).toBe(active?.versionId);
    // Progress lines are the worker's, not log lines: they rise to the end of training.
    expect(progress.length).toBeGreaterThan(2);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    expect(progress[progress.length - 1]).toBe(0.95);
    expect(lines.some((line) => line.startsWith('training-progress'))).toBe(false);
  }, 120_000);

  it('ends with the reason when stopped', async () => {
    const training = trainFirstModelInChild({ databaseUrl: TEST_DATABASE_URL, schema: db.schema });
    training.stop();
    await expect(training.done).rejects.toThrow(/SIGTERM/);
  });
});
