import type { DataSource } from 'typeorm';
import type { IndexFollower } from '../engines/content';
import { Logger, silentLogger } from '../logger';
import type { JobStatus } from './worker';

interface LatestRunRow {
  job: string;
  owner: string;
  trigger: string;
  started_at: Date;
  finished_at: Date | null;
  outcome: string | null;
  progress: number;
  detail: Record<string, unknown>;
  last_success_at: Date | null;
}

/**
 * What an API-only instance (WORKER=off) knows of the worker's jobs, re-read every `pollMs`: the
 * content index's state while it builds (and its completed builds), and each job's latest run for
 * readiness. New models and index generations arrive as version notices (src/cache/version-feed.ts).
 */
export class Follower {
  private timer: NodeJS.Timeout | null = null;
  private refreshing: Promise<void> | null = null;
  private latestJobs: JobStatus[] = [];
  private readonly logger: Logger;

  constructor(
    private readonly options: {
      dataSource: DataSource;
      pollMs: number;
      index?: IndexFollower | null;
      logger?: Logger;
      /** After every refresh (the index's state may have moved). */
      onRefreshed?: () => void;
    },
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  start(): void {
    const tick = () => {
      this.refresh()
        .catch(() => undefined)
        .finally(() => {
          if (this.timer) this.timer = setTimeout(tick, this.options.pollMs).unref();
        });
    };
    this.timer = setTimeout(tick, this.options.pollMs).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The jobs as the worker last recorded them (state, progress, owner); nothing before the first refresh. */
  jobs(): JobStatus[] {
    return this.latestJobs.map((status) => ({ ...status }));
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const { dataSource: db, index } = this.options;
    try {
      await index?.refresh();
      this.options.onRefreshed?.();
      const rows: LatestRunRow[] = await db.query(
        `SELECT DISTINCT ON (job) job, owner, trigger, started_at, finished_at, outcome, progress, detail,
                (SELECT max(finished_at) FROM worker_job_runs s WHERE s.job = r.job AND s.outcome = 'succeeded')
                  AS last_success_at
           FROM worker_job_runs r ORDER BY job, id DESC`,
      );
      this.latestJobs = rows.map((row) => ({
        job: row.job,
        state: row.finished_at === null ? 'running' : row.outcome === 'failed' ? 'failed' : 'idle',
        owner: row.owner,
        ...(row.finished_at === null
          ? { trigger: row.trigger, progress: row.progress, startedAt: row.started_at.toISOString() }
          : {}),
        ...(row.last_success_at ? { lastSuccessAt: row.last_success_at.toISOString() } : {}),
        ...(row.outcome === 'failed' ? { lastError: String(row.detail.error ?? 'unknown') } : {}),
        runs: 0,
        failures: 0,
      }));
    } catch (error) {
      this.logger.debug(
        `following the worker failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
