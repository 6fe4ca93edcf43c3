import type { DataSource } from 'typeorm';
import type { Job, JobContext } from './worker';
import type { JobRunLog } from './job-runs';

export const TRAINING_JOB = 'training';

/** A trained and activated model version. */
export interface TrainedVersion {
  versionId: number;
  ratings: number;
  seconds: number;
  maxRssBytes?: number;
}

/**
 * Trains the collaborative models on the database's ratings, writes them as a new version and
 * activates it (training/ implements it; the worker only decides when). Must not activate once
 * `signal` is aborted.
 */
export interface Trainer {
  train(options: { signal: AbortSignal; onProgress(fraction: number): void }): Promise<TrainedVersion>;
  /**
   * Whether a training now would store calibrated hybrid weights (its catalog is small enough and
   * the content index covers it). Set by trainers that calibrate: a version trained before that (a
   * first start trains and indexes at once) is then trained again once it holds.
   */
  wouldCalibrate?(): Promise<boolean>;
}

export interface TrainingJobOptions {
  dataSource: DataSource;
  trainer: Trainer;
  runs: JobRunLog;
  /** Retrain when the active model is this old; 0: never on age alone. */
  intervalMs: number;
  /** Retrain once this many ratings were written since the active model read its data; 0: never. */
  minNewRatings: number;
  /** After a version is activated (the embedded worker reloads the served model at once). */
  onActivated?(version: TrainedVersion): Promise<void>;
}

/**
 * When the data the active model was trained on starts: the start of the training run that made it
 * (ratings written during a run are newer than what it read), or the version's creation when it
 * was trained by something else (`npm run train`, a worker before worker_job_runs existed).
 */
async function activeModelBasis(
  db: DataSource,
  runs: JobRunLog,
): Promise<{ versionId: number; since: Date } | null> {
  const [active]: { id: number; created_at: Date }[] = await db.query(
    `SELECT id, created_at FROM model_versions WHERE status = 'active'`,
  );
  if (!active) return null;
  const made = await runs.lastSuccess(TRAINING_JOB);
  const since = made && made.detail.versionId === active.id ? made.startedAt : active.created_at;
  return { versionId: active.id, since };
}

/**
 * Whether the active version has no calibrated weights although a training now would calibrate.
 * Once such a training stored weights, the version is not due again, so this cannot loop.
 */
async function awaitsCalibration(db: DataSource, versionId: number, trainer: Trainer): Promise<boolean> {
  if (!trainer.wouldCalibrate) return false;
  const [version]: { uncalibrated: boolean }[] = await db.query(
    `SELECT hybrid_weights IS NULL AS uncalibrated FROM model_versions WHERE id = $1`,
    [versionId],
  );
  return Boolean(version?.uncalibrated) && (await trainer.wouldCalibrate());
}

/**
 * The collaborative model: the first one on a cold start (as soon as there are ratings), then again
 * on a schedule and when enough new ratings arrived. New ratings are counted by `rated_at` (indexed),
 * so an import of historical ratings does not count; the schedule covers it.
 */
export function trainingJob(options: TrainingJobOptions): Job {
  const { dataSource: db, runs } = options;
  return {
    name: TRAINING_JOB,
    async due() {
      const basis = await activeModelBasis(db, runs);
      if (!basis) {
        const [{ present }] = await db.query(`SELECT EXISTS (SELECT 1 FROM ratings) AS present`);
        return present ? 'first model' : null;
      }
      if (options.minNewRatings > 0) {
        // Counts no further than the threshold: past it the exact number does not matter.
        const [{ count }]: { count: number }[] = await db.query(
          `SELECT count(*)::int AS count FROM (SELECT 1 FROM ratings WHERE rated_at > $1 LIMIT $2) AS fresh`,
          [basis.since, options.minNewRatings],
        );
        if (count >= options.minNewRatings)
          return `${count} new ratings since model version ${basis.versionId}`;
      }
      if (await awaitsCalibration(db, basis.versionId, options.trainer))
        return `the content index now covers the catalog, and model version ${basis.versionId} has no calibrated hybrid weights`;
      if (options.intervalMs > 0 && Date.now() - basis.since.getTime() >= options.intervalMs)
        return `model version ${basis.versionId} is older than ${Math.round(options.intervalMs / 1000)} s`;
      return null;
    },
    async run(context: JobContext) {
      const version = await options.trainer.train({
        signal: context.signal,
        onProgress: (fraction) => context.progress(fraction),
      });
      await options.onActivated?.(version);
      return { ...version };
    },
  };
}
