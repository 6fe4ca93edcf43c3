import { performance } from 'node:perf_hooks';
import type { DataSource } from 'typeorm';
import { ServiceUnavailableError } from '../errors';
import { databaseFailure, errorCode } from './errors';

/**
 * Where read-only statements go. Writes never come here: they use the primary DataSource directly.
 *
 * `shared` is for what every user sees alike (movies, aggregates, rankings, vectors, similarity,
 * search): it may be a little behind, never inconsistent, since a replica serves whole committed
 * transactions. `ofUser` is for one user's own rows (their ratings): it reads the primary while
 * their latest write may not have reached the replica, so a user always sees what they just did.
 */
export interface Reads {
  shared<T>(work: (db: DataSource) => Promise<T>): Promise<T>;
  /** With several users (a batch), the primary when any of them needs it. */
  ofUser<T>(userId: number | readonly number[], work: (db: DataSource) => Promise<T>): Promise<T>;
  /** Call once a user's write has committed (or another instance announced one), before answering. */
  wrote(userId: number): void;
  /**
   * Call when shared data changed as a whole (an import, a new index generation; here or announced
   * by another instance): shared reads use the primary until the replica has the change, so a cache
   * refilled because of it is not refilled with what it replaced.
   */
  changed(): void;
}

/** No replica: every read goes to the primary. */
export function primaryReads(primary: DataSource): Reads {
  return {
    shared: (work) => work(primary),
    ofUser: (_userId, work) => work(primary),
    wrote: () => undefined,
    changed: () => undefined,
  };
}

export interface ReplicaReadsOptions {
  /** Shared reads leave the replica when it may miss commits older than this. */
  maxLagMs: number;
  /** At most one freshness probe (two tiny statements) per interval, and only while reads arrive. */
  probeIntervalMs?: number;
  /** While the replica is down, probes (the only way back) are this far apart. */
  downForMs?: number;
  now?: () => number;
  onChange?: (event: ReplicaEvent) => void;
}

export type ReplicaEvent =
  { kind: 'down'; reason: string } | { kind: 'up' } | { kind: 'fallback'; reason: string };

export interface ReplicaState {
  /** Whether the last probe or query on the replica failed (within downForMs). */
  down: boolean;
  /** How far behind the replica may be at most, in ms (Infinity before the first probe). */
  lagBoundMs: number;
  /** Users whose latest write the replica may not have yet. */
  pinnedUsers: number;
  /** Reads sent to the replica / to the primary by this router. */
  replicaReads: number;
  primaryReads: number;
}

interface PrimarySample {
  at: number;
  lsn: bigint;
}

const LSN_BYTES = `(pg_current_wal_lsn() - '0/0'::pg_lsn)::text`;
/**
 * NULL unless in recovery now. pg_last_wal_replay_lsn() alone is not enough: a primary that went
 * through crash recovery at start keeps reporting the last position it replayed (CI's machines
 * start from a snapshot taken with PostgreSQL running, and read the primary as a replica).
 */
const REPLAYED_BYTES = `CASE WHEN pg_is_in_recovery() THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::text END`;
/** canceling statement due to conflict with recovery: the replica is fine, this statement was not. */
const RECOVERY_CONFLICT = new Set(['40001', '40P01']);
const MAX_SAMPLES = 256;

/**
 * Reads on a streaming replica (DATABASE_READ_URL), with the primary as the fallback.
 *
 * Freshness, without a query per read: a probe samples the primary's WAL position P at time t
 * (the sample is sent at t, so every commit acknowledged before t is at or below P), then the
 * replica's replay position R. Once R ≥ P, the replica holds every commit acknowledged before t:
 * `caughtUpTo` is the latest such t. Hence
 *   - a shared read may use the replica while now − caughtUpTo ≤ maxLagMs (an upper bound on its
 *     staleness, whatever the load); past it, the primary answers;
 *   - a user who wrote at time w (noted after the commit returned) reads the replica only once
 *     caughtUpTo > w, i.e. once the replica has replayed a position sampled after their commit;
 *     changed() holds every shared read to the same rule after a change of the whole catalog.
 * Probes are lazy: a read starts one when the last is older than probeIntervalMs, without waiting
 * for it; an idle router sends nothing. A replica that fails (connection error, stall, not in
 * recovery) is marked down and the read re-run on the primary, so clients never see it fail; from
 * then on only a successful probe, tried every downForMs, brings it back.
 */
export class ReplicaReads implements Reads {
  private readonly samples: PrimarySample[] = [];
  private caughtUpTo = -Infinity;
  private readonly pending = new Map<number, number>();
  /** When shared data last changed as a whole (changed()). */
  private sharedChangedAt = -Infinity;
  private probing: Promise<void> | null = null;
  private lastProbeAt = -Infinity;
  /** Set by a failure; only a successful probe clears it, so no request waits on a dead replica. */
  private down = false;
  private readonly probeIntervalMs: number;
  private readonly downForMs: number;
  private readonly now: () => number;
  private replicaCount = 0;
  private primaryCount = 0;

  constructor(
    private readonly primary: DataSource,
    private readonly replica: DataSource,
    private readonly options: ReplicaReadsOptions,
  ) {
    this.probeIntervalMs = options.probeIntervalMs ?? 100;
    this.downForMs = options.downForMs ?? 2_000;
    this.now = options.now ?? (() => performance.now());
  }

  shared<T>(work: (db: DataSource) => Promise<T>): Promise<T> {
    return this.run(this.replicaFresh(), work);
  }

  ofUser<T>(userId: number | readonly number[], work: (db: DataSource) => Promise<T>): Promise<T> {
    let usable = this.replicaFresh();
    for (const id of typeof userId === 'number' ? [userId] : userId) {
      const wroteAt = this.pending.get(id);
      if (wroteAt === undefined) continue;
      // Strictly after: a probe stamped in the same instant may have been sent before the commit.
      if (wroteAt < this.caughtUpTo) this.pending.delete(id);
      else usable = false;
    }
    return this.run(usable, work);
  }

  changed(): void {
    this.sharedChangedAt = this.now();
  }

  wrote(userId: number): void {
    this.pending.set(userId, this.now());
    // Bounded without a timer: entries the replica has passed are dropped; if it never catches up
    // (down, paused), keeping a user on the primary is what we want anyway.
    if (this.pending.size > 10_000)
      for (const [id, at] of this.pending) if (at < this.caughtUpTo) this.pending.delete(id);
  }

  state(): ReplicaState {
    return {
      down: this.down,
      lagBoundMs: Math.round(this.now() - this.caughtUpTo),
      pinnedUsers: [...this.pending.values()].filter((at) => at >= this.caughtUpTo).length,
      replicaReads: this.replicaCount,
      primaryReads: this.primaryCount,
    };
  }

  /** One probe now (the service awaits it at start so its first reads can use the replica). */
  probe(): Promise<void> {
    this.probing ??= this.sample().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private replicaFresh(): boolean {
    const now = this.now();
    if (now - this.lastProbeAt >= (this.down ? this.downForMs : this.probeIntervalMs))
      void this.probe().catch(() => undefined);
    return (
      !this.down && now - this.caughtUpTo <= this.options.maxLagMs && this.sharedChangedAt < this.caughtUpTo
    );
  }

  private async run<T>(useReplica: boolean, work: (db: DataSource) => Promise<T>): Promise<T> {
    if (!useReplica) {
      this.primaryCount++;
      return work(this.primary);
    }
    this.replicaCount++;
    try {
      return await work(this.replica);
    } catch (error) {
      const failure = databaseFailure(error);
      if (!(failure instanceof ServiceUnavailableError)) throw error;
      const code = errorCode(error) ?? '';
      if (RECOVERY_CONFLICT.has(code))
        this.options.onChange?.({ kind: 'fallback', reason: 'conflict with recovery' });
      else this.markDown(failure.message);
      this.primaryCount++;
      return work(this.primary);
    }
  }

  private markDown(reason: string): void {
    if (this.down) return;
    this.down = true;
    this.options.onChange?.({ kind: 'down', reason });
  }

  private async sample(): Promise<void> {
    const at = this.now();
    this.lastProbeAt = at;
    const [{ lsn }]: { lsn: string }[] = await this.primary.query(`SELECT ${LSN_BYTES} AS lsn`);
    this.samples.push({ at, lsn: BigInt(lsn) });
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
    let replayed: bigint;
    try {
      const [row]: { replayed: string | null }[] = await this.replica.query(
        `SELECT ${REPLAYED_BYTES} AS replayed`,
      );
      // Not in recovery (promoted, or pointed at a primary by mistake): not a replica to trust.
      if (row.replayed === null) throw new Error('DATABASE_READ_URL is not a server in recovery');
      replayed = BigInt(row.replayed);
    } catch (error) {
      this.markDown(error instanceof Error ? error.message : String(error));
      return;
    }
    if (this.down) {
      this.down = false;
      this.options.onChange?.({ kind: 'up' });
    }
    // The newest sample at or below what the replica replayed; older ones are no longer needed.
    let index = -1;
    for (let i = this.samples.length - 1; i >= 0; i--)
      if (this.samples[i].lsn <= replayed) {
        index = i;
        break;
      }
    if (index >= 0) {
      this.caughtUpTo = Math.max(this.caughtUpTo, this.samples[index].at);
      this.samples.splice(0, index + 1);
    }
  }
}
