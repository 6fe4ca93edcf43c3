/** Load against a running Cinegraph server, shared by the server benchmarks (bench-serve, bench-instances). */
import autocannon from 'autocannon';
import { ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createRandom } from '../fixtures/synthetic';

/**
 * The V8 flags `npm start` (package.json) and the Docker image run the server with, for the scripts
 * that start servers to measure them; tests/scripts/server-node-flags.test.ts keeps the three equal.
 * A 128 MB semi-space (docs/ARCHITECTURE.md, Memory settings): 32 MB made first COLLABORATIVE lists
 * cheaper (1.14–1.32× at 16 connections) but the lists served from the caches 1.3–3× slower. The old
 * generation grows to twice what the last full collection kept before the next one starts: V8's own
 * factor let it grow by ~10% under distinct-user load, a full collection a second whose marking ran
 * on the API thread; at 25M, first COLLABORATIVE lists at 16 connections, p99 over 6,000 requests
 * 89.6, 84.2, 84.5, 86.1, 68.3 → 65.6, 68.3, 64.0, 64.3, 64.0 ms in turns, the server's RSS the same.
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=128',
  '--heap-growing-percent=100',
];

/** The free-text searches the server benchmarks send (bench-serve, bench-scale, compare-lists). */
export const BENCH_SEARCHES: readonly string[] = [
  'mind-bending thriller about dreams',
  'space adventure with aliens',
  'romantic comedy in Paris',
  'animated movie for kids',
  'gritty crime drama in New York',
];

/** How long a ready server is given to build its in-process content index before measuring anyway. */
const SEARCH_INDEX_WAIT_MS = 180_000;

/**
 * Waits until the server on `base` reports every engine ready and content searches answered where
 * they are configured to be (up to SEARCH_INDEX_WAIT_MS for that), writing to stderr what it still
 * waits for each time that changes. Fails when the server process exits first.
 */
export async function waitUntilReady(
  base: string,
  child: ChildProcess,
  options: {
    pollMilliseconds: number;
    /** Whether messages name the server by `base` (several servers at once) or just say "the server". */
    nameServer: boolean;
  },
): Promise<void> {
  const server = options.nameServer ? `the server on ${base}` : 'the server';
  const prefix = options.nameServer ? `${base}: ` : '';
  let last = '';
  let searchWaitUntil: number | null = null;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${server} exited with code ${child.exitCode}`);
    try {
      const health = (await (await fetch(`${base}/health`)).json()) as {
        engines: Record<string, { ready: boolean; reason?: string }>;
        contentSearch?: { answeredBy: string; configured: string };
      };
      const waiting = Object.entries(health.engines)
        .map(([name, s]) => ({ name, ...s }))
        .filter((s) => !s.ready);
      // The content engine is ready while its in-process index is still being built, and answers
      // from PostgreSQL meanwhile: lists measured or compared then are not the configured search's
      // (compare-lists found the first ~20 users' content lists differing between two runs of one build).
      const search = health.contentSearch;
      if (waiting.length === 0 && search && search.answeredBy !== search.configured) {
        searchWaitUntil ??= Date.now() + SEARCH_INDEX_WAIT_MS;
        if (Date.now() < searchWaitUntil)
          waiting.push({
            name: 'content search',
            ready: false,
            reason: `answered by ${search.answeredBy}, not ${search.configured} yet`,
          });
        else if (last !== 'gave up') {
          process.stderr.write(
            `${prefix}content search still answered by ${search.answeredBy}: measuring anyway\n`,
          );
          last = 'gave up';
        }
      }
      if (waiting.length === 0) return;
      const line = waiting.map((s) => `${s.name}: ${s.reason}`).join(', ');
      if (line !== last) process.stderr.write(`${prefix}waiting for ${line}\n`);
      last = line;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMilliseconds));
  }
}

export interface Outcome {
  latencies: number[];
  errors: number;
  seconds: number;
}

/** One GraphQL request: its body, and the bearer token of the user it is for, if they have one. */
export interface LoadRequest {
  body: string;
  token?: string;
}

/** Where a load's requests come from: each is made just before it is sent. */
export interface RequestSource {
  next(random: () => number): LoadRequest;
}

/**
 * Closed-loop load from autocannon (its HTTP client costs far less CPU than fetch, which matters
 * when client and server share two cores): `connections` requests in flight at all times, for a
 * number of seconds or of requests. `source` draws from one random sequence seeded with `seed`.
 * A response counts as an error unless it is a 200 without GraphQL errors.
 */
export async function drive(
  url: string,
  source: RequestSource,
  connections: number,
  length: { seconds: number } | { amount: number },
  seed = 42,
): Promise<Outcome> {
  const random = createRandom(seed);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  // autocannon notices that a fixed amount of requests is done only at its next one-second tick:
  // timing until it returns counted up to a second of idling (600 requests in 5.04 s, where the last
  // answer came sooner), so the distinct-user cells came out low, in steps of 600/n. The cell ends
  // with its last response.
  let lastResponseAt = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        ...('seconds' in length ? { duration: length.seconds } : { amount: length.amount }),
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const { body, token } = source.next(random);
              return {
                ...request,
                headers: {
                  'content-type': 'application/json',
                  ...(token ? { authorization: `Bearer ${token}` } : {}),
                },
                body,
              };
            },
            onResponse: (status, body) => {
              if (status !== 200 || body.includes('"errors"')) errors++;
            },
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      latencies.push(responseTime);
      lastResponseAt = performance.now();
    });
  });
  const ended = 'amount' in length && latencies.length > 0 ? lastResponseAt : performance.now();
  return {
    latencies,
    errors: errors + result.errors + result.timeouts,
    seconds: (ended - started) / 1000,
  };
}

/** The q-quantile of ascending `sorted` (nearest rank); NaN when it is empty. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
