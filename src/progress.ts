import type { Logger } from './logger';

/** Every few seconds: often enough to show a long job is alive, rarely enough not to flood the log. */
export const DEFAULT_PROGRESS_INTERVAL_MS = 5_000;

export interface ProgressReporterOptions {
  logger: Pick<Logger, 'info'>;
  /** What is progressing, e.g. `content index` or `training biased MF`; starts every line. */
  label: string;
  /** What is counted, plural: `texts`, `rows`, `epochs`. */
  unit: string;
  /** The count at completion, when known; gives a percentage and an ETA. */
  total?: number;
  /** Least time between two lines. */
  intervalMs?: number;
  /** Milliseconds on a monotonic clock; tests inject their own. */
  now?: () => number;
}

export interface ProgressUpdate {
  /** Share of the work done in [0, 1] when it is not `done / total` (an import measured in bytes read). */
  fraction?: number;
  /** Appended to the line, e.g. the phase of an import. */
  note?: string;
}

/**
 * Logs one progress line for long work at most every `intervalMs` (the first one `intervalMs` after the
 * start, so work that is over in a few seconds stays silent): count, rate, elapsed time and, when the
 * share done is known, an ETA extrapolated from the rate so far.
 */
export class ProgressReporter {
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly startedAt: number;
  private lastLineAt: number;

  constructor(private readonly options: ProgressReporterOptions) {
    this.now = options.now ?? (() => performance.now());
    this.intervalMs = options.intervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS;
    if (!(this.intervalMs >= 0)) throw new RangeError(`intervalMs must be ≥ 0, got ${this.intervalMs}`);
    this.startedAt = this.now();
    this.lastLineAt = this.startedAt;
  }

  /** Records that `done` units are done; logs a line when the last one is at least `intervalMs` old. */
  update(done: number, update: ProgressUpdate = {}): void {
    const now = this.now();
    if (now - this.lastLineAt < this.intervalMs) return;
    this.lastLineAt = now;
    this.options.logger.info(this.describe(done, (now - this.startedAt) / 1000, update));
  }

  private describe(done: number, elapsedSeconds: number, update: ProgressUpdate): string {
    const { label, unit, total } = this.options;
    const fraction = update.fraction ?? (total ? done / total : undefined);
    const parts = [total === undefined ? `${count(done)} ${unit}` : `${count(done)}/${count(total)} ${unit}`];
    if (fraction !== undefined) parts[0] += ` (${Math.floor(Math.min(1, fraction) * 100)}%)`;
    const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
    parts.push(`${rate >= 100 ? count(rate) : rate.toFixed(1)} ${unit}/s`);
    parts.push(`${duration(elapsedSeconds)} elapsed`);
    if (fraction !== undefined && fraction > 0 && fraction < 1)
      parts.push(`ETA ${duration((elapsedSeconds * (1 - fraction)) / fraction)}`);
    if (update.note) parts.push(update.note);
    return `${label}: ${parts.join(', ')}`;
  }
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** 42s, 3m05s, 1h02m. */
export function duration(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}
