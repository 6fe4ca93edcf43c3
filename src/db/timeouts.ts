/** How long the service waits on PostgreSQL before it tells the client to come back later. */
export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free one in the pool. */
  connectMs: number;
  /**
   * statement_timeout on the server; the client also abandons a connection that stays silent this
   * long plus SILENCE_GRACE_MS (a stalled server or a dropped route never cancels anything). 0: none.
   */
  statementMs: number;
  /** idle_in_transaction_session_timeout: a client that died mid-transaction stops holding locks. 0: none. */
  idleInTransactionMs: number;
}

/**
 * Requests are served in milliseconds (the slowest, a genre-filtered search, took 49 ms with
 * statistics), so ten seconds is only ever hit by a stuck database or a runaway plan; imports lift
 * the limit for their own transaction (allowLongStatements in guarded-pool.ts).
 */
export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 5_000,
  statementMs: 10_000,
  idleInTransactionMs: 30_000,
};
