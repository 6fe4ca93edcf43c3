import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { drive } from '../../scripts/bench-load';

/**
 * A stand-in server: answers every POST with `{"data":{}}` (or a GraphQL error for bodies that ask
 * for one) and records, per connection, the bodies in the order they arrived.
 */
async function recordingServer(): Promise<{
  url: string;
  bodiesBySocket: Map<Socket, string[]>;
  close(): Promise<void>;
}> {
  const bodiesBySocket = new Map<Socket, string[]>();
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const seen = bodiesBySocket.get(request.socket) ?? [];
      seen.push(body);
      bodiesBySocket.set(request.socket, seen);
      response.setHeader('content-type', 'application/json');
      response.end(body.includes('fail') ? '{"errors":[{"message":"no"}]}' : '{"data":{}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    bodiesBySocket,
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

  it('opens every connection with one unmeasured request, then measures exactly the requests asked for', async () => {
    let made = 0;
    const outcome = await drive(
      server.url,
      { next: () => ({ body: JSON.stringify({ query: `{ n${++made} }` }) }) },
      4,
      { amount: 20 },
    );
    expect(made).toBe(20);
    expect(outcome.latencies).toHaveLength(20);
    expect(outcome.errors).toBe(0);
    // Counted from the moment the last connection was open: never more than were measured.
    expect(outcome.responses).toBeGreaterThan(0);
    expect(outcome.responses).toBeLessThanOrEqual(20);
    expect(outcome.seconds).toBeGreaterThan(0);
    const sockets = [...server.bodiesBySocket.values()];
    expect(sockets).toHaveLength(4);
    for (const bodies of sockets) {
      // The opener first, on every connection, and nowhere else.
      expect(JSON.parse(bodies[0])).toEqual({ query: '{ __typename }' });
      expect(bodies.slice(1).every((body) => !body.includes('__typename'))).toBe(true);
    }
    const measured = sockets.flatMap((bodies) => bodies.slice(1));
    expect(measured.sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => JSON.stringify({ query: `{ n${i + 1} }` })).sort(),
    );
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
