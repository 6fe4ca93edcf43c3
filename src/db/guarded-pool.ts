import pg from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { ServiceUnavailableError } from '../errors';
import { DatabaseTimeouts } from './timeouts';

export { DEFAULT_DATABASE_TIMEOUTS, type DatabaseTimeouts } from './timeouts';

/** Room for the server's own statement_timeout to fire and its error to arrive before the client gives up. */
const SILENCE_GRACE_MS = 2_000;

type QueryFn = (...args: unknown[]) => unknown;

interface GuardedClient extends pg.Client {
  /** Statements in flight on this connection. */
  inFlight: number;
  /** Set for a transaction that lifted statement_timeout itself (imports). */
  unbounded: boolean;
  abandon(reason: Error): void;
}

const isSubmittable = (value: unknown) =>
  typeof value === 'object' && value !== null && typeof (value as { submit?: unknown }).submit === 'function';

/**
 * A pg.Client class that gives up on a connection that stays silent past the statement timeout:
 * the connection is destroyed (so the pool discards it rather than lending it out again), the
 * statement fails with a retryable ServiceUnavailableError, and every other idle connection of the
 * same pool is destroyed too, since whatever stalled one most likely stalled them all. Without
 * this, connections to a database that stopped answering stayed in the pool for good: every query
 * still hung 80 s after the database came back.
 */
function watchdogClientClass(silenceMs: number): typeof pg.Client {
  const live = new Set<GuardedClient>();
  return class WatchdogClient extends pg.Client {
    inFlight = 0;
    unbounded = false;

    constructor(config?: string | pg.ClientConfig) {
      super(config);
      const self = this as unknown as GuardedClient;
      live.add(self);
      this.once('end', () => live.delete(self));
      const query = this.query.bind(this) as QueryFn;
      (this as unknown as { query: QueryFn }).query = (...args: unknown[]) => {
        if (silenceMs <= 0 || self.unbounded || isSubmittable(args[0])) return query(...args);
        let stalled: Error | null = null;
        self.inFlight++;
        const timer = setTimeout(() => {
          stalled = new ServiceUnavailableError(`the database did not answer within ${silenceMs} ms`);
          self.abandon(stalled);
          for (const other of live) if (other !== self && other.inFlight === 0) other.abandon(stalled);
        }, silenceMs);
        const settle = () => {
          clearTimeout(timer);
          self.inFlight--;
        };
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          const callback = last as (error: Error | null, result?: unknown) => void;
          return query(...args.slice(0, -1), (error: Error | null, result?: unknown) => {
            settle();
            callback(error ? (stalled ?? error) : null, result);
          });
        }
        return (query(...args) as Promise<unknown>).then(
          (result) => {
            settle();
            return result;
          },
          (error: unknown) => {
            settle();
            throw stalled ?? error;
          },
        );
      };
    }

    abandon(): void {
      const stream = (this as unknown as { connection?: { stream?: { destroy(): void } } }).connection
        ?.stream;
      stream?.destroy();
    }
  } as unknown as typeof pg.Client;
}

/** pg.Pool options (TypeORM's `extra`) that apply the timeouts to every connection of the pool. */
export function guardedPoolOptions(timeouts: DatabaseTimeouts): Record<string, unknown> {
  return {
    connectionTimeoutMillis: timeouts.connectMs,
    // Sent in the start-up packet, so they hold from the first statement of every connection.
    ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs } : {}),
    ...(timeouts.idleInTransactionMs > 0
      ? { idle_in_transaction_session_timeout: timeouts.idleInTransactionMs }
      : {}),
    keepAlive: true,
    Client: watchdogClientClass(timeouts.statementMs > 0 ? timeouts.statementMs + SILENCE_GRACE_MS : 0),
  };
}

/**
 * Lifts statement_timeout, idle_in_transaction_session_timeout and the silence watchdog for the
 * transaction `client` is in (imports run minutes-long statements and parse files between them);
 * call again with false when it is over. SET LOCAL ends with the transaction either way.
 */
export async function allowLongStatements(client: pg.ClientBase, allowed: boolean): Promise<void> {
  const guarded = client as Partial<GuardedClient>;
  if (allowed) {
    await client.query(`SET LOCAL statement_timeout = 0`);
    await client.query(`SET LOCAL idle_in_transaction_session_timeout = 0`);
  }
  if (typeof guarded.inFlight === 'number') guarded.unbounded = allowed;
}

/**
 * Runs `work` in a read transaction free of the request timeouts: for the few reads that are meant
 * to be long (training reads every rating; a million on ml-1m), not for anything a request does.
 */
export async function withLongStatements<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  return dataSource.transaction(async (manager) => {
    // The pg client under TypeORM's query runner (a postgres DataSource's runner always has one).
    const client = (manager.queryRunner as unknown as { databaseConnection?: pg.ClientBase } | undefined)
      ?.databaseConnection;
    if (!client) return work(manager);
    await allowLongStatements(client, true);
    try {
      return await work(manager);
    } finally {
      await allowLongStatements(client, false);
    }
  });
}
