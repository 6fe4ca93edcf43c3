import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The JSON body, when it is JSON. */
  json: any;
}

/** One POST of a raw body, optionally from a given local address (127.0.0.x are all loopback). */
export function post(
  url: string,
  body: string,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        localAddress,
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = JSON.parse(text);
          } catch {
            // not JSON
          }
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text, json });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export function postQuery(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<RawResponse> {
  return post(url, JSON.stringify({ query, variables }), headers, localAddress);
}

/**
 * Runs `hostile` and meanwhile asks GET /livez one after another; returns the hostile request's
 * result and the slowest liveness answer seen while it was in flight (at least one is asked).
 */
export async function whileProbingLiveness<T>(
  base: string,
  hostile: () => Promise<T>,
): Promise<{ result: T; slowestLivezMs: number; livezStatuses: number[] }> {
  let done = false;
  let slowest = 0;
  const statuses: number[] = [];
  const probe = async () => {
    do {
      const started = performance.now();
      const response = await fetch(`${base}/livez`);
      await response.text();
      statuses.push(response.status);
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    } while (!done);
  };
  const probing = probe();
  try {
    const result = await hostile();
    return { result, slowestLivezMs: slowest, livezStatuses: statuses };
  } finally {
    done = true;
    await probing;
  }
}
