import { refreshingRead, ShortLivedCache } from '../../src/engines/short-lived-cache';

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

describe('refreshingRead', () => {
  it('reads what it lacks, answers expired entries at once and re-reads them in the background', async () => {
    let now = 0;
    const cache = new ShortLivedCache<number, { id: number; name: string }>(100, 10, () => now);
    const refreshing = new Set<number>();
    const names = new Map([
      [1, 'one'],
      [2, 'two'],
    ]);
    const reads: number[][] = [];
    const read = async (ids: number[]) => {
      reads.push(ids);
      return ids.filter((id) => names.has(id)).map((id) => ({ id, name: names.get(id)! }));
    };
    const settle = () => new Promise((resolve) => setImmediate(resolve));

    expect(await refreshingRead([1, 2, 3, 1], cache, refreshing, read)).toEqual([
      { id: 1, name: 'one' },
      { id: 2, name: 'two' },
    ]);
    expect(reads).toEqual([[1, 2, 3]]);

    names.set(1, 'uno');
    names.delete(2);
    now = 100;
    // Two callers while the re-read is in flight: both get the old values, one re-read between them.
    const [stale, alsoStale] = await Promise.all([
      refreshingRead([1, 2], cache, refreshing, read),
      refreshingRead([1, 2], cache, refreshing, read),
    ]);
    expect(stale.map((m) => m.name)).toEqual(['one', 'two']);
    expect(alsoStale).toEqual(stale);
    expect(reads).toEqual([
      [1, 2, 3],
      [1, 2],
    ]);
    await settle();
    expect(await refreshingRead([1, 2], cache, refreshing, read)).toEqual([{ id: 1, name: 'uno' }]);
    expect(refreshing.size).toBe(0);
  });
});
