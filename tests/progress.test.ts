import { duration, ProgressReporter } from '../src/progress';

/** A clock the test moves by hand, and a logger that keeps the lines. */
function setup(options: { total?: number; intervalMs?: number } = {}) {
  let now = 1_000;
  const lines: string[] = [];
  const reporter = new ProgressReporter({
    logger: { info: (line) => lines.push(line) },
    label: 'content index',
    unit: 'texts',
    total: options.total,
    intervalMs: options.intervalMs ?? 5_000,
    now: () => now,
  });
  return { reporter, lines, advance: (ms: number) => (now += ms) };
}

describe('ProgressReporter', () => {
  it('stays silent until the interval has passed, then logs at most once per interval', () => {
    const { reporter, lines, advance } = setup({ total: 1_000 });
    for (let done = 1; done <= 40; done++) {
      advance(400); // 40 updates over 16 s
      reporter.update(done * 25);
    }
    // Lines at 5.2 s, 10.4 s and 15.6 s: never two within 5 s, none before the first 5 s.
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe('content index: 325/1,000 texts (32%), 62.5 texts/s, 5s elapsed, ETA 11s');
  });

  it('logs again right after a long gap, and not in between', () => {
    const { reporter, lines, advance } = setup({ total: 10 });
    advance(4_999);
    reporter.update(1);
    expect(lines).toEqual([]);
    advance(1);
    reporter.update(2);
    advance(4_999);
    reporter.update(3);
    expect(lines).toHaveLength(1);
    advance(60_000);
    reporter.update(9);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('content index: 9/10 texts (90%), 0.1 texts/s, 1m10s elapsed, ETA 8s');
  });

  it('without a total gives count, rate and elapsed time; a fraction gives the ETA', () => {
    const { reporter, lines, advance } = setup();
    advance(10_000);
    reporter.update(2_500_000);
    advance(10_000);
    reporter.update(5_000_000, { fraction: 0.25, note: 'reading' });
    expect(lines).toEqual([
      'content index: 2,500,000 texts, 250,000 texts/s, 10s elapsed',
      'content index: 5,000,000 texts (25%), 250,000 texts/s, 20s elapsed, ETA 1m00s, reading',
    ]);
  });

  it('formats durations', () => {
    expect([duration(0.4), duration(59.6), duration(185), duration(3_725)]).toEqual([
      '0s',
      '1m00s',
      '3m05s',
      '1h02m',
    ]);
  });
});
