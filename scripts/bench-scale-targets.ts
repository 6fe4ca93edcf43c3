/**
 * Issue #12's targets, judged from what bench-scale measured of one size: each run says which it
 * meets, in numbers, instead of leaving a reader to hold a table against the issue's text. The
 * targets are stated for 25M ratings (62K movies); other sizes are judged by the same bounds, for
 * comparison.
 */

/** What a size's run measured, as numbers (undefined: not measured, e.g. the size failed before it). */
export interface SizeMeasures {
  trainingSeconds?: number;
  trainingPeakBytes?: number;
  warmStartSeconds?: number;
  indexSeconds?: number;
  /** Peak RSS of the server that took the load. */
  serverPeakBytes?: number;
  /** Median time from `rate` to a changed HYBRID list; null when the list never changed. */
  rateToListMs?: number | null;
  /** Whether the size ran to its end (no import, training, wait or exit failure). */
  completed: boolean;
}

/** A latency cell as bench-scale measures it. */
export interface MeasuredCell {
  query: string;
  connections: number;
  requestsPerSecond: number;
  p99: number;
  errors: number;
}

export interface TargetVerdict {
  target: string;
  /** null: not measured in this run. */
  met: boolean | null;
  measured: string;
}

const GIB = 2 ** 30;
const MIB = 2 ** 20;
/** The connection count the issue states its latency targets at. */
export const TARGET_CONNECTIONS = 16;

const verdict = (
  target: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  show: (v: number) => string,
) =>
  value === undefined || !Number.isFinite(value)
    ? { target, met: null, measured: 'not measured' }
    : { target, met: ok(value), measured: show(value) };

/**
 * A closed loop of n connections keeps n requests in flight, so the mean latency is n / (req/s)
 * (Little's law): the p99 bound needs at least that many lists a second, whatever the spread.
 */
function latencyVerdict(
  cells: readonly MeasuredCell[],
  query: string,
  p99Ms: number,
  minPerSecond = 0,
): TargetVerdict {
  const target =
    `${query} at ${TARGET_CONNECTIONS} connections: p99 ≤ ${p99Ms} ms` +
    (minPerSecond > 0 ? `, ≥ ${minPerSecond} req/s` : '');
  const cell = cells.find((c) => c.query === query && c.connections === TARGET_CONNECTIONS);
  if (!cell) return { target, met: null, measured: 'not measured' };
  const meanMs = (1000 * TARGET_CONNECTIONS) / cell.requestsPerSecond;
  return {
    target,
    met: cell.p99 <= p99Ms && cell.requestsPerSecond >= minPerSecond,
    measured: `p99 ${cell.p99.toFixed(0)} ms, ${cell.requestsPerSecond.toFixed(0)} req/s (mean ${meanMs.toFixed(0)} ms)`,
  };
}

/** Every target of the issue against one size's measurements, in the order. */
export function judgeTargets(measures: SizeMeasures, cells: readonly MeasuredCell[]): TargetVerdict[] {
  const errors = cells.reduce((sum, c) => sum + c.errors, 0);
  const trainingTarget = 'first training: ≤ 10 min, peak RSS ≤ 4 GiB';
  const { trainingSeconds, trainingPeakBytes } = measures;
  const training: TargetVerdict =
    trainingSeconds === undefined || trainingPeakBytes === undefined
      ? { target: trainingTarget, met: null, measured: 'not measured' }
      : {
          target: trainingTarget,
          met: trainingSeconds <= 600 && trainingPeakBytes <= 4 * GIB,
          measured: `${trainingSeconds.toFixed(0)} s, ${Math.round(trainingPeakBytes / MIB)} MiB`,
        };
  const rateTarget = 'a rating in the next list: ≤ 100 ms';
  const rate: TargetVerdict =
    measures.rateToListMs === null
      ? { target: rateTarget, met: false, measured: 'the list never changed' }
      : verdict(
          rateTarget,
          measures.rateToListMs,
          (ms) => ms <= 100,
          (ms) => `${ms.toFixed(0)} ms`,
        );
  return [
    training,
    verdict(
      'warm start to serving: ≤ 10 s',
      measures.warmStartSeconds,
      (s) => s <= 10,
      (s) => `${s.toFixed(1)} s`,
    ),
    verdict(
      'content index build: ≤ 20 min',
      measures.indexSeconds,
      (s) => s <= 1200,
      (s) => `${s.toFixed(0)} s`,
    ),
    latencyVerdict(cells, 'HYBRID', 150, 200),
    latencyVerdict(cells, 'COLLABORATIVE', 50),
    latencyVerdict(cells, 'similarMovies', 50),
    latencyVerdict(cells, 'search', 50),
    rate,
    verdict(
      'server RSS: ≤ 3 GiB',
      measures.serverPeakBytes,
      (bytes) => bytes <= 3 * GIB,
      (bytes) => `peak ${Math.round(bytes / MIB)} MiB`,
    ),
    {
      target: 'zero errors, the size complete',
      met: errors === 0 && measures.completed,
      measured: `${errors} errors${measures.completed ? '' : ', incomplete'}`,
    },
  ];
}

/** A table cell: the verdict's mark and its figure. */
export function verdictCell(v: TargetVerdict): string {
  return `${v.met === null ? '–' : v.met ? '✓' : '✗'} ${v.measured}`;
}
