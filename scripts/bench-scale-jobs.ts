/**
 * What bench-scale reads of the server's background jobs while it waits: /health (the jobs, the
 * served model, the engines) and the jobs' runs in worker_job_runs. The server's log lines are not
 * read: they changed once already (training moved into the worker) and the benchmark then waited
 * for a line that never came, silently, with the model long trained.
 */
import { CONTENT_INDEX_JOB, TRAINING_JOB, type JobStatus } from '../src/worker';

export interface ServerHealth {
  status?: string;
  engines?: Record<string, { ready: boolean; reason?: string }>;
  jobs?: JobStatus[];
  model?: { versionId: number } | null;
  /** Where the content engine's searches run (ContentSearchState); absent with it switched off. */
  contentSearch?: { answeredBy: string; configured: string; building: boolean };
}

/** A run of a job as worker_job_runs holds it. */
export interface JobRunRow {
  outcome: 'succeeded' | 'failed' | 'abandoned' | null;
  progress: number;
  detail: Record<string, unknown>;
}

/** The first run of `job` in the benchmark's fresh database (null before it started). */
export const FIRST_RUN_SQL = `SELECT outcome, progress, detail FROM worker_job_runs WHERE job = $1 ORDER BY id LIMIT 1`;

export type Waited = { state: 'waiting' } | { state: 'done' } | { state: 'failed'; reason: string };

const failedRun = (what: string, run: JobRunRow | null): string | null =>
  run && (run.outcome === 'failed' || run.outcome === 'abandoned')
    ? `${what} ${run.outcome}${typeof run.detail.error === 'string' ? `: ${run.detail.error}` : ''}`
    : null;

const failedJob = (health: ServerHealth | null, job: string): string | null => {
  const status = health?.jobs?.find((j) => j.job === job);
  return status?.state === 'failed' ? `${job} failed: ${status.lastError ?? 'no error given'}` : null;
};

/**
 * Whether the first model is served: done once /health names a model version; failed when the
 * server exited, the first training run ended without success, or the training job says it failed
 * (a failed run is retried after a backoff, so waiting on would repeat it, silently).
 */
export function firstModelState(
  health: ServerHealth | null,
  trainingRun: JobRunRow | null,
  serverExit: string | null,
): Waited {
  if (health?.model?.versionId) return { state: 'done' };
  if (serverExit)
    return { state: 'failed', reason: `the server exited (${serverExit}) before serving a model` };
  const failed = failedRun('the first training', trainingRun) ?? failedJob(health, TRAINING_JOB);
  if (failed) return { state: 'failed', reason: failed };
  if (health?.jobs && !health.jobs.some((j) => j.job === TRAINING_JOB))
    return { state: 'failed', reason: 'the server runs no training job (WORKER is not embedded?)' };
  return { state: 'waiting' };
}

/**
 * Whether searches run where the server is configured to run them: with CONTENT_SEARCH=memory,
 * PostgreSQL answers them (by HNSW, at several times a list's CPU) while the in-process index is
 * built from the finished content index, and the cells would measure that transition.
 */
function searchesSettled(health: ServerHealth): boolean {
  const search = health.contentSearch;
  return !search || (search.answeredBy === search.configured && !search.building);
}

/**
 * Whether every engine is ready and the content searches run where configured; failed when the
 * server exited or the content index build failed.
 */
export function enginesState(
  health: ServerHealth | null,
  indexRun: JobRunRow | null,
  serverExit: string | null,
): Waited {
  if (health?.engines && Object.values(health.engines).every((e) => e.ready) && searchesSettled(health))
    return { state: 'done' };
  if (serverExit)
    return { state: 'failed', reason: `the server exited (${serverExit}) before every engine was ready` };
  const failed = failedRun('the content index build', indexRun) ?? failedJob(health, CONTENT_INDEX_JOB);
  return failed ? { state: 'failed', reason: failed } : { state: 'waiting' };
}

const percent = (fraction: number) => `${Math.round(fraction * 100)}%`;

/** One line of what the server is doing, for the progress lines printed while waiting. */
export function describeJobs(health: ServerHealth | null): string {
  if (!health) return 'no answer from /health';
  const jobs = (health.jobs ?? []).map((j) =>
    j.state === 'running'
      ? `${j.job} running ${percent(j.progress ?? 0)} (${j.trigger ?? 'no trigger'})`
      : j.state === 'failed'
        ? `${j.job} failed: ${j.lastError ?? 'no error given'}`
        : `${j.job} idle${j.lastSuccessAt ? ', done' : ''}`,
  );
  const waiting = Object.entries(health.engines ?? {})
    .filter(([, e]) => !e.ready)
    .map(([name, e]) => `${name}: ${e.reason ?? 'not ready'}`);
  const search = health.contentSearch;
  return [
    ...jobs,
    health.model?.versionId ? `model version ${health.model.versionId} served` : 'no model served',
    ...waiting,
    ...(search && !searchesSettled(health)
      ? [
          `content searches answered by ${search.answeredBy}${search.building ? ', in-process index or its neighbour table building' : ''}`,
        ]
      : []),
  ].join('; ');
}

const MIB = 2 ** 20;

/** The first training as the table shows it: time and peak RSS of the run that succeeded, or why it failed. */
export function describeTraining(run: JobRunRow | null): string {
  if (!run) return 'no training run recorded';
  const seconds = typeof run.detail.seconds === 'number' ? `${run.detail.seconds.toFixed(1)} s` : '? s';
  if (run.outcome !== 'succeeded')
    return `${run.outcome ?? 'unfinished'} after ${seconds}${typeof run.detail.error === 'string' ? `: ${run.detail.error}` : ''}`;
  const rss =
    typeof run.detail.maxRssBytes === 'number'
      ? `peak RSS ${Math.round(run.detail.maxRssBytes / MIB)} MiB`
      : 'peak RSS not reported';
  return `${seconds}, ${rss}`;
}

/** The served version's top-N model and the validation figures training chose it by. */
export const ACTIVE_TOP_N_SQL = `SELECT topn_kind, metrics->'topNSelection' AS selection FROM model_versions WHERE status = 'active'`;

export interface ActiveTopNRow {
  topn_kind: string;
  selection: { split?: string; validationNdcg10?: Record<string, number> } | null;
}

/**
 * Which ranking model a size's lists came from: EASE ranks its columns only, the factor kinds go
 * through the candidate index, so two sizes' COLLABORATIVE cells compare only with it in view (the
 * 25M release's version chose EASE by 0.000007 of validation NDCG@10, the 32M release's PureSVD).
 */
export function describeTopN(row: ActiveTopNRow | undefined): string {
  if (!row) return 'no active version';
  const figures = Object.entries(row.selection?.validationNdcg10 ?? {});
  if (figures.length === 0) return `${row.topn_kind} (no validation recorded)`;
  const sorted = figures.sort(([, a], [, b]) => b - a).map(([kind, ndcg]) => `${kind} ${ndcg.toFixed(5)}`);
  return `${row.topn_kind} (validation NDCG@10${row.selection?.split ? `, ${row.selection.split} split` : ''}: ${sorted.join(', ')})`;
}
