import { ShortLivedCache } from '../../src/engines/short-lived-cache';

describe('ShortLivedCache', () => {
  it('expires entries after the time to live, evicts the oldest past the bound, and deletes on demand', () => {
    let now = 0;
    const cache = new ShortLivedCache<number, string>(100, 2, () => now);
    cache.set(1, 'a');
    now = 99;
    expect(cache.get(1)).toBe('a');
    now = 100;
    expect(cache.get(1)).toBeUndefined();

    cache.set(1, 'a');
    cache.set(2, 'b');
    cache.set(3, 'c');
    expect(cache.get(1)).toBeUndefined();
    expect([cache.get(2), cache.get(3)]).toEqual(['b', 'c']);

    cache.delete(2);
    expect(cache.get(2)).toBeUndefined();
    cache.clear();
    expect(cache.get(3)).toBeUndefined();
  });
});
