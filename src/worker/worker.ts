import os from 'node:os';
import { Logger, silentLogger } from '../logger';
import type { JobLocks } from './job-lock';
import { JobOutcome, JobRunLog } from './job-runs';

/** What a running job gets from the worker. */
export interface JobContext {
  /** Why it runs ("first model", "1200 new ratings", "catalog changed", …). */
  readonly trigger: string;
  /** Aborted when the job's lock is lost or the worker stops: stop, and do not activate anything. */
  readonly signal: AbortSignal;
  /** 0..1; shown in readiness and metrics, written to the job's run row (throttled). */
  progress(fraction: number): void;
}

/** A background job: exactly one process at a time runs it (see JobLocks). */
export interface Job {
  readonly name: string;
  /**
   * Why the job should run now, or null. Asked before the lock is taken and again once it is held:
   * another process may have run the job in between, and then it is no longer due.
   */
  due(): Promise<string | null>;
  /** Does the work; what it resolves with is stored as the run's detail. */
  run(context: JobContext): Promise<Record<string, unknown>>;
}

export type JobState = 'idle' | 'running' | 'failed';

export interface JobStatus {
  job: string;
  state: JobState;
  /** While running. */
  trigger?: string;
  /** 0..1 while running. */
  progress?: number;
  startedAt?: string;
  /** When a run of this job (by any process) last succeeded, as far as this process knows. */
  lastSuccessAt?: string;
  lastError?: string;
  /** The process running it (host:pid), when read from worker_job_runs by an instance that follows the worker. */
  owner?: string;
  /** Runs this process started, and how many of them failed. */
  runs: number;
  failures: number;
}

/** What metrics learn of job runs (cinegraph_job_*). */
export interface JobObserver {
  finished(job: string, outcome: JobOutcome, seconds: number): void;
}

export interface WorkerOptions {
  jobs: readonly Job[];
  locks: JobLocks;
  runs: JobRunLog;
  /** How often each job is checked for being due. */
  pollMs: number;
  logger?: Logger;
  observer?: JobObserver;
  /** Names this process in worker_job_runs.owner; default host:pid. */
  owner?: string;
  /** Backoff after a failure: the job is not retried sooner than this, doubled per failure in a row. */
  failureBackoffMs?: number;
}

/** Progress is written to the run row at most this often. */
const PROGRESS_WRITE_MS = 1000;
const MAX_BACKOFF_MS = 60 * 60 * 1000;

interface JobSlot {
  job: Job;
  status: JobStatus;
  running: Promise<void> | null;
  timer: NodeJS.Timeout | null;
  failuresInARow: number;
  notBefore: number;
  abort: AbortController | null;
}

/** A job asked to run now is already running (a command line's error, not the API's). */
export class JobBusyError extends Error {
  constructor(job: string, holder: string) {
    super(`job ${job} is running in ${holder}: wait for it to finish, or stop that worker first`);
    this.name = 'JobBusyError';
  }
}

/**
 * Runs background jobs: each job is checked every `pollMs` (and when woken); when due, its lock is
 * taken without waiting, due-ness is checked again under the lock, the run is recorded in
 * worker_job_runs, and the lock is released only after the outcome is written, so the next holder
 * sees it. A job never runs twice at once, in this process or across processes.
 */
export class Worker {
  private readonly slots: Map<string, JobSlot>;
  private readonly logger: Logger;
  private readonly owner: string;
  private stopping = false;

  constructor(private readonly options: WorkerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.owner = options.owner ?? `${os.hostname()}:${process.pid}`;
    this.slots = new Map(
      options.jobs.map((job) => [
        job.name,
        {
          job,
          status: { job: job.name, state: 'idle', runs: 0, failures: 0 },
          running: null,
          timer: null,
          failuresInARow: 0,
          notBefore: 0,
          abort: null,
        },
      ]),
    );
  }

  /** Checks every job now, then every pollMs; the timers never keep the process alive. */
  start(): void {
    for (const slot of this.slots.values()) {
      // Readiness and metrics show the last success of any process from the start, not only ours.
      this.options.runs.lastSuccess(slot.job.name).then(
        (run) => {
          if (run?.finishedAt && !slot.status.lastSuccessAt)
            slot.status.lastSuccessAt = run.finishedAt.toISOString();
        },
        () => undefined,
      );
      this.schedule(slot, 0);
    }
  }

  /** Checks a job at once (after an import, a notification); ignored while it runs. */
  wake(name: string): void {
    const slot = this.slots.get(name);
    if (slot && !slot.running && !this.stopping) this.schedule(slot, 0);
  }

  /** Every job's state for /readyz and /health. */
  statuses(): JobStatus[] {
    return [...this.slots.values()].map((slot) => ({ ...slot.status }));
  }

  /**
   * Checks one job once and runs it when due and free; resolves when that is settled. Returns
   * whether it ran here.
   */
  async check(name: string): Promise<boolean> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no job named ${name}`);
    if (slot.running) {
      await slot.running;
      return false;
    }
    let ran = false;
    slot.running = this.checkSlot(slot).then((outcome) => {
      ran = outcome;
    });
    try {
      await slot.running;
    } finally {
      slot.running = null;
    }
    return ran;
  }

  /**
   * Runs one job now, whatever its due() says (an operator's command: `npm run embed`), under its
   * lock and recorded in worker_job_runs like a scheduled run, so the instances that follow the
   * jobs see it. Throws JobBusyError when another process holds the lock. Returns the job's status
   * (a failed run: state 'failed', lastError, as for a scheduled one) and the detail the run
   * recorded, read back from no one: once the lock is released another process may run it again.
   */
  async runNow(
    name: string,
    trigger: string,
  ): Promise<{ status: JobStatus; detail: Record<string, unknown> }> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no job named ${name}`);
    if (slot.running) throw new JobBusyError(name, 'this process');
    const lock = await this.options.locks.tryAcquire(name);
    if (!lock) throw new JobBusyError(name, 'another process');
    const run = this.runLocked(slot, trigger, lock.lost).finally(() => lock.release());
    slot.running = run.then(() => undefined);
    try {
      const detail = await run;
      return { status: { ...slot.status }, detail };
    } finally {
      slot.running = null;
    }
  }

  /** Stops scheduling, aborts running jobs and waits for them to let go of their locks. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots.values()) {
      if (slot.timer) clearTimeout(slot.timer);
      slot.abort?.abort(new Error('the worker is stopping'));
    }
    await Promise.all([...this.slots.values()].map((slot) => slot.running?.catch(() => undefined)));
  }

  private schedule(slot: JobSlot, delayMs: number): void {
    if (this.stopping) return;
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = null;
      this.check(slot.job.name)
        .catch((error: unknown) => this.logger.warn(`job ${slot.job.name}: check failed: ${message(error)}`))
        .finally(() => this.schedule(slot, this.options.pollMs));
    }, delayMs);
    slot.timer.unref();
  }

  private async checkSlot(slot: JobSlot): Promise<boolean> {
    if (this.stopping || Date.now() < slot.notBefore) return false;
    const { job } = slot;
    if (!(await job.due())) return false;
    const lock = await this.options.locks.tryAcquire(job.name);
    if (!lock) {
      this.logger.debug(`job ${job.name}: due, but another process runs it`);
      return false;
    }
    try {
      const trigger = await job.due();
      if (!trigger || this.stopping) return false;
      await this.runLocked(slot, trigger, lock.lost);
      return true;
    } finally {
      await lock.release();
    }
  }

  /** Runs the job and records the run; returns the detail recorded (the job's, or its error, and seconds). */
  private async runLocked(
    slot: JobSlot,
    trigger: string,
    lockLost: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const { job, status } = slot;
    const abort = new AbortController();
    slot.abort = abort;
    const onLost = () => abort.abort(lockLost.reason);
    lockLost.addEventListener('abort', onLost, { once: true });
    const run = await this.options.runs.start(job.name, this.owner, trigger);
    const started = performance.now();
    Object.assign(status, {
      state: 'running',
      trigger,
      progress: 0,
      startedAt: run.startedAt.toISOString(),
    } satisfies Partial<JobStatus>);
    status.runs++;
    this.logger.info(`job ${job.name} started (${trigger})`);
    let lastWrite = 0;
    let writing: Promise<void> | null = null;
    const progress = (fraction: number) => {
      status.progress = Math.min(1, Math.max(0, fraction));
      const now = Date.now();
      if (writing || now - lastWrite < PROGRESS_WRITE_MS) return;
      lastWrite = now;
      writing = this.options.runs
        .progress(run.id, status.progress)
        .catch(() => undefined)
        .finally(() => {
          writing = null;
        });
    };
    let outcome: JobOutcome = 'succeeded';
    let detail: Record<string, unknown>;
    try {
      detail = await job.run({ trigger, signal: abort.signal, progress });
      if (abort.signal.aborted) throw abort.signal.reason;
    } catch (error) {
      outcome = this.stopping ? 'abandoned' : 'failed';
      detail = { error: message(error) };
    } finally {
      lockLost.removeEventListener('abort', onLost);
      slot.abort = null;
    }
    await writing;
    const seconds = (performance.now() - started) / 1000;
    const recorded = { ...detail, seconds };
    try {
      await this.options.runs.finish(run.id, outcome, recorded);
    } finally {
      this.options.observer?.finished(job.name, outcome, seconds);
      delete status.trigger;
      delete status.progress;
      delete status.startedAt;
      if (outcome === 'succeeded') {
        status.state = 'idle';
        status.lastSuccessAt = new Date().toISOString();
        delete status.lastError;
        slot.failuresInARow = 0;
        this.logger.info(`job ${job.name} succeeded in ${seconds.toFixed(1)} s`);
      } else if (outcome === 'failed') {
        status.state = 'failed';
        status.failures++;
        status.lastError = String(detail.error);
        slot.failuresInARow++;
        const backoff = Math.min(
          MAX_BACKOFF_MS,
          (this.options.failureBackoffMs ?? this.options.pollMs) * 2 ** (slot.failuresInARow - 1),
        );
        slot.notBefore = Date.now() + backoff;
        this.logger.error(
          `job ${job.name} failed after ${seconds.toFixed(1)} s (retried in ${Math.round(backoff / 1000)} s): ${status.lastError}`,
        );
      } else {
        status.state = 'idle';
        this.logger.info(`job ${job.name} interrupted by the shutdown; the next run starts over`);
      }
    }
    return recorded;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
