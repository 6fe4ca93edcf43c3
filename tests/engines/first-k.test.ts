import { Mulberry32 } from '../../src/engines/collaborative/kernels/prng';
import { firstK } from '../../src/engines/first-k';

describe('firstK', () => {
  const byTimeThenId = (a: { at: number; id: number }, b: { at: number; id: number }) =>
    b.at - a.at || a.id - b.id;

  it('keeps what sorting everything and cutting keeps, in that order', () => {
    const random = new Mulberry32(11);
    for (const [n, k] of [
      [0, 5],
      [3, 5],
      [5, 5],
      [40, 1],
      [400, 37],
      [3_000, 300],
    ]) {
      // Few distinct times: most of the order is decided by the id, the tie-break.
      const items = Array.from({ length: n }, (_, id) => ({ id, at: Math.floor(random.nextFloat() * 20) }));
      const shuffled = [...items].sort(() => random.nextFloat() - 0.5);
      expect(firstK(shuffled, k, byTimeThenId)).toEqual([...shuffled].sort(byTimeThenId).slice(0, k));
    }
  });

  it('worked by hand: the latest three, the older of two at the same time first by id', () => {
    const items = [
      { id: 4, at: 10 },
      { id: 1, at: 30 },
      { id: 9, at: 20 },
      { id: 2, at: 20 },
      { id: 7, at: 5 },
    ];
    expect(firstK(items, 3, byTimeThenId).map((item) => item.id)).toEqual([1, 2, 9]);
    expect(firstK(items, 0, byTimeThenId)).toEqual([]);
    // The input is left as it was.
    expect(items.map((item) => item.id)).toEqual([4, 1, 9, 2, 7]);
  });
});
