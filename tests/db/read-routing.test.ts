import type { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../../src/config';
import { ReplicaReads } from '../../src/db/read-routing';

/**
 * Two fake servers with WAL positions the test moves by hand, and a hand-driven clock: the routing
 * rules without timing. Each fake answers its own name to any other statement.
 */
function servers() {
  const state = { primaryLsn: 100n, replayed: 100n, replicaFails: false as boolean, inRecovery: true };
  const primary = {
    query: async (sql: string) =>
      sql.includes('pg_current_wal_lsn') ? [{ lsn: String(state.primaryLsn) }] : 'primary',
  } as unknown as DataSource;
  const replica = {
    query: async (sql: string) => {
      if (state.replicaFails)
        throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (sql.includes('pg_last_wal_replay_lsn'))
        return [{ replayed: state.inRecovery ? String(state.replayed) : null }];
      return 'replica';
    },
  } as unknown as DataSource;
  return { state, primary, replica };
}

const where = (db: DataSource) => db.query('SELECT 1') as Promise<string>;

describe('ReplicaReads routing rules', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => {
    clock = 1_000;
  });

  it('reads the primary until a probe has shown the replica caught up, then the replica', async () => {
    const { primary, replica } = servers();
    const reads = new ReplicaReads(primary, replica, { maxLagMs: 500, probeIntervalMs: 100, now });
    expect(await reads.shared(where)).toBe('primary');
    await reads.probe();
    expect(await reads.shared(where)).toBe('replica');
  });

  it('keeps a writer on the primary until the replica replayed a position sampled after the write, not before', async () => {
    const { state, primary, replica } = servers();
    const reads = new ReplicaReads(primary, replica, { maxLagMs: 10_000, now });
    await reads.probe();
    // A probe sampled before the write and answered after it must not release the writer.
    state.primaryLsn = 200n;
    clock = 1_010;
    const before = reads.probe();
    clock = 1_020;
    reads.wrote(7);
    state.primaryLsn = 300n; // the write
    state.replayed = 200n;
    await before;
    expect(await reads.ofUser(7, where)).toBe('primary');
    expect(await reads.ofUser([3, 7], where)).toBe('primary');
    expect(await reads.ofUser(3, where)).toBe('replica');
    expect(await reads.shared(where)).toBe('replica');
    // Sampled after the write, but not replayed yet.
    clock = 1_030;
    await reads.probe();
    expect(await reads.ofUser(7, where)).toBe('primary');
    state.replayed = 300n;
    clock = 1_040;
    await reads.probe();
    expect(await reads.ofUser(7, where)).toBe('replica');
    expect(reads.state().pinnedUsers).toBe(0);
  });

  it('bounds staleness by the time of the newest primary position the replica has replayed', async () => {
    const { state, primary, replica } = servers();
    const reads = new ReplicaReads(primary, replica, { maxLagMs: 500, now });
    await reads.probe();
    state.primaryLsn = 150n; // written at 1000, never replayed
    for (const at of [1_100, 1_400, 1_700]) {
      clock = at;
      await reads.probe();
    }
    expect(reads.state().lagBoundMs).toBe(700);
    expect(await reads.shared(where)).toBe('primary');
    state.replayed = 150n;
    await reads.probe();
    expect(reads.state().lagBoundMs).toBe(0);
    expect(await reads.shared(where)).toBe('replica');
  });

  it('re-runs a read on the primary when the replica fails, and returns only after a probe succeeds', async () => {
    const { state, primary, replica } = servers();
    const events: string[] = [];
    const reads = new ReplicaReads(primary, replica, {
      maxLagMs: 500,
      now,
      onChange: (event) => events.push(event.kind),
    });
    await reads.probe();
    state.replicaFails = true;
    expect(await reads.shared(where)).toBe('primary');
    expect(reads.state().down).toBe(true);
    state.replicaFails = false;
    expect(await reads.shared(where)).toBe('primary');
    await reads.probe();
    expect(await reads.shared(where)).toBe('replica');
    expect(events).toEqual(['down', 'up']);
    // A statement error that is not about availability is the caller's, not a reason to switch.
    await expect(
      reads.shared(async () => {
        throw Object.assign(new Error('syntax error'), { code: '42601' });
      }),
    ).rejects.toThrow('syntax error');
    expect(reads.state().down).toBe(false);
  });

  it('after a change of shared data, reads the primary until a probe stamped after it was replayed', async () => {
    const { state, primary, replica } = servers();
    const reads = new ReplicaReads(primary, replica, { maxLagMs: 10_000, now });
    await reads.probe();
    clock = 1_010;
    reads.changed();
    state.primaryLsn = 500n; // the import
    expect(await reads.shared(where)).toBe('primary');
    expect(await reads.ofUser(3, where)).toBe('primary');
    clock = 1_020;
    await reads.probe();
    expect(await reads.shared(where)).toBe('primary');
    state.replayed = 500n;
    clock = 1_030;
    await reads.probe();
    expect(await reads.shared(where)).toBe('replica');
  });

  it('treats a server that is not in recovery as no replica', async () => {
    const { state, primary, replica } = servers();
    state.inRecovery = false;
    const reads = new ReplicaReads(primary, replica, { maxLagMs: 500, now });
    await reads.probe();
    expect(reads.state().down).toBe(true);
    expect(await reads.shared(where)).toBe('primary');
  });
});

describe('DATABASE_READ_URL configuration', () => {
  it('needs DATABASE_URL and validates the lag bound', () => {
    expect(() => loadConfig({ DATABASE_READ_URL: 'postgres://replica/db' })).toThrow(ConfigError);
    const config = loadConfig({
      DATABASE_URL: 'postgres://primary/db',
      DATABASE_READ_URL: ' postgres://replica/db ',
    });
    expect(config.databaseReadUrl).toBe('postgres://replica/db');
    expect(config.readReplicaMaxLagMs).toBe(5_000);
    expect(loadConfig({}).databaseReadUrl).toBeNull();
    expect(() => loadConfig({ READ_REPLICA_MAX_LAG_MS: 'soon' })).toThrow(ConfigError);
  });
});
