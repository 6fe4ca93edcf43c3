import { DataSource, EntityManager } from 'typeorm';
import { errorCode } from './errors';

/** Serialization failure and deadlock: PostgreSQL rolled the transaction back and it may simply run again. */
const RETRYABLE_STATES = new Set(['40001', '40P01']);

/**
 * Four tries: with writes taking their locks in a fixed order a deadlock should not happen at all,
 * so this only covers what ordering cannot (another writer with another order, such as psql, or a
 * serializable transaction elsewhere); an error that survives them answers SERVICE_UNAVAILABLE.
 */
const ATTEMPTS = 4;

/**
 * Runs `work` in a transaction, and again (after a short random pause, so the colliding writers do
 * not meet again in step) when PostgreSQL aborted it as a deadlock victim or serialization failure.
 * `work` must be safe to repeat: everything it wrote was rolled back with the failed attempt.
 */
export async function transactionWithRetry<T>(
  db: DataSource,
  work: (tx: EntityManager) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= ATTEMPTS || !RETRYABLE_STATES.has(errorCode(error) ?? '')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
    }
  }
}
