import { once } from 'node:events';
import net from 'node:net';
import { openDatabase } from '../../src/db/datasource';
import { StatisticalEngine } from '../../src/engines/statistical';
import type { RecommendationRequest, ScoredMovie } from '../../src/engines/engine';
import { createLogger } from '../../src/logger';
import { graphql, startTestApi, TestApi } from '../helpers/api';
import { createTestDatabase, TEST_DATABASE_URL, TestDatabase } from '../helpers/database';
import { FullStack, startFullStack } from '../helpers/full-stack';

type LogLine = Record<string, unknown> & { level: string; msg: string };

/** A pino destination that keeps every line, parsed. */
function collectingLogger(level: 'debug' | 'info') {
  const lines: LogLine[] = [];
  const logger = createLogger(level, {
    destination: { write: (line: string) => lines.push(JSON.parse(line)) },
  });
  return { logger, lines };
}

/** Prometheus text → value by "name{labels}" (labels as printed). */
async function scrape(base: string): Promise<Map<string, number>> {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

const baseOf = (api: TestApi) => api.url.replace(/\/graphql$/, '');

const RECOMMENDATIONS = `query Recs($u: Int!) {
  recommendations(userId: $u, strategy: HYBRID, first: 5) { rank movie { id title } }
}`;

describe('metrics and request logs', () => {
  let stack: FullStack;
  let lines: LogLine[];
  let base: string;

  beforeAll(async () => {
    const collected = collectingLogger('debug');
    lines = collected.lines;
    stack = await startFullStack({}, collected.logger);
    base = baseOf(stack.api);
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('/metrics counts requests by operation and outcome, latency by strategy, engines, caches and the model', async () => {
    const before = await scrape(base);
    const userId = stack.catalog.ratings[0].userId;
    for (let i = 0; i < 2; i++) {
      const answer = await graphql(stack.api.url, RECOMMENDATIONS, { u: userId });
      expect(answer.errors).toBeUndefined();
    }
    for (let i = 0; i < 2; i++) {
      const answer = await graphql(
        stack.api.url,
        `
          {
            trending(first: 3, windowDays: 3650) {
              score
            }
          }
        `,
      );
      expect(answer.errors).toBeUndefined();
    }
    const bad = await graphql(
      stack.api.url,
      `query Bad { recommendations(userId: ${userId}, diversity: 2) { rank } }`,
    );
    const badCode = bad.errors?.[0].extensions?.code;
    expect(badCode).toBe('BAD_USER_INPUT');
    const after = await scrape(base);

    const moved = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(moved('cinegraph_graphql_requests_total{operation="Recs",outcome="ok"}')).toBe(2);
    expect(moved('cinegraph_graphql_requests_total{operation="Bad",outcome="BAD_USER_INPUT"}')).toBe(1);
    expect(
      moved('cinegraph_graphql_request_duration_seconds_count{operation="Recs",strategy="HYBRID"}'),
    ).toBe(2);
    expect(moved('cinegraph_http_requests_total{route="/graphql",status="200"}')).toBe(5);
    // The first HYBRID request asks every engine; the second is the finished list, from the cache.
    for (const engine of ['collaborative', 'content', 'statistical'])
      expect(
        moved(`cinegraph_engine_duration_seconds_count{engine="${engine}",method="recommend",outcome="ok"}`),
      ).toBe(1);
    expect(moved('cinegraph_cache_hits_total{cache="orchestrator_lists"}')).toBe(1);
    expect(moved('cinegraph_cache_misses_total{cache="orchestrator_lists"}')).toBeGreaterThanOrEqual(1);
    expect(moved('cinegraph_cache_hits_total{cache="rating_history"}')).toBeGreaterThan(0);
    // The second trending request is the first one's answer.
    expect(moved('cinegraph_cache_misses_total{cache="statistical_trending"}')).toBe(1);
    expect(moved('cinegraph_cache_hits_total{cache="statistical_trending"}')).toBe(1);
    expect(after.get('cinegraph_cache_hit_ratio{cache="orchestrator_lists"}')).toBeGreaterThan(0);
    expect(after.get('cinegraph_model_version')).toBe(stack.collaborative.activeVersionId());
    expect(after.get('cinegraph_model_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(after.get('cinegraph_engine_ready{engine="content"}')).toBe(1);
    expect(after.get('cinegraph_db_pool_connections{state="max"}')).toBe(6);
    expect(after.has('cinegraph_db_pool_waiting')).toBe(true);
    expect(after.has('cinegraph_process_nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('each API instance has its own registry', async () => {
    const other = await startTestApi(stack.db.dataSource);
    try {
      await graphql(other.url, RECOMMENDATIONS, { u: 1 });
      const counted = await scrape(baseOf(other));
      expect(counted.get('cinegraph_graphql_requests_total{operation="Recs",outcome="ok"}')).toBe(1);
      const mine = await scrape(base);
      expect(mine.get('cinegraph_graphql_requests_total{operation="Recs",outcome="ok"}')).toBe(2);
    } finally {
      await other.stop();
    }
  });

  it('writes one JSON line per request with its id, operation, strategy, outcome and duration', async () => {
    const response = await fetch(stack.api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'client-chosen-42' },
      body: JSON.stringify({ query: RECOMMENDATIONS, variables: { u: 2 } }),
    });
    expect(response.headers.get('x-request-id')).toBe('client-chosen-42');
    await response.text();
    const line = lines.find((l) => l.msg === 'request' && l.reqId === 'client-chosen-42');
    expect(line).toMatchObject({
      level: 'info',
      method: 'POST',
      route: '/graphql',
      status: 200,
      operation: 'Recs',
      strategy: 'HYBRID',
      outcome: 'ok',
    });
    expect(typeof line?.durationMs).toBe('number');
    expect(typeof line?.time).toBe('string');

    // Without a request id (or with one not fit to echo) the server makes one.
    const generated = await fetch(stack.api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'spaces and {braces} are not echoed' },
      body: JSON.stringify({ query: '{ health { ok } }' }),
    });
    const id = generated.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await generated.text();
    expect(lines.some((l) => l.msg === 'request' && l.reqId === id && l.operation === 'health')).toBe(true);
  });

  it('LOG_LEVEL=debug adds each received request and each engine call', () => {
    expect(
      lines.some(
        (l) => l.level === 'debug' && l.msg === 'request received' && l.reqId === 'client-chosen-42',
      ),
    ).toBe(true);
    const engineCall = lines.find((l) => l.level === 'debug' && l.msg === 'engine collaborative.recommend');
    expect(engineCall).toMatchObject({ engine: 'collaborative', method: 'recommend', outcome: 'ok' });
    expect(typeof engineCall?.results).toBe('number');
  });

  it('an internal error is logged with the request id, and the client sees it masked', async () => {
    class FailingStatistical extends StatisticalEngine {
      override async recommend(_request: RecommendationRequest): Promise<ScoredMovie[]> {
        throw new Error('statistical ranking exploded');
      }
    }
    const collected = collectingLogger('info');
    const failing = new FailingStatistical(stack.db.dataSource);
    const api = await startTestApi(
      stack.db.dataSource,
      { statistical: failing, all: [failing] },
      {},
      collected.logger,
    );
    try {
      const answer = await graphql(
        api.url,
        `
          {
            recommendations(userId: 1, strategy: STATISTICAL) {
              rank
            }
          }
        `,
        {},
        { 'x-request-id': 'boom-7' },
      );
      expect(answer.errors?.[0]).toMatchObject({
        message: 'Internal server error',
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      });
      const error = collected.lines.find((l) => l.level === 'error');
      expect(error).toMatchObject({ reqId: 'boom-7', msg: 'internal error while resolving a request' });
      expect((error?.err as { message: string }).message).toBe('statistical ranking exploded');
      expect(collected.lines.find((l) => l.msg === 'request' && l.reqId === 'boom-7')?.outcome).toBe(
        'INTERNAL_SERVER_ERROR',
      );
    } finally {
      await api.stop();
    }
  });
});

/**
 * A TCP proxy in front of the shared PostgreSQL: cutting it makes the database unreachable for the
 * API under test only (the others using that server carry on).
 */
class CuttableProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Refuses new connections and drops the open ones. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

describe('/readyz follows the database', () => {
  let db: TestDatabase;
  let proxy: CuttableProxy;
  let proxied: Awaited<ReturnType<typeof openDatabase>>;
  let api: TestApi;
  let base: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(TEST_DATABASE_URL);
    proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.open();
    const url = new URL(TEST_DATABASE_URL);
    url.host = `127.0.0.1:${proxy.port}`;
    proxied = await openDatabase({ url: url.toString(), poolSize: 2, schema: db.schema });
    api = await startTestApi(proxied, {}, { READINESS_TIMEOUT_MS: '2000' });
    base = baseOf(api);
  });
  afterAll(async () => {
    await api?.stop();
    await proxied?.destroy();
    await proxy?.cut();
    await db?.drop();
  });

  const readyz = async () => {
    const response = await fetch(`${base}/readyz`);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('answers 200, then 503 with the reason while PostgreSQL is unreachable, then 200 again without a restart', async () => {
    expect(await readyz()).toMatchObject({ status: 200, body: { status: 'ready' } });
    expect((await fetch(`${base}/livez`)).status).toBe(200);

    await proxy.cut();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'unavailable', database: { ok: false } });
    expect(String(down.body.reason)).toMatch(/^database unavailable: /);
    // Liveness is the process, not its dependencies.
    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'unavailable', databasePing: { ok: false } });
    const field = await graphql<{ health: { ok: boolean; reason: string | null } }>(
      api.url,
      '{ health { ok reason } }',
    );
    expect(field.data?.health.ok).toBe(false);
    expect(field.data?.health.reason).toMatch(/^database unavailable/);

    await proxy.open();
    let back = await readyz();
    // The pool notices dropped connections as it uses them: a failed ping or two may come first.
    for (let attempt = 0; back.status !== 200 && attempt < 20; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await readyz();
    }
    expect(back).toMatchObject({ status: 200, body: { status: 'ready', database: { ok: true } } });
    const healthy = await graphql<{ health: { ok: boolean } }>(api.url, '{ health { ok } }');
    expect(healthy.data?.health.ok).toBe(true);
  });
});
