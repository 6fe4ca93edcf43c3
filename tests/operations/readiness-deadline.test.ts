import { ReadinessCheck } from '../../src/observability/readiness';
import { within } from '../../src/within';

describe('within', () => {
  it('gives the work’s result when it settles first, and passes its rejection on', async () => {
    await expect(within(1000, Promise.resolve(7))).resolves.toBe(7);
    await expect(within(1000, Promise.reject(new Error('refused')))).rejects.toThrow('refused');
  });

  it('says "timed out" when the deadline comes first, without an unhandled late rejection', async () => {
    let fail: (error: Error) => void = () => undefined;
    const late = new Promise<never>((_, reject) => (fail = reject));
    await expect(within(10, late)).resolves.toBe('timed out');
    fail(new Error('after the deadline'));
    await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('ReadinessCheck deadline', () => {
  it('reports a ping slower than the deadline as the database not answering, and one ping at a time', async () => {
    let answer: () => void = () => undefined;
    let pings = 0;
    const check = new ReadinessCheck({
      ping: () => {
        pings++;
        return new Promise<void>((resolve) => (answer = resolve));
      },
      engines: () => ({ statistical: { ready: true } }),
      timeoutMs: 20,
    });
    const first = await check.check();
    expect(first.ready).toBe(false);
    expect(first.database).toEqual({ ok: false, error: 'no answer within 20 ms' });
    expect(first.reason).toBe('database unavailable: no answer within 20 ms');
    const second = await check.check();
    expect(second.database.error).toBe('the previous ping has not returned yet');
    expect(pings).toBe(1);
    answer();
    await new Promise((resolve) => setImmediate(resolve));
    const third = check.check();
    answer();
    expect((await third).ready).toBe(true);
    expect(pings).toBe(2);
  });
});
