import { Experiment, VariantSettings } from './definition';
import { assignVariant } from './assignment';

/** What serving needs of the stored experiments. */
export interface ActiveExperimentSource {
  active(): Promise<Experiment | null>;
}

export interface Assignment extends VariantSettings {
  experiment: string;
  variant: string;
}

/**
 * The active experiment, held in memory for the request path: assignment is a hash, no database
 * read. It is re-read in the background once older than `refreshMs` (the old value answers
 * meanwhile), so a new or stopped experiment — also one changed by another process, such as the
 * CLI — takes effect within `refreshMs` plus one read. A failed read keeps the last known state
 * and is retried on the next request past the interval.
 */
export class ActiveExperiment {
  private experiment: Experiment | null = null;
  private loadedAt = -Infinity;
  private loading: Promise<void> | null = null;
  private loadedOnce = false;

  constructor(
    private readonly source: ActiveExperimentSource,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** The user's variant in the active experiment, or null when none is active. */
  async assign(userId: number): Promise<Assignment | null> {
    const experiment = await this.current();
    if (!experiment) return null;
    const variant = assignVariant(experiment, userId);
    return {
      experiment: experiment.name,
      variant: variant.name,
      strategy: variant.strategy,
      weights: variant.weights,
      diversity: variant.diversity,
    };
  }

  /** Waits only for the very first read; afterwards answers at once and refreshes behind. */
  async current(): Promise<Experiment | null> {
    if (this.now() - this.loadedAt >= this.refreshMs) {
      const loading = this.refresh();
      if (!this.loadedOnce) await loading;
    }
    return this.experiment;
  }

  /** Reads the active experiment now (after a create or stop in this process, and in tests). */
  refresh(): Promise<void> {
    this.loading ??= this.source
      .active()
      .then(
        (experiment) => {
          this.experiment = experiment;
          this.loadedOnce = true;
        },
        (error: unknown) => this.onError(error),
      )
      .finally(() => {
        // Also after a failure: the next try waits an interval rather than hitting a failing database per request.
        this.loadedAt = this.now();
        this.loading = null;
      });
    return this.loading;
  }
}
