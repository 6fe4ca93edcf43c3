import { randomUUID } from 'node:crypto';
import type { ServedList } from '../../src/orchestrator/orchestrator';
import { ListRecorder } from '../../src/services/list-recorder';
import { createTestDatabase, recordStatements, TestDatabase } from '../helpers/database';

function served(userId: number, movieIds: number[], extra: Partial<ServedList> = {}): ServedList {
  return {
    listId: randomUUID(),
    userId,
    strategyRequested: 'HYBRID',
    strategyUsed: 'STATISTICAL',
    experiment: null,
    variant: null,
    movieIds,
    servedAt: new Date('2026-12-04T12:00:00Z'),
    ...extra,
  };
}

describe('ListRecorder: served lists written in batches', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    await db.dataSource.query(`DELETE FROM recommendation_lists`);
  });

  it('writes nothing on record(), then every buffered list in one INSERT per batch, movie ids in rank order', async () => {
    const recorder = new ListRecorder(db.dataSource, {
      flushIntervalMs: 60_000,
      batchSize: 100,
      maxBuffered: 1000,
    });
    const lists = [
      served(1, [5, 3, 9]),
      served(2, [7], { experiment: 'exp', variant: 'b', strategyRequested: 'COLLABORATIVE' }),
      served(1, [1, 2]),
    ];
    const statements = await recordStatements(db.dataSource, async () => {
      for (const list of lists) recorder.record(list);
    });
    expect(statements).toEqual([]);
    expect(recorder.pending).toBe(3);

    const flushed = await recordStatements(db.dataSource, () => recorder.flush());
    expect(flushed.filter((s) => /INSERT INTO recommendation_lists/.test(s))).toHaveLength(1);
    const rows = await db.dataSource.query(
      `SELECT list_id, user_id, strategy_requested, strategy_used, experiment, variant, movie_ids, served_at
         FROM recommendation_lists ORDER BY user_id, array_length(movie_ids, 1)`,
    );
    expect(rows).toEqual([
      expect.objectContaining({ list_id: lists[2].listId, user_id: 1, movie_ids: [1, 2], experiment: null }),
      expect.objectContaining({ list_id: lists[0].listId, user_id: 1, movie_ids: [5, 3, 9] }),
      expect.objectContaining({
        list_id: lists[1].listId,
        strategy_requested: 'COLLABORATIVE',
        strategy_used: 'STATISTICAL',
        experiment: 'exp',
        variant: 'b',
      }),
    ]);
    expect(rows[0].served_at.toISOString()).toBe('2026-12-04T12:00:00.000Z');
    expect(recorder.counts).toEqual({ recorded: 3, dropped: 0 });
    expect(recorder.pending).toBe(0);
  });

  it('writes a full batch at once and the rest after the interval', async () => {
    const recorder = new ListRecorder(db.dataSource, {
      flushIntervalMs: 50,
      batchSize: 2,
      maxBuffered: 1000,
    });
    for (let i = 0; i < 5; i++) recorder.record(served(10 + i, [i + 1]));
    const count = async () =>
      (await db.dataSource.query(`SELECT count(*)::int AS n FROM recommendation_lists`))[0].n as number;
    for (let waited = 0; (await count()) < 5 && waited < 5000; waited += 20)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await count()).toBe(5);
    expect(recorder.counts.recorded).toBe(5);
  });

  it('keeps lists through a failed write, drops and counts what does not fit, writes the rest once it can', async () => {
    const failing = { query: jest.fn().mockRejectedValue(new Error('connection refused')) };
    const warnings: string[] = [];
    const recorder = new ListRecorder(failing as never, {
      flushIntervalMs: 60_000,
      batchSize: 2,
      maxBuffered: 3,
      warn: (m) => warnings.push(m),
    });
    for (let i = 0; i < 5; i++) recorder.record(served(20, [i + 1]));
    await expect(recorder.flush()).rejects.toThrow('connection refused');
    // Three held (the bound), two refused on arrival; the failed write gave its lists back.
    expect(recorder.pending).toBe(3);
    expect(recorder.counts).toEqual({ recorded: 0, dropped: 2 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/recording served lists failed/);

    failing.query.mockImplementation((sql: string, params: unknown[]) => db.dataSource.query(sql, params));
    await recorder.flush();
    expect(recorder.counts).toEqual({ recorded: 3, dropped: 2 });
    expect(warnings[1]).toMatch(/works again/);
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM recommendation_lists WHERE user_id = 20`,
    );
    expect(n).toBe(3);
  });

  it('stop() writes what is buffered; later lists are dropped and counted', async () => {
    const recorder = new ListRecorder(db.dataSource, {
      flushIntervalMs: 60_000,
      batchSize: 100,
      maxBuffered: 100,
    });
    recorder.record(served(30, [1]));
    await recorder.stop();
    recorder.record(served(30, [2]));
    expect(recorder.counts).toEqual({ recorded: 1, dropped: 1 });
    const [{ n }] = await db.dataSource.query(
      `SELECT count(*)::int AS n FROM recommendation_lists WHERE user_id = 30`,
    );
    expect(n).toBe(1);
  });

  it('stop() waits for a stalled database no longer than it is told', async () => {
    const stalled = { query: () => new Promise(() => undefined) };
    const recorder = new ListRecorder(stalled as never, {
      flushIntervalMs: 60_000,
      batchSize: 10,
      maxBuffered: 10,
    });
    recorder.record(served(40, [1]));
    const outcome = await Promise.race([
      recorder.stop(50).then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5000)),
    ]);
    expect(outcome).toBe('stopped');
  });
});
