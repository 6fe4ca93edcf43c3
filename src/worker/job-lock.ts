import { Client } from 'pg';

/** A job's lock while this process holds it. */
export interface HeldLock {
  /** Aborted when the lock is lost (its connection died): the job must stop, another process may start it. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** Exactly one process at a time runs a job: whoever takes its lock. */
export interface JobLocks {
  /** The lock when it was free, null when another process (or this one) holds it; never waits. */
  tryAcquire(job: string): Promise<HeldLock | null>;
}

/**
 * Session-level PostgreSQL advisory locks, each on a connection of its own held for the job's
 * duration (not a pooled one, which would hand the session to other queries): a process that is
 * killed closes its connections and the server releases the lock with them, so a job never stays
 * locked by a dead worker. The key is the job's name within the schema, so test schemas sharing
 * one database do not lock each other out.
 */
export class PostgresJobLocks implements JobLocks {
  constructor(
    private readonly options: {
      url: string;
      /** The schema the jobs work in (current_schema() of the service's connections). */
      namespace: string;
      connectTimeoutMs: number;
    },
  ) {}

  async tryAcquire(job: string): Promise<HeldLock | null> {
    const client = new Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      // A worker whose host vanished is noticed by the server's TCP keepalive, which ends the session.
      keepAlive: true,
      application_name: `cinegraph job lock: ${this.options.namespace}/${job}`,
    });
    const lost = new AbortController();
    client.on('error', (error) => lost.abort(error));
    client.on('end', () => lost.abort(new Error(`the lock connection of job ${job} closed`)));
    await client.connect();
    let acquired = false;
    try {
      const [row] = (
        await client.query<{ acquired: boolean }>(
          `SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS acquired`,
          [`${this.options.namespace}/${job}`],
        )
      ).rows;
      acquired = row.acquired;
    } finally {
      if (!acquired) await client.end().catch(() => undefined);
    }
    if (!acquired) return null;
    let released = false;
    return {
      lost: lost.signal,
      async release() {
        if (released) return;
        released = true;
        // Closing the session releases the lock; no unlock round trip needed (or possible, if it died).
        await client.end().catch(() => undefined);
      },
    };
  }
}

/**
 * Within one process: the embedded database belongs to one process (DATA_DIR/pglite.lock), so a
 * job can only collide with itself, and PGlite's single session would grant every advisory lock.
 */
export class LocalJobLocks implements JobLocks {
  private readonly held = new Set<string>();

  async tryAcquire(job: string): Promise<HeldLock | null> {
    if (this.held.has(job)) return null;
    this.held.add(job);
    const held = this.held;
    let released = false;
    return {
      lost: new AbortController().signal,
      async release() {
        if (released) return;
        released = true;
        held.delete(job);
      },
    };
  }
}
