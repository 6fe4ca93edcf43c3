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

  it('re-reads after the time to live and keeps at most maxUsers users', async () => {
    const source = new ScriptedSource();
    let now = 0;
    const history = new CachedRatingHistory(source, { ttlMs: 50, maxUsers: 2, now: () => now });
    await history.historyOf(1);
    now = 49;
    await history.historyOf(1);
    expect(source.reads).toBe(1);
    now = 50;
    await history.historyOf(1);
    expect(source.reads).toBe(2);

    await history.historyOf(2);
    await history.historyOf(3); // evicts user 1, the oldest
    await history.historyOf(1);
    expect(source.reads).toBe(5);
  });

  it('hands back the same array when a re-read after the time to live finds the same ratings', async () => {
    const source = new ScriptedSource();
    source.ratings.set(5, [{ movieId: 3, rating: 2.5, ratedAt: 10 }]);
    let now = 0;
    const history = new CachedRatingHistory(source, { ttlMs: 10, now: () => now });
    const first = await history.historyOf(5);
    now = 10;
    expect(await history.historyOf(5)).toBe(first);
    source.ratings.set(5, [{ movieId: 3, rating: 3, ratedAt: 10 }]);
    now = 20;
    const changed = await history.historyOf(5);
    expect(changed).not.toBe(first);
    expect(changed).toEqual([{ movieId: 3, rating: 3, ratedAt: 10 }]);
    expect(source.reads).toBe(3);
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
