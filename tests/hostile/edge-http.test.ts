import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { TestApi, startTestApi } from '../helpers/api';
import { createTestDatabase, TestDatabase } from '../helpers/database';
import { post, postQuery, whileProbingLiveness } from './hostile-helpers';

/** See query-limits.test.ts: catches seconds-long stalls, not a speed figure. */
const PROMPT_MS = 1000;

interface SocketExchange {
  /** Everything the server sent, in order. */
  received: string;
  /** How the connection ended: the server closed it cleanly, reset it, or it is still open. */
  ending: 'closed' | 'reset' | 'open';
}

/**
 * Writes `chunks` on one raw connection (one keep-alive connection, as a browser or proxy would
 * reuse it) and collects what comes back until `done(received)` or `waitMs`.
 */
function exchange(
  port: number,
  chunks: string[],
  done: (received: string) => boolean,
  waitMs: number,
): Promise<SocketExchange & { ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    let settled = false;
    const finish = (ending: SocketExchange['ending']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, ending, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish('open'), waitMs);
    socket.on('data', (data) => {
      received += data.toString('latin1');
      if (done(received)) finish('open');
    });
    socket.on('end', () => finish('closed'));
    socket.on('error', () => finish('reset'));
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        await new Promise<void>((written) => socket.write(chunk, () => written()));
      }
    });
  });
}

describe('the HTTP edge answers hostile requests with coded errors', () => {
  let db: TestDatabase;
  let api: TestApi;
  let base: string;
  let port: number;

  const userCount = async () =>
    Number((await db.dataSource.query(`SELECT count(*)::int AS n FROM users`))[0].n);

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES (1, 'Heat', 1995, '{Action}')`,
    );
    api = await startTestApi(db.dataSource, {}, { MAX_REQUEST_BYTES: '100000' });
    base = api.url.replace(/\/graphql$/, '');
    port = api.port;
  });

  afterAll(async () => {
    await api.stop();
    await db.drop();
  });

  it('answers malformed JSON with 400 BAD_REQUEST, writing nothing', async () => {
    const before = await userCount();
    const response = await post(
      api.url,
      '{"query": "mutation { onboard(ratings: [{movieId: 1, rating: 4}]) { token } }"',
    );
    expect(response.status).toBe(400);
    expect(response.json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(await userCount()).toBe(before);
  });

  it('answers an oversized body with 413 PAYLOAD_TOO_LARGE, writing nothing', async () => {
    const before = await userCount();
    const padding = ' '.repeat(150_000);
    const response = await post(
      api.url,
      JSON.stringify({
        query: `mutation { onboard(ratings: [{movieId: 1, rating: 4}]) { token } }${padding}`,
      }),
    );
    expect(response.status).toBe(413);
    expect(response.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await userCount()).toBe(before);
  });

  it('keeps a kept-alive connection usable after a 413 on a chunked body of 300 KB', async () => {
    const chunk = 'x'.repeat(30_000);
    const chunked = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;
    const head =
      'POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n' +
      'transfer-encoding: chunked\r\n\r\n';
    const body = Array.from({ length: 10 }, () => chunked(chunk));
    const next = 'GET /livez HTTP/1.1\r\nhost: localhost\r\n\r\n';
    const answered = (received: string) => received.includes('{"status":"ok"}');
    const result = await exchange(port, [head, ...body, '0\r\n\r\n', next], answered, 10_000);
    expect(result.received).toMatch(/^HTTP\/1\.1 413/);
    expect(result.received).toContain('"code":"PAYLOAD_TOO_LARGE"');
    // Either the next request on the connection is answered at once, or the 413 said it closes the
    // connection and the server closed it cleanly: never a stall followed by a reset.
    if (answered(result.received)) expect(result.ms).toBeLessThan(PROMPT_MS * 3);
    else {
      expect(result.received.toLowerCase()).toContain('connection: close');
      expect(result.ending).toBe('closed');
    }
  });

  it('closes the connection cleanly after a 413 for a body far over the limit, and serves others meanwhile', async () => {
    const chunk = 'x'.repeat(64_000);
    const chunked = (data: string) => `${data.length.toString(16)}\r\n${data}\r\n`;
    const head =
      'POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n' +
      'transfer-encoding: chunked\r\n\r\n';
    const { result, slowestLivezMs } = await whileProbingLiveness(base, () =>
      exchange(port, [head, ...Array.from({ length: 40 }, () => chunked(chunk))], () => false, 10_000),
    );
    expect(result.received).toMatch(/^HTTP\/1\.1 413/);
    expect(result.received).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(result.received.toLowerCase()).toContain('connection: close');
    expect(result.ending).not.toBe('open');
    expect(slowestLivezMs).toBeLessThan(PROMPT_MS);
  });

  it('suggests field names outside production', async () => {
    const response = await postQuery(api.url, '{ movie(id: 1) { titel } }');
    expect(response.json.errors[0].message).toMatch(/Did you mean "title"\?/);
  });
});

describe('production mode', () => {
  let db: TestDatabase;
  let production: TestApi;
  let withPlayground: TestApi;

  beforeAll(async () => {
    db = await createTestDatabase();
    production = await startTestApi(db.dataSource, {}, { NODE_ENV: 'production' });
    withPlayground = await startTestApi(
      db.dataSource,
      {},
      { NODE_ENV: 'production', GRAPHQL_PLAYGROUND: 'true' },
    );
  });

  afterAll(async () => {
    await production.stop();
    await withPlayground.stop();
    await db.drop();
  });

  it('does not suggest field, argument or enum names in error messages', async () => {
    const field = await postQuery(production.url, '{ movie(id: 1) { titel } }');
    expect(field.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(field.json.errors[0].message).not.toMatch(/Did you mean/);
    expect(field.json.errors[0].message).toMatch(/Cannot query field "titel"/);
    const enumValue = await postQuery(
      production.url,
      'query ($s: Strategy) { recommendations(userId: 1, strategy: $s) { rank } }',
      { s: 'HYBRD' },
    );
    expect(enumValue.json.errors[0].message).not.toMatch(/Did you mean/);
  });

  it('does not serve GraphiQL by default, and does when GRAPHQL_PLAYGROUND=true', async () => {
    const page = await fetch(production.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('graphiql');
    const asset = await fetch(production.url.replace(/\/graphql$/, '/graphiql/graphiql.js'));
    expect(asset.status).toBe(404);
    const enabled = await fetch(withPlayground.url, { headers: { accept: 'text/html' } });
    expect(await enabled.text()).toContain('<div id="graphiql">');
  });
});
