import { DataSource } from 'typeorm';
import { ActiveExperiment, Assignment } from './active-experiment';
import { ExperimentError, ExperimentInput, validateExperiment } from './definition';
import { leavesRankingOpen, RequestedSettings } from './precedence';
import { buildReport, ExperimentReport } from './report';
import { experimentOutcomes } from './report-store';
import { ExperimentStore, StoredExperiment } from './store';

export interface ReportWindow {
  since?: Date | null;
  until?: Date | null;
}

/** Experiments for the API and the CLI: definitions, the active one for serving, reports. */
export class ExperimentService {
  readonly store: ExperimentStore;
  readonly active: ActiveExperiment;

  constructor(
    private readonly db: DataSource,
    options: { refreshMs: number; onError?: (error: unknown) => void; now?: () => number },
  ) {
    this.store = new ExperimentStore(db);
    this.active = new ActiveExperiment(this.store, options.refreshMs, options.now, options.onError);
  }

  /** The user's variant when the request leaves the ranking open and an experiment is active; no database read once warm. */
  async assignmentFor(userId: number, requested: RequestedSettings): Promise<Assignment | null> {
    if (!leavesRankingOpen(requested)) return null;
    return this.active.assign(userId);
  }

  async create(input: ExperimentInput): Promise<StoredExperiment> {
    const created = await this.store.create(validateExperiment(input));
    await this.active.refresh();
    return created;
  }

  async stop(name: string): Promise<StoredExperiment> {
    const stopped = await this.store.stop(name);
    await this.active.refresh();
    return stopped;
  }

  list(): Promise<StoredExperiment[]> {
    return this.store.list();
  }

  /**
   * The report over [since, until): by default from the experiment's creation to its stop (or now).
   * Lists are counted by when they were served, events up to `until`.
   */
  async report(name: string, window: ReportWindow = {}, now = new Date()): Promise<ExperimentReport> {
    const experiment = await this.store.get(name);
    if (!experiment) throw new ExperimentError('EXPERIMENT_NOT_FOUND', `no experiment named ${name}`);
    const since = window.since ?? experiment.createdAt;
    const until = window.until ?? experiment.stoppedAt ?? now;
    if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime()) || since.getTime() >= until.getTime())
      throw new ExperimentError(
        'INVALID_WINDOW',
        `the window must start before it ends, got ${show(since)} to ${show(until)}`,
      );
    const bounds = { since: since.getTime(), until: until.getTime() };
    return buildReport(experiment, await experimentOutcomes(this.db, name, bounds), bounds);
  }
}

function show(date: Date): string {
  return Number.isNaN(date.getTime()) ? 'an invalid date' : date.toISOString();
}
