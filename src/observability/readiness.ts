import type { EngineStatus } from '../engines/engine';
import type { JobStatus } from '../worker/worker';
import { within } from '../within';

export interface ReadinessReport {
  /** Whether the service can answer requests now: /readyz 200, the GraphQL health field's `ok`. */
  ready: boolean;
  /** Why not, when not ready ("database did not answer within 1000 ms: …"). */
  reason?: string;
  database: { ok: boolean; latencyMs?: number; error?: string };
  engines: Record<string, EngineStatus>;
  /** Engines that cannot answer yet or failed, with the reason ("collaborative: training the first model"). */
  building: string[];
  /** Background jobs (training, content-index) and their progress; never a reason to be unready. */
  jobs?: JobStatus[];
}

export interface ReadinessOptions {
  /** One round trip to the database (SELECT 1). */
  ping(): Promise<unknown>;
  engines(): Record<string, EngineStatus>;
  /** A ping slower than this counts as the database not answering. */
  timeoutMs: number;
  /** True once shutdown began: no longer ready, so load balancers stop sending. */
  stopping?(): boolean;
  /** The background jobs this instance runs, or follows. */
  jobs?(): JobStatus[];
}

/**
 * Readiness as load balancers and the Docker HEALTHCHECK need it: ready when the database answers
 * a ping within the deadline and at least one engine can serve. An engine still building (the
 * first collaborative model training, the content index) does not make the service unready: the
 * orchestrator serves what is ready (a cold start answers STATISTICAL) and the report names what
 * is still building.
 */
export class ReadinessCheck {
  /** At most one ping in flight: probes against a database that hangs must not pile up in the pool. */
  private pending: Promise<unknown> | null = null;

  constructor(private readonly options: ReadinessOptions) {}

  async check(): Promise<ReadinessReport> {
    const engines = this.options.engines();
    const building = Object.entries(engines)
      .filter(([, status]) => !status.ready)
      .map(([name, status]) => `${name}: ${status.ready ? '' : status.reason}`);
    const canServe = Object.values(engines).some((status) => status.ready);
    const database = await this.pingDatabase();
    const report: ReadinessReport = { ready: false, database, engines, building };
    if (this.options.jobs) report.jobs = this.options.jobs();
    if (this.options.stopping?.()) report.reason = 'shutting down';
    else if (!database.ok) report.reason = `database unavailable: ${database.error}`;
    else if (!canServe) report.reason = `no engine can serve yet (${building.join('; ')})`;
    else report.ready = true;
    return report;
  }

  private async pingDatabase(): Promise<ReadinessReport['database']> {
    const started = Date.now();
    if (this.pending) return { ok: false, error: 'the previous ping has not returned yet' };
    const ping = this.options.ping();
    this.pending = ping;
    try {
      if ((await within(this.options.timeoutMs, ping)) === 'timed out')
        return { ok: false, error: `no answer within ${this.options.timeoutMs} ms` };
      return { ok: true, latencyMs: Date.now() - started };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    } finally {
      // A ping past its deadline still holds its slot until it settles.
      ping.then(
        () => this.clearPending(ping),
        () => this.clearPending(ping),
      );
    }
  }

  private clearPending(ping: Promise<unknown>): void {
    if (this.pending === ping) this.pending = null;
  }
}
