import { datasetFromRows, idSpaceOf } from '../../training/dataset';
import { DEFAULT_BIASED_MF_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from '../../training/options';
import { trainModels } from '../../training/train';
import { loadWatchPositives, withImplicitRatings } from '../../training/implicit-feedback';
import { createTestDatabase, TestDatabase } from '../helpers/database';

const rows = [
  { userId: 1, movieId: 10, rating: 4, timestamp: 100 },
  { userId: 1, movieId: 20, rating: 2, timestamp: 101 },
  { userId: 3, movieId: 10, rating: 3, timestamp: 102 },
];
const space = { ...idSpaceOf(rows), itemIds: Int32Array.from([10, 20, 30]) };

describe('withImplicitRatings: WATCH positives as rating-like entries for the top-N model', () => {
  it("adds the user's mean + offset for unrated movies, clipped to 5; a rating wins over a watch", () => {
    const dataset = datasetFromRows(rows, space);
    const { dataset: merged, added } = withImplicitRatings(
      dataset,
      [
        { userId: 1, movieId: 30, timestamp: 200 },
        { userId: 1, movieId: 20, timestamp: 201 }, // rated 2: the rating stays, nothing added
        { userId: 3, movieId: 30, timestamp: 202 },
        { userId: 3, movieId: 30, timestamp: 203 }, // the same pair twice counts once, latest time
        { userId: 3, movieId: 99, timestamp: 204 }, // outside the item space: skipped
      ],
      { offset: 1.5 },
    );
    expect(added).toBe(2);
    expect(merged.size).toBe(5);
    expect(Array.from(merged.userIds)).toEqual([1, 3]);
    expect(Array.from(merged.itemIds)).toEqual([10, 20, 30]);
    const entries = Array.from({ length: merged.size }, (_, n) => [
      merged.userIds[merged.users[n]],
      merged.itemIds[merged.items[n]],
      merged.ratings[n],
      merged.timestamps[n],
    ]);
    expect(entries.slice(3)).toEqual([
      [1, 30, 4.5, 200], // mean 3 + 1.5
      [3, 30, 4.5, 203], // mean 3 + 1.5
    ]);
    const high = withImplicitRatings(dataset, [{ userId: 1, movieId: 30, timestamp: 1 }], { offset: 3 });
    expect(high.dataset.ratings[3]).toBe(5);
  });

  it('adds users who only watched, keeping the user id space sorted and the old entries theirs', () => {
    const dataset = datasetFromRows(rows, space);
    const { dataset: merged } = withImplicitRatings(dataset, [{ userId: 2, movieId: 20, timestamp: 5 }], {
      offset: 0,
    });
    expect(Array.from(merged.userIds)).toEqual([1, 2, 3]);
    const byUser = (id: number) =>
      Array.from({ length: merged.size }, (_, n) => n)
        .filter((n) => merged.userIds[merged.users[n]] === id)
        .map((n) => [merged.itemIds[merged.items[n]], merged.ratings[n]]);
    expect(byUser(1)).toEqual([
      [10, 4],
      [20, 2],
    ]);
    expect(byUser(3)).toEqual([[10, 3]]);
    // No ratings of their own: the global mean (3).
    expect(byUser(2)).toEqual([[20, 3]]);
  });

  it('returns the dataset itself when there is nothing to add', () => {
    const dataset = datasetFromRows(rows, space);
    expect(withImplicitRatings(dataset, []).dataset).toBe(dataset);
    expect(withImplicitRatings(dataset, [{ userId: 1, movieId: 10, timestamp: 1 }]).dataset).toBe(dataset);
  });
});

describe('trainModels with implicit positives', () => {
  it('fits the top-N model on the ratings plus the positives when given them', async () => {
    // Users 1–30 rate movies 10–15; movie 16 is in the catalog but rated by nobody, only watched.
    const rated = [];
    for (let user = 1; user <= 30; user++)
      for (let movie = 10; movie <= 15; movie++)
        rated.push({ userId: user, movieId: movie, rating: 1 + ((user * movie) % 9) / 2, timestamp: user });
    const catalog = { ...idSpaceOf(rated), itemIds: Int32Array.from([10, 11, 12, 13, 14, 15, 16]) };
    const dataset = datasetFromRows(rated, catalog);
    const positives = Array.from({ length: 20 }, (_, k) => ({ userId: k + 1, movieId: 16, timestamp: 99 }));
    const { dataset: withWatch, added } = withImplicitRatings(dataset, positives);
    expect(added).toBe(20);
    const options = {
      biased: { ...DEFAULT_BIASED_MF_OPTIONS, factors: 2, epochs: 3 },
      topN: { ...DEFAULT_PURE_SVD_OPTIONS, rank: 2 },
      topNModel: 'puresvd' as const,
    };
    const factorsOf16 = (itemFactors: Float32Array, rank: number) =>
      Array.from(itemFactors.slice(6 * rank, 7 * rank));
    const plain = await trainModels(dataset, options);
    const implicit = await trainModels(dataset, options, undefined, { topNDataset: withWatch });
    if (plain.topN.kind !== 'puresvd' || implicit.topN.kind !== 'puresvd')
      throw new Error('expected PureSVD');
    expect(factorsOf16(plain.topN.itemFactors, plain.topN.rank).every((v) => v === 0)).toBe(true);
    expect(factorsOf16(implicit.topN.itemFactors, implicit.topN.rank).some((v) => v !== 0)).toBe(true);
  });
});

describe('loadWatchPositives', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('reads each (user, movie) watched at least 0.8 once, at its latest time; shorter watches and other types are not positives', async () => {
    await db.dataSource.query(`INSERT INTO users (id) VALUES (1), (2)`);
    await db.dataSource.query(`INSERT INTO movies (id, title) VALUES (10, 'a'), (20, 'b'), (30, 'c')`);
    await db.dataSource.query(
      `INSERT INTO feedback_events (user_id, client_event_id, movie_id, type, value, occurred_at) VALUES
         (1, 'a', 10, 'WATCH', 0.8, to_timestamp(100)),
         (1, 'b', 10, 'WATCH', 1, to_timestamp(300)),
         (1, 'c', 20, 'WATCH', 0.79, to_timestamp(100)),
         (1, 'd', 30, 'CLICK', NULL, to_timestamp(100)),
         (2, 'e', 30, 'WATCH', NULL, to_timestamp(100)),
         (2, 'f', 20, 'WATCH', 0.95, to_timestamp(200))`,
    );
    const positives = await loadWatchPositives(db.dataSource);
    expect(positives.sort((a, b) => a.userId - b.userId)).toEqual([
      { userId: 1, movieId: 10, timestamp: 300 },
      { userId: 2, movieId: 20, timestamp: 200 },
    ]);
  });
});
