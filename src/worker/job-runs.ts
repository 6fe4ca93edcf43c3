import type { DataSource } from 'typeorm';

export type JobOutcome = 'succeeded' | 'failed' | 'abandoned';

export interface JobRun {
  id: number;
  job: string;
  owner: string;
  trigger: string;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
  outcome: JobOutcome | null;
  progress: number;
  detail: Record<string, unknown>;
}

interface JobRunRow {
  id: string;
  job: string;
  owner: string;
  trigger: string;
  started_at: Date;
  updated_at: Date;
  finished_at: Date | null;
  outcome: JobOutcome | null;
  progress: number;
  detail: Record<string, unknown>;
}

const toRun = (row: JobRunRow): JobRun => ({
  id: Number(row.id),
  job: row.job,
  owner: row.owner,
  trigger: row.trigger,
  startedAt: row.started_at,
  updatedAt: row.updated_at,
  finishedAt: row.finished_at,
  outcome: row.outcome,
  progress: row.progress,
  detail: row.detail,
});

/** Finished runs kept per job; older ones are deleted when a run finishes. */
export const KEPT_RUNS_PER_JOB = 100;

const COLUMNS = `id, job, owner, trigger, started_at, updated_at, finished_at, outcome, progress, detail`;

/**
 * The worker_job_runs table: written only by the holder of a job's lock, read by anyone (readiness
 * of API-only instances, the multi-process test, an operator with psql).
 */
export class JobRunLog {
  constructor(private readonly db: DataSource) {}

  /**
   * Records a run starting. The caller holds the job's lock, so any run of the job still open was
   * left by a process that died: it is closed as abandoned first.
   */
  async start(job: string, owner: string, trigger: string): Promise<JobRun> {
    return this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE worker_job_runs SET finished_at = now(), updated_at = now(), outcome = 'abandoned'
          WHERE job = $1 AND finished_at IS NULL`,
        [job],
      );
      const [row]: JobRunRow[] = await tx.query(
        `INSERT INTO worker_job_runs (job, owner, trigger) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
        [job, owner, trigger],
      );
      return toRun(row);
    });
  }

  async progress(id: number, fraction: number): Promise<void> {
    await this.db.query(`UPDATE worker_job_runs SET progress = $2, updated_at = now() WHERE id = $1`, [
      id,
      Math.min(1, Math.max(0, fraction)),
    ]);
  }

  async finish(id: number, outcome: JobOutcome, detail: Record<string, unknown>): Promise<void> {
    await this.db.query(
      `WITH finished AS (
         UPDATE worker_job_runs
            SET finished_at = now(), updated_at = now(), outcome = $2, detail = $3,
                progress = CASE WHEN $2 = 'succeeded' THEN 1 ELSE progress END
          WHERE id = $1 RETURNING job)
       DELETE FROM worker_job_runs
        WHERE job = (SELECT job FROM finished) AND finished_at IS NOT NULL
          AND id < (SELECT id FROM worker_job_runs WHERE job = (SELECT job FROM finished)
                     ORDER BY id DESC OFFSET $4 LIMIT 1)`,
      [id, outcome, JSON.stringify(detail), KEPT_RUNS_PER_JOB],
    );
  }

  /** The newest run of a job, finished or not. */
  async latest(job: string): Promise<JobRun | null> {
    const rows: JobRunRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM worker_job_runs WHERE job = $1 ORDER BY id DESC LIMIT 1`,
      [job],
    );
    return rows[0] ? toRun(rows[0]) : null;
  }

  /** The newest run of a job that succeeded. */
  async lastSuccess(job: string): Promise<JobRun | null> {
    const rows: JobRunRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM worker_job_runs WHERE job = $1 AND outcome = 'succeeded'
        ORDER BY id DESC LIMIT 1`,
      [job],
    );
    return rows[0] ? toRun(rows[0]) : null;
  }

  /** Every run of a job still kept, oldest first. */
  async runs(job: string): Promise<JobRun[]> {
    const rows: JobRunRow[] = await this.db.query(
      `SELECT ${COLUMNS} FROM worker_job_runs WHERE job = $1 ORDER BY id`,
      [job],
    );
    return rows.map(toRun);
  }
}
