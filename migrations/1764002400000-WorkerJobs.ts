import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row per run of a background job (retraining, the content index): who ran it, why, how far it
 * got and how it ended. Any instance reads a job's progress and last success from here, and the
 * worker decides from it whether a job is due. A run whose process was killed keeps `finished_at`
 * null until the next holder of the job's lock marks it `abandoned`.
 */
export class WorkerJobs1764002400000 implements MigrationInterface {
  name = 'WorkerJobs1764002400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE worker_job_runs (
        id bigserial PRIMARY KEY,
        job text NOT NULL CHECK (job <> ''),
        owner text NOT NULL,
        trigger text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        outcome text CHECK (outcome IN ('succeeded', 'failed', 'abandoned')),
        progress real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
        detail jsonb NOT NULL DEFAULT '{}'::jsonb,
        CHECK ((finished_at IS NULL) = (outcome IS NULL))
      )`);
    await db.query(`CREATE INDEX worker_job_runs_job_idx ON worker_job_runs (job, id DESC)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS worker_job_runs`);
  }
}
