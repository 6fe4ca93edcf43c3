import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobOutcome } from '../worker/job-runs';
import type { JobObserver, JobStatus } from '../worker/worker';

/** Training takes seconds on ml-latest-small and minutes to hours at ML-32M; the index likewise. */
const JOB_DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600];

/**
 * The background jobs' metrics in a given registry (the API's in the embedded worker, the worker
 * process's own otherwise): running and progress gauges read from the worker when scraped, and the
 * duration histogram and failure counter moved as each run ends.
 */
export class JobMetrics implements JobObserver {
  private readonly duration: Histogram<'job' | 'outcome'>;
  private readonly failures: Counter<'job'>;

  constructor(registry: Registry, statuses: () => JobStatus[]) {
    const registers = [registry];
    new Gauge({
      name: 'cinegraph_job_running',
      help: '1 while this process runs the background job (training, content-index), else 0.',
      labelNames: ['job'],
      registers,
      collect() {
        this.reset();
        for (const status of statuses()) this.set({ job: status.job }, status.state === 'running' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cinegraph_job_progress_ratio',
      help: 'Progress of the background job this process runs, 0..1 (absent when it does not run).',
      labelNames: ['job'],
      registers,
      collect() {
        this.reset();
        for (const status of statuses())
          if (status.state === 'running') this.set({ job: status.job }, status.progress ?? 0);
      },
    });
    new Gauge({
      name: 'cinegraph_job_last_success_timestamp_seconds',
      help: 'When a run of the job (by any worker) last succeeded, Unix seconds (absent before the first).',
      labelNames: ['job'],
      registers,
      collect() {
        this.reset();
        for (const status of statuses())
          if (status.lastSuccessAt) this.set({ job: status.job }, Date.parse(status.lastSuccessAt) / 1000);
      },
    });
    this.duration = new Histogram({
      name: 'cinegraph_job_duration_seconds',
      help: 'Duration of the background job runs this process made, by job and outcome (succeeded, failed, abandoned).',
      labelNames: ['job', 'outcome'],
      buckets: JOB_DURATION_BUCKETS,
      registers,
    });
    this.failures = new Counter({
      name: 'cinegraph_job_failures_total',
      help: 'Background job runs of this process that failed, by job.',
      labelNames: ['job'],
      registers,
    });
  }

  finished(job: string, outcome: JobOutcome, seconds: number): void {
    this.duration.observe({ job, outcome }, seconds);
    if (outcome === 'failed') this.failures.inc({ job });
  }
}
