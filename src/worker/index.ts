import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import type { ContentIndexer } from '../engines/content';
import type { Logger } from '../logger';
import { contentIndexJob } from './content-index-job';
import { JobLocks, LocalJobLocks, PostgresJobLocks } from './job-lock';
import { JobRunLog } from './job-runs';
import { Trainer, TrainedVersion, trainingJob } from './training-job';
import { Job, JobObserver, Worker } from './worker';

export { CONTENT_INDEX_JOB, catalogSignature } from './content-index-job';
export { Follower } from './follower';
export { LocalJobLocks, PostgresJobLocks } from './job-lock';
export type { HeldLock, JobLocks } from './job-lock';
export { JobRunLog } from './job-runs';
export type { JobOutcome, JobRun } from './job-runs';
export { TRAINING_JOB } from './training-job';
export type { Trainer, TrainedVersion } from './training-job';
export { JobBusyError, Worker } from './worker';
export type { Job, JobContext, JobObserver, JobStatus } from './worker';

export interface WorkerDatabase {
  dataSource: DataSource;
  url: string;
  embedded: boolean;
}

/** Advisory locks on PostgreSQL (across processes), in-process ones on the embedded database. */
export async function jobLocksFor(database: WorkerDatabase, config: Config): Promise<JobLocks> {
  if (database.embedded) return new LocalJobLocks();
  const [{ schema }]: { schema: string }[] = await database.dataSource.query(
    `SELECT current_schema() AS schema`,
  );
  return new PostgresJobLocks({
    url: database.url,
    namespace: schema,
    connectTimeoutMs: config.dbConnectTimeoutMs,
  });
}

export interface WorkerParts {
  database: WorkerDatabase;
  config: Config;
  logger: Logger;
  /** Absent: no training job (a process without training/ wired in). */
  trainer?: Trainer | null;
  /** Absent: no content index job (CONTENT_ENGINE=false). */
  indexer?: ContentIndexer | null;
  /** The indexer also answers this process's content engine (the embedded worker). */
  indexerServes?: boolean;
  /** Every run of the content index re-embeds every movie (`npm run embed -- --force`). */
  indexForce?: boolean;
  observer?: JobObserver;
  onModelActivated?(version: TrainedVersion): Promise<void>;
  onIndexed?(): Promise<void>;
  /** Extra jobs (tests). */
  jobs?: Job[];
}

/** The background jobs (retraining, content index) on their locks; start() it to begin polling. */
export async function createWorker(parts: WorkerParts): Promise<Worker> {
  const { database, config } = parts;
  const runs = new JobRunLog(database.dataSource);
  const jobs: Job[] = [];
  if (parts.trainer)
    jobs.push(
      trainingJob({
        dataSource: database.dataSource,
        trainer: parts.trainer,
        runs,
        intervalMs: config.retrainIntervalMs,
        minNewRatings: config.retrainMinNewRatings,
        onActivated: parts.onModelActivated,
      }),
    );
  if (parts.indexer)
    jobs.push(
      contentIndexJob({
        dataSource: database.dataSource,
        indexer: parts.indexer,
        runs,
        serving: parts.indexerServes,
        onIndexed: parts.onIndexed,
        force: parts.indexForce,
      }),
    );
  jobs.push(...(parts.jobs ?? []));
  return new Worker({
    jobs,
    locks: await jobLocksFor(database, config),
    runs,
    pollMs: config.workerPollMs,
    logger: parts.logger,
    observer: parts.observer,
  });
}
