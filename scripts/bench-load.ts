/** Load against a running Cinegraph server, shared by the server benchmarks (bench-serve, bench-instances). */
import autocannon from 'autocannon';
import { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
 * V8 optimises a function once ~8 KB of its bytecode has run, not ~66 KB (Node 20's default), so
 * the request path runs optimised code after a few hundred lists rather than a few thousand:
 * ml-latest-small, the 600 distinct-user HYBRID lists at 16 then 64 connections, five rounds
 * in turns (2026-12-07 23:32–23:37 UTC, load average 0.5–3.8): the server's CPU a list at 16
 * connections 2.07–2.13 → 1.68–1.77 ms, p99 at 64 connections 96, 94, 109, 100, 111 → 86, 90, 85,
 * 89, 95 ms; 1M (`bench:scale --sizes 1M --connections 16`, two rounds each in turns, 00:22–00:29
 * UTC): HYBRID 493, 491 → 561, 564 lists/s (p99 56, 54 → 48, 46 ms), the other cells alike, but the
 * first 64 lists after the start p99 175, 176 → 277, 207 ms (more compiling while they run).
 * Later cells of a warm server ran the same (16,64,64,64,64 connections, two rounds each).
 */
export const SERVER_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=128',
  '--heap-growing-percent=100',
  '--interrupt-budget=8000',
];

/** The free-text searches the server benchmarks send (bench-serve, bench-scale, compare-lists). */
export const BENCH_SEARCHES: readonly string[] = [
  'mind-bending thriller about dreams',
  'space adventure with aliens',
  'romantic comedy in Paris',
  'animated movie for kids',
  'gritty crime drama in New York',
];

/** How long a ready server is given to build its in-process content index (and its neighbour table) before measuring anyway. */
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
        contentSearch?: { answeredBy: string; configured: string; building?: boolean };
      };
      const waiting = Object.entries(health.engines)
        .map(([name, s]) => ({ name, ...s }))
        .filter((s) => !s.ready);
      // The content engine is ready while its in-process index is still being built, and answers
      // from PostgreSQL meanwhile: lists measured or compared then are not the configured search's
      // (compare-lists found the first ~20 users' content lists differing between two runs of one build).
      // Its neighbour table is built next, and lists take their content candidates there once it is.
      const search = health.contentSearch;
      const searchPending = search && (search.answeredBy !== search.configured || search.building === true);
      if (waiting.length === 0 && search && searchPending) {
        searchWaitUntil ??= Date.now() + SEARCH_INDEX_WAIT_MS;
        if (Date.now() < searchWaitUntil)
          waiting.push({
            name: 'content search',
            ready: false,
            reason:
              search.answeredBy !== search.configured
                ? `answered by ${search.answeredBy}, not ${search.configured} yet`
                : 'the in-process index or its neighbour table building',
          });
        else if (last !== 'gave up') {
          process.stderr.write(
            `${prefix}content search still answered by ${search.answeredBy}${search.building ? ' (building)' : ''}: measuring anyway\n`,
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
  /** The measured requests' latencies, ms (not those of the requests that opened the connections). */
  latencies: number[];
  errors: number;
  /** From the moment every connection had been opened to the last response (or the end of the load). */
  seconds: number;
  /** Responses within those seconds: the rate is responses / seconds. */
  responses: number;
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

/** What every connection sends first: answered without any engine, and not measured. */
const CONNECTION_OPENER = JSON.stringify({ query: '{ __typename }' });

/**
 * Closed-loop load from autocannon (its HTTP client costs far less CPU than fetch, which matters
 * when client and server share two cores): `connections` requests in flight at all times, for a
 * number of seconds or of requests. `source` draws from one random sequence seeded with `seed`.
 * A measured response counts as an error unless it is a 200 without GraphQL errors.
 *
 * Nothing is measured until every connection is open, and until then each open connection sends
 * only CONNECTION_OPENER. Node 20's libuv accepts one connection per event-loop iteration
 * (libuv#3696), and an iteration of a loaded server is tens of ms: a cell's 64 new connections to a
 * server still busy were accepted over ~2.3 s, one every ~50 ms (the listening socket's accept queue
 * held 57 at first, `ss -ltn`), and the first request on each waited that long (2026-12-07). Until
 * 2026-12-07 18:00 UTC the connections already open sent measured requests meanwhile: in
 * ml-latest-small's distinct-user HYBRID cells of 600 requests at 64 connections, 320–499 of the
 * 600 were answered before the last connection opened, at a fraction of the concurrency, so three
 * of four such cells read p50 21–46 ms at 910–1,062 lists/s, where 64 in flight at that rate means
 * 60–70 ms. autocannon's `amount` also gave each connection an equal
 * share (amount / connections), so connections that opened early ran out early. Now the load is a
 * pool of open connections, as a client with one sends it: fillers until the last opens, then
 * measured requests on every connection until `amount` are built (or `seconds` have passed), then
 * fillers again until the measured ones are answered.
 */
export async function drive(
  url: string,
  source: RequestSource,
  connections: number,
  length: { seconds: number } | { amount: number },
  seed = 42,
  options: { timeoutSeconds?: number } = {},
): Promise<Outcome> {
  const random = createRandom(seed);
  const latencies: number[] = [];
  let errors = 0;
  const opened = new Set<unknown>();
  let allOpenedAt: number | null = null;
  let measuredUntil = Infinity;
  let built = 0;
  let pending = 0;
  let lastResponseAt = performance.now();
  // onResponse (which sees the request's context) runs just before the client emits 'response'
  // (which has its time), synchronously, in autocannon's httpClient: this carries one to the other.
  let answeredWasMeasured = false;
  const measuring = () =>
    allOpenedAt !== null && ('amount' in length ? built < length.amount : performance.now() < measuredUntil);
  const finishedMeasuring = () => allOpenedAt !== null && !measuring() && pending === 0;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        // Stopped from here once the measured requests are answered; the duration only bounds a
        // load that never gets its connections open.
        duration: 'seconds' in length ? length.seconds + 120 : 3600,
        sampleInt: 100,
        ...(options.timeoutSeconds ? { timeout: options.timeoutSeconds } : {}),
        requests: [
          {
            method: 'POST',
            setupRequest: (request, context: { measured?: boolean }) => {
              if (!measuring()) {
                context.measured = false;
                return {
                  ...request,
                  headers: { 'content-type': 'application/json' },
                  body: CONNECTION_OPENER,
                };
              }
              context.measured = true;
              built++;
              pending++;
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
            onResponse: (status, body, context: { measured?: boolean }) => {
              answeredWasMeasured = context.measured === true;
              if (answeredWasMeasured && (status !== 200 || body.includes('"errors"'))) errors++;
            },
          },
        ],
      },
      (error, finished) => (error ? reject(error) : resolve(finished)),
    );
    const stopLoad = () => instance.stop();
    // A measured request lost with its connection is never answered: the load ends anyway once
    // the last one built has had its timeout (autocannon's default is 10 s) and a second more.
    const lostAfterMs = ((options.timeoutSeconds ?? 10) + 1) * 1000;
    let lostTimer: NodeJS.Timeout | undefined;
    instance.on('response', (client: unknown, _status: number, _bytes: number, responseTime: number) => {
      if (!opened.has(client)) {
        opened.add(client);
        if (opened.size === connections) {
          allOpenedAt = performance.now();
          if ('seconds' in length) measuredUntil = allOpenedAt + length.seconds * 1000;
        }
      }
      if (!answeredWasMeasured) return;
      answeredWasMeasured = false;
      pending--;
      latencies.push(responseTime);
      lastResponseAt = performance.now();
      if (finishedMeasuring()) {
        clearTimeout(lostTimer);
        stopLoad();
      } else if (allOpenedAt !== null && !measuring() && lostTimer === undefined)
        lostTimer = setTimeout(stopLoad, lostAfterMs);
    });
    instance.on('done', () => clearTimeout(lostTimer));
  });
  const from = allOpenedAt ?? lastResponseAt;
  return {
    latencies,
    errors: errors + result.errors + result.timeouts,
    seconds: Math.max(0, (lastResponseAt - from) / 1000),
    responses: latencies.length,
  };
}

/** The q-quantile of ascending `sorted` (nearest rank); NaN when it is empty. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/**
 * CPU seconds (user + system, every thread) the process `pid` has used so far, from
 * /proc/PID/stat; null where there is no /proc (not Linux) or the process is gone. Unlike a rate,
 * a server's CPU per request does not count the time other processes held its core; it still counts
 * the collector's and compiler's threads and whatever else the server did meanwhile.
 */
export function processCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may itself hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of proc(5), in USER_HZ ticks: 100 on Linux's ABI.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
