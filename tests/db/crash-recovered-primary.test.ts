import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDataSource } from '../../src/db/datasource';
import { ReplicaReads } from '../../src/db/read-routing';

/**
 * A primary that went through crash recovery at start still reports the last WAL position it
 * replayed (pg_last_wal_replay_lsn() is not NULL), though it is in recovery no longer. CI's
 * machines start that way (from a snapshot taken with PostgreSQL running), and a read router that
 * took "replay position present" for "is a replica" sent shared reads to a primary posing as one.
 * Reproduced here on a scratch cluster: initdb, a write, an immediate (crash) stop, a restart.
 */
const BIN = '/usr/lib/postgresql/15/bin';
const canMakeCluster =
  process.getuid?.() === 0 &&
  existsSync(path.join(BIN, 'initdb')) &&
  spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).status === 0;
const describeCluster = canMakeCluster ? describe : describe.skip;
if (!canMakeCluster)
  console.warn(`skipped: a scratch cluster needs root, the postgres user and ${BIN}/initdb`);

function asPostgres(command: string): void {
  const run = spawnSync('su', ['postgres', '-s', '/bin/bash', '-c', command], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${command}: ${run.stderr || run.stdout}`);
}

describeCluster('a crash-recovered primary behind DATABASE_READ_URL', () => {
  let dir: string;
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pgCtl = (args: string) => asPostgres(`${BIN}/pg_ctl -D ${dir}/data -l ${dir}/log -w ${args}`);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cinegraph-crashed-'));
    await chmod(dir, 0o777);
    asPostgres(`${BIN}/initdb -A trust -D ${dir}/data >/dev/null`);
    const options = `-o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1"`;
    pgCtl(`${options} start`);
    asPostgres(`psql -h 127.0.0.1 -p ${port} -XAtqc "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"`);
    pgCtl('-m immediate stop');
    pgCtl(`${options} start`);
  }, 60_000);

  afterAll(async () => {
    if (dir && existsSync(path.join(dir, 'data', 'postmaster.pid'))) pgCtl('-m fast stop');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is read as the primary it is, not as a replica', async () => {
    const db = createDataSource({ url, poolSize: 2 });
    await db.initialize();
    try {
      const [state]: { recovering: boolean; replayed: string | null }[] = await db.query(
        `SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed`,
      );
      // The trap: not in recovery, yet a replay position.
      expect(state.recovering).toBe(false);
      expect(state.replayed).not.toBeNull();

      const reads = new ReplicaReads(db, db, { maxLagMs: 1_000 });
      await reads.probe();
      expect(reads.state().down).toBe(true);
      const where = await reads.shared(async () => 'read');
      expect(where).toBe('read');
      expect(reads.state()).toMatchObject({ replicaReads: 0, primaryReads: 1 });
    } finally {
      await db.destroy();
    }
  }, 30_000);
});
