import { spawnSync } from 'node:child_process';
import { DataSource } from 'typeorm';

const LOCAL_REPLICA_URL = 'postgres://postgres@127.0.0.1:5433/test';

/**
 * The streaming replica the tests read from: TEST_REPLICA_URL, or the local one that
 * scripts/setup-replica.sh makes (a replica of the local primary, so only when TEST_DATABASE_URL
 * does not point elsewhere). Checked synchronously so a test file can skip at definition time;
 * `reason` says why there is none.
 */
export function testReplica(): { url: string; reason: null } | { url: null; reason: string } {
  const explicit = process.env.TEST_REPLICA_URL?.trim();
  if (!explicit && process.env.TEST_DATABASE_URL)
    return {
      url: null,
      reason: 'TEST_DATABASE_URL points at another server; set TEST_REPLICA_URL to a streaming replica of it',
    };
  const url = explicit || LOCAL_REPLICA_URL;
  const probe = spawnSync('psql', [url, '-XAtc', 'SELECT pg_is_in_recovery()'], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  if (probe.stdout?.trim() === 't') return { url, reason: null };
  return {
    url: null,
    reason:
      `no streaming replica answers at ${url} (${(probe.stderr || probe.stdout || String(probe.error)).trim() || 'not in recovery'}); ` +
      'start one with: bash scripts/setup-replica.sh',
  };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the replica has replayed everything the primary had written when this was called. */
export async function waitForReplay(primary: DataSource, replica: DataSource): Promise<void> {
  const [{ lsn }]: { lsn: string }[] = await primary.query(`SELECT pg_current_wal_lsn()::text AS lsn`);
  await until('the replica replayed the primary', async () => {
    const [row]: { done: boolean }[] = await replica.query(
      `SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done`,
      [lsn],
    );
    return row.done;
  });
}

/** Replication lag on demand: the replica keeps receiving WAL but applies none of it. */
export async function pauseReplay(replica: DataSource): Promise<void> {
  await replica.query(`SELECT pg_wal_replay_pause()`);
  await until('replay is paused', async () => {
    const [row]: { state: string }[] = await replica.query(`SELECT pg_get_wal_replay_pause_state() AS state`);
    return row.state === 'paused';
  });
}

export async function resumeReplay(replica: DataSource): Promise<void> {
  await replica.query(`SELECT pg_wal_replay_resume()`);
}
