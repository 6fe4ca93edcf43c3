import { createRandom as random } from '../fixtures/synthetic';
import { eachInSlices, sortInSlices } from '../src/slices';

describe('sortInSlices', () => {
  it('orders like one sort does, for lengths around the run size, with many ties broken by index', async () => {
    const next = random(3);
    for (const length of [0, 1, 2, 1023, 1024, 1025, 2049, 5000]) {
      // Few distinct keys, so most comparisons are decided by the tie-break.
      const keys = Float64Array.from({ length }, () => Math.floor(next() * 7));
      const compare = (a: number, b: number) => keys[b] - keys[a] || a - b;
      const expected = Array.from({ length }, (_, i) => i).sort(compare);
      expect(Array.from(await sortInSlices(length, compare, 500))).toEqual(expected);
    }
  });

  it('lets other callbacks run between its slices', async () => {
    const keys = Float64Array.from({ length: 20_000 }, random(4));
    let ticks = 0;
    let ticking = true;
    const tick = () => {
      ticks += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const order = await sortInSlices(keys.length, (a, b) => keys[a] - keys[b] || a - b, 5_000);
    ticking = false;
    for (let i = 1; i < order.length; i++) expect(keys[order[i - 1]]).toBeLessThanOrEqual(keys[order[i]]);
    // 20,000 keys take ~300,000 comparisons: about sixty slices of 5,000.
    expect(ticks).toBeGreaterThan(20);
  });

  it('eachInSlices visits every item in order and lets other callbacks run after each slice', async () => {
    const seen: number[] = [];
    const ticksAt: number[] = [];
    let ticking = true;
    const tick = () => {
      ticksAt.push(seen.length);
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    await eachInSlices(
      Array.from({ length: 10 }, (_, i) => i),
      4,
      (item) => seen.push(item),
    );
    ticking = false;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Never inside a slice: every tick saw a whole number of slices (0, 4, 8 or all 10 items).
    for (const at of ticksAt) expect([0, 4, 8, 10]).toContain(at);
    expect(new Set(ticksAt).size).toBeGreaterThan(1);
  });
});
