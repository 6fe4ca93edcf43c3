import { Client } from 'pg';
import { JobRunLog } from '../../src/worker/job-runs';
import { PostgresJobLocks } from '../../src/worker/job-lock';
import { Job, JobBusyError, JobObserver, Worker } from '../../src/worker/worker';
import { createTestDatabase, TEST_DATABASE_URL, TestDatabase } from '../helpers/database';

/** A job that is due until one run of it (by any worker) succeeded, and waits for `release` while running. */
function onceJob(db: TestDatabase, name: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const job: Job = {
    name,
    async due() {
      const [{ done }] = await db.dataSource.query(
        `SELECT EXISTS (SELECT 1 FROM worker_job_runs WHERE job = $1 AND outcome = 'succeeded') AS done`,
        [name],
      );
      return done ? null : 'never ran';
    },
    async run(context) {
      context.progress(0.5);
      started();
      await released;
      return { ran: true };
    },
  };
  return { job, release, running };
}

describe('Worker on PostgreSQL advisory locks', () => {
  let db: TestDatabase;
  let locks: PostgresJobLocks;

  beforeAll(async () => {
    db = await createTestDatabase();
    locks = new PostgresJobLocks({ url: TEST_DATABASE_URL, namespace: db.schema, connectTimeoutMs: 5000 });
  });

  afterAll(async () => {
    await db.drop();
  });

  it('runs a job that two workers find due exactly once, and the second finds it done', async () => {
    const { job, release, running } = onceJob(db, 'once');
    const runs = new JobRunLog(db.dataSource);
    const first = new Worker({ jobs: [job], locks, runs, pollMs: 60_000, owner: 'first' });
    const second = new Worker({ jobs: [job], locks, runs, pollMs: 60_000, owner: 'second' });
    const firstRan = first.check('once');
    await running;
    expect(first.statuses()[0]).toMatchObject({ state: 'running', trigger: 'never ran', progress: 0.5 });
    // Locked by the first: the second does not wait, it moves on.
    expect(await second.check('once')).toBe(false);
    release();
    expect(await firstRan).toBe(true);
    // Free again, but done: due-ness is checked again under the lock.
    expect(await second.check('once')).toBe(false);
    const recorded = await runs.runs('once');
    expect(recorded.map((run) => [run.owner, run.outcome, run.progress, run.detail.ran])).toEqual([
      ['first', 'succeeded', 1, true],
    ]);
    expect(first.statuses()[0]).toMatchObject({ state: 'idle', runs: 1, failures: 0 });
    expect(first.statuses()[0].lastSuccessAt).toEqual(expect.any(String));
  });

  it('frees the lock when its session ends, and tells the holder it lost it', async () => {
    const held = await locks.tryAcquire('session');
    expect(held).not.toBeNull();
    expect(await locks.tryAcquire('session')).toBeNull();
    // What a killed process amounts to for the server: its connection is gone.
    const admin = new Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
        [`cinegraph job lock: ${db.schema}/session`],
      );
    } finally {
      await admin.end();
    }
    if (!held!.lost.aborted)
      await new Promise<void>((resolve) =>
        held!.lost.addEventListener('abort', () => resolve(), { once: true }),
      );
    const again = await locks.tryAcquire('session');
    expect(again).not.toBeNull();
    await again!.release();
    await held!.release();
  }, 20_000);

  it('keeps locks of other schemas apart', async () => {
    const other = new PostgresJobLocks({
      url: TEST_DATABASE_URL,
      namespace: `${db.schema}_other`,
      connectTimeoutMs: 5000,
    });
    const mine = await locks.tryAcquire('shared-name');
    const theirs = await other.tryAcquire('shared-name');
    expect(mine).not.toBeNull();
    expect(theirs).not.toBeNull();
    await mine!.release();
    await theirs!.release();
  });

  it('runs a job now when asked even if it is not due, recorded like a scheduled run; refuses while another holds it', async () => {
    const { job, release, running } = onceJob(db, 'asked');
    const runs = new JobRunLog(db.dataSource);
    const scheduled = new Worker({ jobs: [job], locks, runs, pollMs: 60_000, owner: 'worker' });
    const command = new Worker({ jobs: [job], locks, runs, pollMs: 60_000, owner: 'command' });
    const firstRan = scheduled.check('asked');
    await running;
    await expect(command.runNow('asked', 'npm run embed')).rejects.toThrow(JobBusyError);
    release();
    expect(await firstRan).toBe(true);
    // Done, so a scheduled check would not run it again; asked to, it runs.
    expect(await command.check('asked')).toBe(false);
    const { status, detail } = await command.runNow('asked', 'npm run embed');
    expect(status).toMatchObject({ state: 'idle', runs: 1, failures: 0 });
    expect(detail).toEqual({ ran: true, seconds: expect.any(Number) });
    expect((await runs.runs('asked')).map((run) => [run.owner, run.trigger, run.outcome])).toEqual([
      ['worker', 'never ran', 'succeeded'],
      ['command', 'npm run embed', 'succeeded'],
    ]);
  });

  it('marks a run left open by a dead process abandoned, and records a failure with its reason', async () => {
    const runs = new JobRunLog(db.dataSource);
    const dead = await runs.start('flaky', 'dead-host:1', 'first model');
    const finished: [string, string][] = [];
    const observer: JobObserver = { finished: (job, outcome) => finished.push([job, outcome]) };
    const job: Job = {
      name: 'flaky',
      due: async () => 'always',
      run: async () => {
        throw new Error('out of memory, say');
      },
    };
    const worker = new Worker({ jobs: [job], locks, runs, pollMs: 60_000, owner: 'me', observer });
    expect(await worker.check('flaky')).toBe(true);
    const recorded = await runs.runs('flaky');
    expect(recorded.map((run) => [run.id === dead.id, run.outcome, run.detail.error])).toEqual([
      [true, 'abandoned', undefined],
      [false, 'failed', 'out of memory, say'],
    ]);
    expect(finished).toEqual([['flaky', 'failed']]);
    expect(worker.statuses()[0]).toMatchObject({
      state: 'failed',
      failures: 1,
      lastError: 'out of memory, say',
    });
    // Backed off: not retried at once.
    expect(await worker.check('flaky')).toBe(false);
    expect(await runs.runs('flaky')).toHaveLength(2);
  });
});
