import { CachedRatingHistory, RatedMovie, RatingHistorySource } from '../../src/engines/rating-history';

/** A source whose answers the test changes, counting the reads that reach it. */
class ScriptedSource implements RatingHistorySource {
  reads = 0;
  failNext = false;
  readonly ratings = new Map<number, RatedMovie[]>();

  async historyOf(userId: number): Promise<readonly RatedMovie[]> {
    this.reads++;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connection reset');
    }
    return [...(this.ratings.get(userId) ?? [])];
  }
}

/** Lets pending promise callbacks (a background re-read) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('CachedRatingHistory', () => {
  it('reads a user once until forgotten, and a forgotten user is read afresh', async () => {
    const source = new ScriptedSource();
    source.ratings.set(7, [{ movieId: 1, rating: 4, ratedAt: 100 }]);
    const history = new CachedRatingHistory(source, { now: () => 0 });

    const [first, second] = await Promise.all([history.historyOf(7), history.historyOf(7)]);
    expect(first).toBe(second);
    expect(source.reads).toBe(1);

    source.ratings.set(7, [...first, { movieId: 2, rating: 5, ratedAt: 200 }]);
    expect(await history.historyOf(7)).toHaveLength(1);
    history.forget(7);
    expect((await history.historyOf(7)).map((r) => r.movieId)).toEqual([1, 2]);
    expect(source.reads).toBe(2);
  });

  it('past the time to live answers from memory while it re-reads, and keeps at most maxUsers users', async () => {
    const source = new ScriptedSource();
    source.ratings.set(1, [{ movieId: 3, rating: 2.5, ratedAt: 10 }]);
    let now = 0;
    const history = new CachedRatingHistory(source, { ttlMs: 50, maxUsers: 2, now: () => now });
    const first = await history.historyOf(1);
    now = 49;
    await history.historyOf(1);
    expect(source.reads).toBe(1);

    // Unchanged ratings: the re-read hands back the very same array.
    now = 50;
    expect(await history.historyOf(1)).toBe(first);
    expect(source.reads).toBe(2);
    await settle();
    expect(await history.historyOf(1)).toBe(first);
    expect(source.reads).toBe(2);

    // Changed ratings: the stale answer once more, the new one as soon as the re-read is in.
    source.ratings.set(1, [{ movieId: 3, rating: 3, ratedAt: 60 }]);
    now = 100;
    expect(await history.historyOf(1)).toBe(first);
    await history.historyOf(1);
    expect(source.reads).toBe(3);
    await settle();
    expect(await history.historyOf(1)).toEqual([{ movieId: 3, rating: 3, ratedAt: 60 }]);

    await history.historyOf(2);
    await history.historyOf(3); // evicts user 1, the oldest
    await history.historyOf(1);
    expect(source.reads).toBe(6);
  });

  it('a forget() during a background re-read wins over it', async () => {
    const source = new ScriptedSource();
    source.ratings.set(4, [{ movieId: 1, rating: 1, ratedAt: 1 }]);
    let now = 0;
    const history = new CachedRatingHistory(source, { ttlMs: 10, now: () => now });
    await history.historyOf(4);
    now = 10;
    await history.historyOf(4); // starts the re-read
    source.ratings.set(4, [{ movieId: 1, rating: 5, ratedAt: 2 }]);
    history.forget(4);
    const afterForget = history.historyOf(4);
    await settle();
    expect(await afterForget).toEqual([{ movieId: 1, rating: 5, ratedAt: 2 }]);
    expect(await history.historyOf(4)).toBe(await afterForget);
  });

  it('does not remember a failed read', async () => {
    const source = new ScriptedSource();
    const history = new CachedRatingHistory(source, { now: () => 0 });
    source.failNext = true;
    await expect(history.historyOf(3)).rejects.toThrow('connection reset');
    expect(await history.historyOf(3)).toEqual([]);
    expect(source.reads).toBe(2);
  });
});
