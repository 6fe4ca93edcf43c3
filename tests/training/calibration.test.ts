import { datasetFromRows, type RatingRecord } from '../../training/dataset';
import {
  MIN_RATINGS_FOR_VALIDATION,
  TEMPORAL_VALIDATION_FRACTION,
  calibrationValidationSplit,
} from '../../training/calibration';
import { comparableTitle } from '../../training/movie-overviews';

function ratings(): RatingRecord[] {
  const rows: RatingRecord[] = [];
  // User 1: 20 ratings at times 100..119 (given out of order); user 2: 3 ratings; user 3: 40 ratings.
  for (let n = 19; n >= 0; n--) rows.push({ userId: 1, movieId: 100 + n, rating: 4, timestamp: 100 + n });
  for (let n = 0; n < 3; n++) rows.push({ userId: 2, movieId: 100 + n, rating: 3, timestamp: 5 });
  for (let n = 0; n < 40; n++) rows.push({ userId: 3, movieId: 100 + n, rating: 5, timestamp: 1000 - n });
  return rows;
}

describe('validation split', () => {
  it('temporal: holds out each user’s latest ratings, and none of a user with too few to spare', () => {
    const train = datasetFromRows(ratings());
    const { fit, validation } = calibrationValidationSplit(train, 'temporal', 1);
    expect(fit.size + validation.size).toBe(train.size);
    const heldOf = (userId: number) =>
      Array.from({ length: validation.size }, (_, n) => n)
        .filter((n) => validation.userIds[validation.users[n]] === userId)
        .map((n) => validation.timestamps[n])
        .sort((a, b) => a - b);
    expect(heldOf(1)).toEqual([117, 118, 119]); // ceil(0.15 · 20) = 3, the latest
    expect(heldOf(3)).toEqual([995, 996, 997, 998, 999, 1000]); // ceil(0.15 · 40) = 6
    expect(heldOf(2)).toEqual([]);
    expect(3).toBeLessThan(MIN_RATINGS_FOR_VALIDATION);
    expect(Math.ceil(TEMPORAL_VALIDATION_FRACTION * 20)).toBe(3);
  });

  it('random: a seeded sample of about 10%, reproducible, never from users with too few ratings', () => {
    const rows: RatingRecord[] = [];
    for (let u = 1; u <= 50; u++)
      for (let m = 1; m <= 40; m++) rows.push({ userId: u, movieId: m, rating: 3, timestamp: 0 });
    rows.push({ userId: 99, movieId: 1, rating: 5, timestamp: 0 });
    const train = datasetFromRows(rows);
    const first = calibrationValidationSplit(train, 'random', 7);
    const again = calibrationValidationSplit(train, 'random', 7);
    const other = calibrationValidationSplit(train, 'random', 8);
    expect(first.validation.size).toBeGreaterThan(0.07 * 2000);
    expect(first.validation.size).toBeLessThan(0.13 * 2000);
    expect(Array.from(again.validation.items)).toEqual(Array.from(first.validation.items));
    expect(Array.from(other.validation.items)).not.toEqual(Array.from(first.validation.items));
    const user99 = train.userIds.indexOf(99);
    expect(Array.from(first.validation.users)).not.toContain(user99);
  });
});

describe('TMDB title matching', () => {
  it('compares MovieLens and TMDB spellings of a title', () => {
    expect(comparableTitle('Usual Suspects, The')).toBe(comparableTitle('The Usual Suspects'));
    expect(comparableTitle('Shanghai Triad (Yao a yao yao dao waipo qiao)')).toBe('shanghai triad');
    expect(comparableTitle('Misérables, Les')).toBe('les miserables');
    expect(comparableTitle('Beauty & the Beast')).toBe(comparableTitle('Beauty and the Beast'));
    expect(comparableTitle('Heat')).not.toBe(comparableTitle('Heathers'));
  });
});
