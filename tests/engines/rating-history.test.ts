import { Versions } from '../../src/cache';
import {
  CachedRatingHistory,
  RatedMovie,
  RatedMovies,
  RatingHistory,
  RatingHistorySource,
  SqlRatingHistory,
} from '../../src/engines/rating-history';
import { createTestDatabase, type TestDatabase } from '../helpers/database';

/** A source whose answers (and versions) the test changes, counting the reads that reach it. */
class ScriptedSource implements RatingHistorySource {
  reads = 0;
  failNext = false;
  /** Reads wait for this when set (a read in flight while a notice arrives). */
  gate: Promise<void> | null = null;
  readonly ratings = new Map<number, { version: number; ratings: RatedMovie[] }>();

  async historyOf(userId: number): Promise<RatingHistory> {
    this.reads++;
    const answer = this.ratings.get(userId) ?? { version: 0, ratings: [] };
    if (this.gate) await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('connection reset');
    }
    return { version: answer.version, ratings: RatedMovies.of(answer.ratings) };
  }
}

describe('CachedRatingHistory', () => {
  it('reads a user once and answers from memory until a newer version is known', async () => {
    const source = new ScriptedSource();
    source.ratings.set(7, { version: 3, ratings: [{ movieId: 1, rating: 4, ratedAt: 100 }] });
    const versions = new Versions();
    const history = new CachedRatingHistory(source, versions);

    const [first, second] = await Promise.all([history.historyOf(7), history.historyOf(7)]);
    expect(first).toBe(second);
    expect(source.reads).toBe(1);
    expect(await history.historyOf(7)).toBe(first);
    expect(source.reads).toBe(1);
    expect(versions.userVersion(7)).toBe(3);

    // Written elsewhere: until the notice arrives the cached ratings answer, then never again.
    source.ratings.set(7, {
      version: 5,
      ratings: [...first.ratings.toArray(), { movieId: 2, rating: 5, ratedAt: 200 }],
    });
    expect(await history.historyOf(7)).toBe(first);
    versions.observe({ kind: 'user', userId: 7, version: 5 });
    const fresh = await history.historyOf(7);
    expect(fresh.version).toBe(5);
    expect(Array.from(fresh.ratings.movieIds)).toEqual([1, 2]);
    expect(source.reads).toBe(2);
    expect(history.cacheCounts).toEqual({ hits: 3, misses: 2 });
  });

  it('a notice during a read: the read does not answer later callers, nor stay cached', async () => {
    const source = new ScriptedSource();
    source.ratings.set(4, { version: 1, ratings: [{ movieId: 1, rating: 1, ratedAt: 1 }] });
    const versions = new Versions();
    const history = new CachedRatingHistory(source, versions);
    let open!: () => void;
    source.gate = new Promise((resolve) => (open = resolve));
    const before = history.historyOf(4);
    // The write commits and its notice arrives while the old read is still in flight.
    source.ratings.set(4, { version: 2, ratings: [{ movieId: 1, rating: 5, ratedAt: 2 }] });
    versions.observe({ kind: 'user', userId: 4, version: 2 });
    const after = history.historyOf(4);
    open();
    source.gate = null;
    expect((await before).version).toBe(1);
    expect((await after).version).toBe(2);
    expect((await history.historyOf(4)).version).toBe(2);
    expect(source.reads).toBe(2);
  });

  it('a late or repeated notice never takes a version back', async () => {
    const source = new ScriptedSource();
    source.ratings.set(9, { version: 8, ratings: [] });
    const versions = new Versions();
    const history = new CachedRatingHistory(source, versions);
    await history.historyOf(9);
    versions.observe({ kind: 'user', userId: 9, version: 6 });
    versions.observe({ kind: 'user', userId: 9, version: 8 });
    await history.historyOf(9);
    expect(source.reads).toBe(1);
  });

  it('keeps at most maxUsers users, and an import (catalog version) outdates every one', async () => {
    const source = new ScriptedSource();
    const versions = new Versions();
    const history = new CachedRatingHistory(source, versions, { maxUsers: 2 });
    await history.historyOf(1);
    await history.historyOf(2);
    await history.historyOf(3); // evicts user 1, the least recently used
    await history.historyOf(1);
    expect(source.reads).toBe(4);
    await history.historyOf(3);
    expect(source.reads).toBe(4);
    versions.observe({ kind: 'catalog', version: 2 });
    await history.historyOf(3);
    expect(source.reads).toBe(5);
  });

  it('does not remember a failed read', async () => {
    const source = new ScriptedSource();
    const history = new CachedRatingHistory(source);
    source.failNext = true;
    await expect(history.historyOf(3)).rejects.toThrow('connection reset');
    expect(await history.historyOf(3)).toEqual({ version: 0, ratings: RatedMovies.none });
    expect(source.reads).toBe(2);
  });
});

describe('RatedMovies', () => {
  const rated: RatedMovie[] = [
    { movieId: 3, rating: 4.5, ratedAt: 1_700_000_000.25 },
    { movieId: 10, rating: 2, ratedAt: 1_600_000_000 },
    { movieId: 42, rating: 0.5, ratedAt: 1_500_000_000 },
  ];

  it('keeps every rating as given, in order', () => {
    const movies = RatedMovies.of(rated);
    expect(movies.size).toBe(3);
    expect(movies.toArray()).toEqual(rated);
    expect([...movies.keys()]).toEqual([3, 10, 42]);
    expect(movies.starSum()).toBe(4.5 + 2 + 0.5);
  });

  it('answers has() for ascending ids by search and for any order alike', () => {
    const ascending = RatedMovies.of(rated);
    const shuffled = RatedMovies.of([rated[2], rated[0], rated[1]]);
    for (const movies of [ascending, shuffled])
      for (let id = 0; id <= 50; id++) expect(movies.has(id)).toBe(id === 3 || id === 10 || id === 42);
    expect(RatedMovies.none.has(0)).toBe(false);
    expect(RatedMovies.none.size).toBe(0);
  });

  it('answers the orchestrator as the Map of ratings it replaces did', () => {
    const movies = RatedMovies.of(rated);
    const map = new Map(rated.map((r) => [r.movieId, r.rating]));
    expect(movies.size).toBe(map.size);
    expect([...movies.keys()]).toEqual([...map.keys()]);
    for (const id of [0, 3, 4, 10, 42, 43]) expect(movies.has(id)).toBe(map.has(id));
  });
});

describe('SqlRatingHistory', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    await db.dataSource.query(
      `INSERT INTO users (id, is_private, external_id, ratings_version) VALUES
         (1, false, NULL, 7), (2, true, 'crm-2', 9), (3, false, NULL, 0)`,
    );
    await db.dataSource.query(
      `INSERT INTO movies (id, title) VALUES (10, 'a'), (20, 'b'), (30, 'c'), (40, 'd')`,
    );
    await db.dataSource.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES
         (1, 30, 4.5, to_timestamp(300)), (1, 10, 2, to_timestamp(100)), (2, 20, 5, to_timestamp(200))`,
    );
    await db.dataSource.query(
      `INSERT INTO feedback_events (user_id, client_event_id, movie_id, type, value, occurred_at) VALUES
         (1, 'w1', 40, 'WATCH', 0.9, to_timestamp(400)),
         (1, 'w2', 40, 'WATCH', 1, to_timestamp(500)),
         (1, 'w3', 20, 'WATCH', 0.5, to_timestamp(500)),
         (1, 'n1', 20, 'NOT_INTERESTED', NULL, to_timestamp(600))`,
    );
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reads ratings by movie, watches, marks, the version and the users row in one statement', async () => {
    const history = await new SqlRatingHistory(db.dataSource).historyOf(1);
    expect(history.version).toBe(7);
    expect(history.ratings.toArray()).toEqual([
      { movieId: 10, rating: 2, ratedAt: 100 },
      { movieId: 30, rating: 4.5, ratedAt: 300 },
    ]);
    expect(history.watched).toEqual([{ movieId: 40, watchedAt: 500 }]);
    expect(history.notInterested).toEqual([20]);
    expect(history.owner).toEqual({ isPrivate: false, externalId: null });
  });

  it("tells a private user's flag and external id, a user without ratings from an unknown one", async () => {
    const source = new SqlRatingHistory(db.dataSource);
    const privateOne = await source.historyOf(2);
    expect(privateOne.owner).toEqual({ isPrivate: true, externalId: 'crm-2' });
    expect(privateOne.ratings.toArray()).toEqual([{ movieId: 20, rating: 5, ratedAt: 200 }]);
    const none = await source.historyOf(3);
    expect(none).toEqual({
      version: 0,
      ratings: RatedMovies.none,
      watched: [],
      notInterested: [],
      owner: { isPrivate: false, externalId: null },
    });
    const unknown = await source.historyOf(99);
    expect(unknown.owner).toBeUndefined();
    expect(unknown.version).toBe(0);
    expect(unknown.ratings.size).toBe(0);
  });
});
