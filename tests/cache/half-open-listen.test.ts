import { TcpProxy } from '../../fixtures/tcp-proxy';
import { VersionFeed, Versions } from '../../src/cache';
import { ConfigError, loadConfig } from '../../src/config';
import { bumpCatalogVersion } from '../../src/db/versions';
import { createTestDatabase, TestDatabase } from '../helpers/database';

const HEARTBEAT_MS = 200;

/** Polls `check` until it holds; the deadline only bounds a failing test, it measures nothing. */
async function eventually(check: () => boolean | Promise<boolean>, what: string, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The LISTEN connection goes through a TCP proxy that, mid-test, swallows everything without closing
 * the feed's socket: no error, no end, as a partition or a NAT that forgot the flow looks to the
 * client. Polling and the test's own writes use a direct pool, as the rest of an instance would
 * (its pooled connections are renewed; only the long-idle LISTEN flow was forgotten).
 */
describe('a half-open LISTEN connection', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let versions: Versions;
  let feed: VersionFeed;
  const logged: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(2);
    proxy = new TcpProxy('127.0.0.1', Number(new URL(db.url).port || 5432));
    await proxy.start();
    versions = new Versions();
    feed = new VersionFeed({
      versions,
      query: (sql, params) => db.dataSource.query(sql, params),
      listen: { url: proxy.url(db.url), schema: db.schema, connectTimeoutMs: 500 },
      pollMs: 100,
      reconnectMs: { min: 100, max: 400 },
      heartbeatMs: HEARTBEAT_MS,
      log: (message) => logged.push(message),
    });
    await feed.start();
  });

  afterAll(async () => {
    await feed?.stop();
    await proxy?.stop();
    await db?.drop();
  });

  /** A new catalog version committed (with its notice) on a direct connection; returns it. */
  const bumpCatalog = async (): Promise<number> => {
    await bumpCatalogVersion((sql) => db.dataSource.query(sql));
    const [row] = await db.dataSource.query(`SELECT version FROM data_versions WHERE name = 'catalog'`);
    return Number(row.version);
  };

  it('is noticed by the heartbeat: polling delivers meanwhile, and it listens again once the network is back', async () => {
    expect(feed.state()).toBe('listening');
    const first = await bumpCatalog();
    await eventually(() => versions.catalog === first, 'the notice arrives through the proxy');
    expect(feed.counts.notices).toBe(1);
    // Several heartbeats answered: a healthy connection is kept.
    const pid = feed.listenerPid();
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 4));
    expect(feed.state()).toBe('listening');
    expect(feed.listenerPid()).toBe(pid);

    proxy.stall();
    await eventually(() => feed.state() === 'polling', 'the feed notices the silent connection');
    expect(feed.counts.heartbeatTimeouts).toBe(1);
    expect(feed.listenerPid()).toBeNull();
    expect(logged.filter((line) => /did not answer a heartbeat/.test(line))).toHaveLength(1);

    const polls = feed.counts.polls;
    const second = await bumpCatalog();
    await eventually(() => versions.catalog === second, 'polling brings the new version');
    expect(feed.counts.polls).toBeGreaterThan(polls);
    expect(feed.counts.notices).toBe(1);
    // New connections are black holes too while the stall lasts: reconnecting keeps failing.
    expect(feed.state()).toBe('polling');
    expect(feed.counts.reconnects).toBe(0);

    proxy.restore();
    await eventually(() => feed.state() === 'listening', 'the feed listens again');
    expect(feed.counts.reconnects).toBe(1);
    expect(feed.listenerPid()).not.toBeNull();
    expect(feed.listenerPid()).not.toBe(pid);
    const third = await bumpCatalog();
    await eventually(() => versions.catalog === third, 'the notice arrives again');
    expect(feed.counts.notices).toBe(2);
    expect(feed.counts.heartbeatTimeouts).toBe(1);
  });
});

describe('VERSION_FEED_HEARTBEAT_MS', () => {
  it('defaults to 10 s and is validated', () => {
    expect(loadConfig({}).versionFeedHeartbeatMs).toBe(10_000);
    expect(loadConfig({ VERSION_FEED_HEARTBEAT_MS: '2500' }).versionFeedHeartbeatMs).toBe(2500);
    expect(() => loadConfig({ VERSION_FEED_HEARTBEAT_MS: 'often' })).toThrow(ConfigError);
    expect(() => loadConfig({ VERSION_FEED_HEARTBEAT_MS: '10' })).toThrow(ConfigError);
  });
});
