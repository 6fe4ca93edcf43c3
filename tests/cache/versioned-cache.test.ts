import { readMany, VersionedCache, Versions } from '../../src/cache';

/** Lets pending promise callbacks (a background load) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the freshness rule (VersionedCache)', () => {
  it('answers an entry only for the version it was computed from', () => {
    const cache = new VersionedCache<number, string>({ max: 10 });
    cache.set(1, 'ratings v3', 3);
    expect(cache.get(1, 3)).toBe('ratings v3');
    expect(cache.get(1, 4)).toBeUndefined();
    // Not a newer-wins rule: any other version is another input (a model rolled back is older).
    expect(cache.get(1, 2)).toBeUndefined();
    cache.set(1, 'model 7 / ratings 3', '7:3');
    expect(cache.get(1, '7:3')).toBe('model 7 / ratings 3');
    expect(cache.get(1, '8:3')).toBeUndefined();
    expect(cache.counts).toEqual({ hits: 2, misses: 3 });
  });

  it('outdates every entry when the catalog version moves, including one computed across the move', () => {
    const versions = new Versions();
    versions.observe({ kind: 'catalog', version: 1 });
    const cache = new VersionedCache<string, string>({ max: 10, versions });
    cache.set('a', 'before', 0);
    const takenBefore = cache.catalog();
    versions.observe({ kind: 'catalog', version: 2 });
    expect(cache.get('a', 0)).toBeUndefined();
    // Read before the import committed, stored after its notice: stale at once.
    cache.set('b', 'read across the import', 0, { catalog: takenBefore });
    expect(cache.get('b', 0)).toBeUndefined();
    cache.set('c', 'after', 0);
    expect(cache.get('c', 0)).toBe('after');
    // A late notice of an older catalog changes nothing.
    expect(versions.observe({ kind: 'catalog', version: 1 })).toBe(false);
    expect(cache.get('c', 0)).toBe('after');
  });

  it('ages only caches made with maxAgeMs: get misses past the age, getOrLoad may answer once while reloading', async () => {
    let now = 0;
    const cache = new VersionedCache<string, number>({ max: 1, maxAgeMs: 100, now: () => now });
    let loads = 0;
    const load = async () => ++loads;
    expect(await cache.getOrLoad('all', 0, load)).toBe(1);
    now = 99;
    expect(await cache.getOrLoad('all', 0, load)).toBe(1);
    now = 100;
    expect(cache.get('all', 0)).toBeUndefined();
    expect(await cache.getOrLoad('all', 0, load, { staleWhileRevalidate: true })).toBe(1);
    await settle();
    expect(loads).toBe(2);
    expect(await cache.getOrLoad('all', 0, load, { staleWhileRevalidate: true })).toBe(2);
    // Stale by version is never answered, whatever the caller allows.
    expect(await cache.getOrLoad('all', 1, load, { staleWhileRevalidate: true })).toBe(3);
    // Without maxAgeMs nothing ages.
    const forever = new VersionedCache<string, number>({ max: 1, now: () => now });
    forever.set('x', 1, 0);
    now = 1e12;
    expect(forever.get('x', 0)).toBe(1);
  });

  it('forgetAged: a set drops aged entries from the least recently used end, up to the first fresh one', () => {
    let now = 0;
    const make = (forgetAged: boolean) =>
      new VersionedCache<number, number>({ max: 100, maxAgeMs: 100, now: () => now, forgetAged });
    const forgetting = make(true);
    const keeping = make(false);
    for (const cache of [forgetting, keeping]) {
      now = 0;
      for (let key = 0; key < 10; key++) cache.set(key, key, 0);
      // A longer age for key 10, placed behind the others by recency once 0..9 are read again.
      cache.set(10, 10, 0, { maxAgeMs: 1000 });
      now = 50;
      for (let key = 0; key < 5; key++) expect(cache.get(key, 0)).toBe(key);
      now = 150;
      cache.set(11, 11, 0);
    }
    // Least recent first: 5..9 (aged, dropped), then 10 (fresh: the drop stops there), then 0..4
    // (aged, kept until their turn), then 11.
    expect(forgetting.size).toBe(7);
    expect(keeping.size).toBe(12);
    expect(forgetting.get(10, 0)).toBe(10);
    expect(forgetting.get(11, 0)).toBe(11);
    for (let key = 0; key < 10; key++) expect(forgetting.get(key, 0)).toBeUndefined();
    now = 2000;
    forgetting.set(12, 12, 0);
    expect(forgetting.size).toBe(1);
  });

  it('shares one load per key and version, forgets failures, and drops a load cleared meanwhile', async () => {
    const cache = new VersionedCache<string, number>({ max: 10 });
    let loads = 0;
    let release!: (value: number) => void;
    const slow = () => {
      loads++;
      return new Promise<number>((resolve) => (release = resolve));
    };
    const first = cache.getOrLoad('k', 1, slow);
    const second = cache.getOrLoad('k', 1, slow);
    expect(loads).toBe(1);
    release(5);
    expect(await first).toBe(5);
    expect(await second).toBe(5);

    await expect(cache.getOrLoad('f', 1, () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.getOrLoad('f', 1, async () => 6)).toBe(6);

    const pending = cache.getOrLoad('c', 1, slow);
    cache.clear();
    release(7);
    expect(await pending).toBe(7);
    expect(cache.get('c', 1)).toBeUndefined();
  });

  it('keeps at most max entries, the least recently used going first', () => {
    const cache = new VersionedCache<number, number>({ max: 2 });
    cache.set(1, 1, 0);
    cache.set(2, 2, 0);
    cache.get(1, 0);
    cache.set(3, 3, 0);
    expect(cache.get(2, 0)).toBeUndefined();
    expect(cache.get(1, 0)).toBe(1);
    expect(cache.size).toBe(2);
  });

  it('readMany reads only what memory does not hold, in one call', async () => {
    const cache = new VersionedCache<number, { id: number }>({ max: 10 });
    const asked: number[][] = [];
    const read = async (ids: number[]) => {
      asked.push(ids);
      return ids.filter((id) => id !== 4).map((id) => ({ id }));
    };
    expect((await readMany([1, 2, 2], cache, 0, read)).map((r) => r.id)).toEqual([1, 2]);
    expect((await readMany([2, 3, 4], cache, 0, read)).map((r) => r.id).sort()).toEqual([2, 3]);
    expect(asked).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});

describe('Versions', () => {
  it('raises user versions only, tells listeners of notices but not of reads, and follows model activations', () => {
    const versions = new Versions();
    const heard: string[] = [];
    versions.subscribe((notice) => heard.push(JSON.stringify(notice)));
    versions.sawUser(5, 10);
    expect(versions.userVersion(5)).toBe(10);
    expect(versions.observe({ kind: 'user', userId: 5, version: 9 })).toBe(false);
    expect(versions.observe({ kind: 'user', userId: 5, version: 12 })).toBe(true);
    expect(versions.userVersion(5)).toBe(12);
    expect(versions.highestUserVersion).toBe(12);
    expect(versions.observe({ kind: 'model', version: 4 })).toBe(true);
    expect(versions.observe({ kind: 'model', version: 3 })).toBe(true); // a rollback
    expect(versions.model).toBe(3);
    expect(heard).toHaveLength(3);
  });
});
