import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { JobStatus } from './worker';

export interface WorkerServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * The worker's own small HTTP surface for orchestrators and Prometheus: /livez (the process runs),
 * /readyz (the database answers; the jobs with their progress), /metrics.
 */
export async function startWorkerServer(options: {
  host: string;
  port: number;
  ping(): Promise<unknown>;
  pingTimeoutMs: number;
  jobs(): JobStatus[];
  registry: Registry;
}): Promise<WorkerServer> {
  const send = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    response.end(JSON.stringify(body));
  };
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET') return send(response, 405, { error: 'GET only' });
    if (path === '/livez') return send(response, 200, { status: 'ok' });
    if (path === '/readyz') {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${options.pingTimeoutMs} ms`)),
          options.pingTimeoutMs,
        );
      });
      Promise.race([options.ping(), deadline]).then(
        () => {
          clearTimeout(timer);
          send(response, 200, {
            status: 'ready',
            database: { ok: true, latencyMs: Date.now() - started },
            jobs: options.jobs(),
          });
        },
        (error: unknown) => {
          clearTimeout(timer);
          send(response, 503, {
            status: 'unavailable',
            reason: `database unavailable: ${error instanceof Error ? error.message : String(error)}`,
            jobs: options.jobs(),
          });
        },
      );
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(text);
        },
        (error: unknown) => send(response, 500, { error: String(error) }),
      );
      return;
    }
    send(response, 404, { error: 'not found: /livez, /readyz, /metrics' });
  });
  server.listen(options.port, options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
