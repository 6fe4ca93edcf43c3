import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { drive, processCpuSeconds } from '../../scripts/bench-load';

const OPENER = JSON.stringify({ query: '{ __typename }' });

/**
 * A stand-in server: answers every POST with `{"data":{}}` (or a GraphQL error for bodies that ask
 * for one) and records, per connection, the bodies in the order they arrived, and when. The first
 * request on the `slowSocket`-th connection to arrive is answered `slowMs` late: a connection that
 * opens late.
 */
async function recordingServer(options: { slowSocket?: number; slowMs?: number } = {}): Promise<{
  url: string;
  bodiesBySocket: Map<Socket, string[]>;
  arrivals: { body: string; at: number }[];
  close(): Promise<void>;
}> {
  const bodiesBySocket = new Map<Socket, string[]>();
  const arrivals: { body: string; at: number }[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const seen = bodiesBySocket.get(request.socket) ?? [];
      seen.push(body);
      bodiesBySocket.set(request.socket, seen);
      arrivals.push({ body, at: performance.now() });
      response.setHeader('content-type', 'application/json');
      const answer = () =>
        response.end(body.includes('fail') ? '{"errors":[{"message":"no"}]}' : '{"data":{}}');
      const late = seen.length === 1 && bodiesBySocket.size === options.slowSocket;
      if (late) setTimeout(answer, options.slowMs ?? 0);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    bodiesBySocket,
    arrivals,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('drive: the benchmarks’ closed-loop load', () => {
  let server: Awaited<ReturnType<typeof recordingServer>>;
  beforeEach(async () => {
    server = await recordingServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('opens every connection with an unmeasured request, then measures exactly the requests asked for', async () => {
    let made = 0;
    const outcome = await drive(
      server.url,
      { next: () => ({ body: JSON.stringify({ query: `{ n${++made} }` }) }) },
      4,
      { amount: 20 },
    );
    expect(made).toBe(20);
    expect(outcome.latencies).toHaveLength(20);
    expect(outcome.responses).toBe(20);
    expect(outcome.errors).toBe(0);
    expect(outcome.seconds).toBeGreaterThan(0);
    const sockets = [...server.bodiesBySocket.values()];
    expect(sockets).toHaveLength(4);
    // The opener first on every connection; whatever else is not measured is an opener too.
    for (const bodies of sockets) expect(bodies[0]).toBe(OPENER);
    const measured = sockets.flatMap((bodies) => bodies.filter((body) => body !== OPENER));
    expect(measured.sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => JSON.stringify({ query: `{ n${i + 1} }` })).sort(),
    );
  });

  it('sends no measured request until the last connection is open, and then uses every connection', async () => {
    await server.close();
    server = await recordingServer({ slowSocket: 4, slowMs: 150 });
    let made = 0;
    const outcome = await drive(
      server.url,
      { next: () => ({ body: JSON.stringify({ query: `{ n${++made} }` }) }) },
      4,
      { amount: 40 },
    );
    expect(outcome.latencies).toHaveLength(40);
    const slowOpenerAt = server.arrivals.filter((a) => a.body === OPENER)[3].at;
    const firstMeasuredAt = Math.min(...server.arrivals.filter((a) => a.body !== OPENER).map((a) => a.at));
    // The late connection's opener is answered 150 ms after it arrived; the others sent openers
    // meanwhile, and nothing measured.
    expect(firstMeasuredAt).toBeGreaterThanOrEqual(slowOpenerAt + 140);
    for (const bodies of server.bodiesBySocket.values())
      expect(bodies.filter((body) => body !== OPENER).length).toBeGreaterThan(0);
  });

  it('measures for the seconds asked for, from the moment every connection is open', async () => {
    const outcome = await drive(server.url, { next: () => ({ body: '{"query":"{ ok }"}' }) }, 3, {
      seconds: 0.3,
    });
    expect(outcome.responses).toBeGreaterThan(0);
    expect(outcome.latencies).toHaveLength(outcome.responses);
    expect(outcome.seconds).toBeGreaterThanOrEqual(0.25);
    expect(outcome.seconds).toBeLessThan(1);
  });

  it('counts GraphQL errors among the measured requests', async () => {
    let made = 0;
    const outcome = await drive(
      server.url,
      { next: () => ({ body: JSON.stringify({ query: ++made % 2 === 0 ? '{ fail }' : '{ ok }' }) }) },
      2,
      { amount: 10 },
    );
    expect(outcome.latencies).toHaveLength(10);
    expect(outcome.errors).toBe(5);
  });
});

describe('processCpuSeconds: a server’s CPU for its per-request figure', () => {
  const linux = process.platform === 'linux' ? it : it.skip;

  linux('grows by about the CPU a process spent, and is null for a process that is not there', () => {
    const before = processCpuSeconds(process.pid) as number;
    const started = process.cpuUsage();
    let spent = 0;
    while (spent < 300_000) {
      const used = process.cpuUsage(started);
      spent = used.user + used.system;
    }
    const after = processCpuSeconds(process.pid) as number;
    // Ticks of 10 ms: 0.3 s of CPU reads 0.29–0.31 s, plus what other threads of this process ran.
    expect(after - before).toBeGreaterThanOrEqual(0.27);
    expect(after - before).toBeLessThan(1);
    expect(processCpuSeconds(2 ** 22 + 1)).toBeNull();
    expect(processCpuSeconds(undefined)).toBeNull();
  });
});
