import {
  judgeTargets,
  verdictCell,
  type MeasuredCell,
  type SizeMeasures,
  type TargetVerdict,
} from '../../scripts/bench-scale-targets';

const GIB = 2 ** 30;

const meeting: SizeMeasures = {
  trainingSeconds: 344.1,
  trainingPeakBytes: 2.5 * GIB,
  warmStartSeconds: 6.2,
  indexSeconds: 935.6,
  serverPeakBytes: 2 * GIB,
  rateToListMs: 47,
  completed: true,
};

const cell = (query: string, connections: number, requestsPerSecond: number, p99: number, errors = 0) =>
  ({ query, connections, requestsPerSecond, p99, errors }) satisfies MeasuredCell;

const meetingCells: MeasuredCell[] = [
  cell('HYBRID', 1, 120, 20),
  cell('HYBRID', 16, 250, 140),
  cell('COLLABORATIVE', 16, 700, 45),
  cell('similarMovies', 16, 900, 40),
  cell('search', 16, 850, 35),
];

const byTarget = (verdicts: TargetVerdict[], start: string) => {
  const found = verdicts.find((v) => v.target.startsWith(start));
  if (!found) throw new Error(`no target starting "${start}"`);
  return found;
};

describe("bench-scale: issue #12's targets", () => {
  it('meets every target when every figure is within its bound', () => {
    const verdicts = judgeTargets(meeting, meetingCells);
    expect(verdicts.map((v) => v.met)).toEqual(verdicts.map(() => true));
    expect(verdicts).toHaveLength(10);
    expect(byTarget(verdicts, 'first training').measured).toBe('344 s, 2560 MiB');
    expect(byTarget(verdicts, 'server RSS').measured).toBe('peak 2048 MiB');
  });

  it('judges latency at 16 connections only, and shows the mean a closed loop implies', () => {
    // The 1-connection cell is fast; the 16-connection one decides, and 16 / 250 req/s is 64 ms.
    expect(byTarget(judgeTargets(meeting, meetingCells), 'HYBRID')).toEqual({
      target: 'HYBRID at 16 connections: p99 ≤ 150 ms, ≥ 200 req/s',
      met: true,
      measured: 'p99 140 ms, 250 req/s (mean 64 ms)',
    });
    const slowCollaborative = meetingCells.map((c) =>
      c.query === 'COLLABORATIVE' ? cell('COLLABORATIVE', 16, 600, 50.4) : c,
    );
    expect(byTarget(judgeTargets(meeting, slowCollaborative), 'COLLABORATIVE').met).toBe(false);
  });

  it('misses HYBRID below 200 req/s even with its p99 within bound', () => {
    const cells = meetingCells.map((c) =>
      c.query === 'HYBRID' && c.connections === 16 ? cell('HYBRID', 16, 199, 100) : c,
    );
    expect(byTarget(judgeTargets(meeting, cells), 'HYBRID').met).toBe(false);
  });

  it('says "not measured" rather than judging what the run did not measure', () => {
    const verdicts = judgeTargets(
      { completed: false },
      meetingCells.filter((c) => c.connections !== 16),
    );
    for (const start of [
      'first training',
      'warm start',
      'content index',
      'HYBRID',
      'search',
      'a rating',
      'server RSS',
    ])
      expect(byTarget(verdicts, start)).toMatchObject({ met: null, measured: 'not measured' });
    expect(byTarget(verdicts, 'zero errors')).toEqual({
      target: 'zero errors, the size complete',
      met: false,
      measured: '0 errors, incomplete',
    });
  });

  it('misses on any bound crossed: training time or memory, the rating, errors', () => {
    expect(
      byTarget(judgeTargets({ ...meeting, trainingSeconds: 601 }, meetingCells), 'first training').met,
    ).toBe(false);
    expect(
      byTarget(judgeTargets({ ...meeting, trainingPeakBytes: 4 * GIB + 1 }, meetingCells), 'first training')
        .met,
    ).toBe(false);
    expect(
      byTarget(judgeTargets({ ...meeting, rateToListMs: null }, meetingCells), 'a rating'),
    ).toMatchObject({
      met: false,
      measured: 'the list never changed',
    });
    expect(byTarget(judgeTargets({ ...meeting, rateToListMs: 101 }, meetingCells), 'a rating').met).toBe(
      false,
    );
    const withErrors = [...meetingCells, cell('trending', 64, 2000, 20, 3)];
    expect(byTarget(judgeTargets(meeting, withErrors), 'zero errors')).toMatchObject({
      met: false,
      measured: '3 errors',
    });
  });

  it('marks each verdict in a table cell', () => {
    expect(verdictCell({ target: 't', met: true, measured: '6.2 s' })).toBe('✓ 6.2 s');
    expect(verdictCell({ target: 't', met: false, measured: '601 s' })).toBe('✗ 601 s');
    expect(verdictCell({ target: 't', met: null, measured: 'not measured' })).toBe('– not measured');
  });
});
