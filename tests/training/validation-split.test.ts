import { createHash } from 'node:crypto';
import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import {
  calibrationValidationSplit,
  MIN_RATINGS_FOR_VALIDATION,
  RANDOM_VALIDATION_FRACTION,
  TEMPORAL_VALIDATION_FRACTION,
} from '../../training/calibration';
import {
  datasetFromRows,
  DatasetError,
  type RatingRecord,
  type RatingsDataset,
} from '../../training/dataset';
import { carveValidation, type ValidationSplit } from '../../training/validation-split';

// 1..40 ratings per user, so some users have fewer than MIN_RATINGS_FOR_VALIDATION.
const catalog = generateSyntheticCatalog({
  seed: 3,
  users: 150,
  movies: 200,
  ratingsPerUser: { min: 1, max: 40 },
});
const dataset = datasetFromRows(catalog.ratings);

function rowsOf(data: RatingsDataset): RatingRecord[] {
  return Array.from({ length: data.size }, (_, n) => ({
    userId: data.userIds[data.users[n]],
    movieId: data.itemIds[data.items[n]],
    rating: data.ratings[n],
    timestamp: data.timestamps[n],
  }));
}

/** A digest of the rows, in order: equal digests mean the same ratings in the same order. */
function fingerprint(data: RatingsDataset): string {
  const text = rowsOf(data)
    .map((row) => [row.userId, row.movieId, row.rating, row.timestamp].join(','))
    .join(';');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function summary({ fit, validation }: ValidationSplit) {
  return {
    fit: fit.size,
    validation: validation.size,
    fitHash: fingerprint(fit),
    validationHash: fingerprint(validation),
  };
}

/** Each user's ratings (by external id) as "movieId@timestamp" keys. */
function keysByUser(data: RatingsDataset): Map<number, Set<string>> {
  const byUser = new Map<number, Set<string>>();
  for (const row of rowsOf(data)) {
    const keys = byUser.get(row.userId) ?? new Set<string>();
    keys.add(`${row.movieId}@${row.timestamp}`);
    byUser.set(row.userId, keys);
  }
  return byUser;
}

const ratingsPerUser = keysByUser(dataset);

describe('calibration’s validation split (carved by validation-split.ts with calibration’s parameters)', () => {
  it('precondition: the synthetic catalog has users on both sides of the minimum', () => {
    const counts = [...ratingsPerUser.values()].map((keys) => keys.size);
    expect(counts.some((count) => count < MIN_RATINGS_FOR_VALIDATION)).toBe(true);
    expect(counts.some((count) => count >= MIN_RATINGS_FOR_VALIDATION)).toBe(true);
  });

  it('reproduces the splits of the code calibration used before the two implementations were merged', () => {
    // Digests recorded from calibration.ts's own validationSplit before it was replaced; stored
    // calibrated weights were chosen on these splits.
    expect(summary(calibrationValidationSplit(dataset, 'temporal', 1))).toEqual({
      fit: 2452,
      validation: 497,
      fitHash: '54915eca0fa5dbcb',
      validationHash: '1ed52f022a4551b5',
    });
    expect(summary(calibrationValidationSplit(dataset, 'random', 7))).toEqual({
      fit: 2645,
      validation: 304,
      fitHash: 'cfb8c03d0247aef2',
      validationHash: '0dd5d40a70867894',
    });
    expect(summary(calibrationValidationSplit(dataset, 'random', 42))).toEqual({
      fit: 2654,
      validation: 295,
      fitHash: '8c7256c788fccc07',
      validationHash: '165a77cc1559a4f9',
    });
  });

  it('temporal: exactly each eligible user’s latest 15% by (timestamp, movie), none of smaller users', () => {
    const { fit, validation } = calibrationValidationSplit(dataset, 'temporal', 1);
    expect(fit.size + validation.size).toBe(dataset.size);
    const heldByUser = keysByUser(validation);
    const latestFirst = (a: RatingRecord, b: RatingRecord) =>
      b.timestamp - a.timestamp || b.movieId - a.movieId;
    const rows = rowsOf(dataset);
    for (const [userId, keys] of ratingsPerUser) {
      const expected =
        keys.size < MIN_RATINGS_FOR_VALIDATION
          ? []
          : rows
              .filter((row) => row.userId === userId)
              .sort(latestFirst)
              .slice(0, Math.ceil(TEMPORAL_VALIDATION_FRACTION * keys.size))
              .map((row) => `${row.movieId}@${row.timestamp}`);
      expect([...(heldByUser.get(userId) ?? [])].sort()).toEqual(expected.sort());
    }
  });

  it('temporal: the seed plays no part', () => {
    expect(summary(calibrationValidationSplit(dataset, 'temporal', 99))).toEqual(
      summary(calibrationValidationSplit(dataset, 'temporal', 1)),
    );
  });

  it('random: about 10% of eligible users’ ratings, none of smaller users, the same for the same seed', () => {
    const first = calibrationValidationSplit(dataset, 'random', 7);
    expect(summary(calibrationValidationSplit(dataset, 'random', 7))).toEqual(summary(first));
    expect(fingerprint(calibrationValidationSplit(dataset, 'random', 8).validation)).not.toBe(
      fingerprint(first.validation),
    );
    let eligible = 0;
    for (const keys of ratingsPerUser.values())
      if (keys.size >= MIN_RATINGS_FOR_VALIDATION) eligible += keys.size;
    expect(Math.abs(first.validation.size / eligible - RANDOM_VALIDATION_FRACTION)).toBeLessThan(0.02);
    for (const userId of keysByUser(first.validation).keys())
      expect(ratingsPerUser.get(userId)!.size).toBeGreaterThanOrEqual(MIN_RATINGS_FOR_VALIDATION);
  });

  it('random: a rating is drawn alone, so users too small to take part do not move anyone else’s split', () => {
    const bigUsersOnly = datasetFromRows(
      rowsOf(dataset).filter((row) => ratingsPerUser.get(row.userId)!.size >= MIN_RATINGS_FOR_VALIDATION),
    );
    for (const seed of [7, 42]) {
      const whole = calibrationValidationSplit(dataset, 'random', seed);
      expect(fingerprint(calibrationValidationSplit(bigUsersOnly, 'random', seed).validation)).toBe(
        fingerprint(whole.validation),
      );
    }
  });
});

describe('calibration’s disjoint random validation parts', () => {
  it('part 0 is the split calibration always carved; the parts of one seed share no rating and each holds about 10%', () => {
    expect(summary(calibrationValidationSplit(dataset, 'random', 7, 0))).toEqual(
      summary(calibrationValidationSplit(dataset, 'random', 7)),
    );
    let eligible = 0;
    for (const keys of ratingsPerUser.values())
      if (keys.size >= MIN_RATINGS_FOR_VALIDATION) eligible += keys.size;
    const seen = new Set<string>();
    let held = 0;
    for (let part = 0; part < 10; part++) {
      const { fit, validation } = calibrationValidationSplit(dataset, 'random', 7, part);
      expect(fit.size + validation.size).toBe(dataset.size);
      expect(Math.abs(validation.size / eligible - RANDOM_VALIDATION_FRACTION)).toBeLessThan(0.03);
      for (const [userId, keys] of keysByUser(validation))
        for (const key of keys) {
          const rating = `${userId}:${key}`;
          expect(seen.has(rating)).toBe(false);
          seen.add(rating);
        }
      held += validation.size;
    }
    // Ten parts of 10% cover every eligible rating exactly once.
    expect(held).toBe(eligible);
  });

  it('refuses a part the draw cannot carve', () => {
    expect(() => calibrationValidationSplit(dataset, 'random', 7, 10)).toThrow(
      /part must be a whole number below 10/,
    );
    expect(() => calibrationValidationSplit(dataset, 'random', 7, 1.5)).toThrow(DatasetError);
    expect(() => calibrationValidationSplit(dataset, 'temporal', 7, 1)).toThrow(
      /only the random per-rating draw carves validation parts/,
    );
  });
});

describe('the shared carveValidation', () => {
  it('keeps the top-N model choice’s splits as they were (its defaults)', () => {
    // Digests recorded before calibration's split was merged in.
    expect(summary(carveValidation(dataset, 'temporal', 1))).toEqual({
      fit: 2306,
      validation: 643,
      fitHash: '7344b025655397af',
      validationHash: '42e54c2214bae05e',
    });
    expect(summary(carveValidation(dataset, 'random', 7))).toEqual({
      fit: 2654,
      validation: 295,
      fitHash: 'ff163ec277740cbb',
      validationHash: '06836c2aa24560ab',
    });
  });

  it('temporal ties: ratings equal on (timestamp, movie) are held out in dataset order', () => {
    // One user rating movie 1 five times at one instant (distinct ratings tell them apart).
    const rows: RatingRecord[] = [1, 2, 3, 4, 5].map((rating) => ({
      userId: 1,
      movieId: 1,
      rating,
      timestamp: 10,
    }));
    const { validation } = carveValidation(datasetFromRows(rows), 'temporal', 1, { fraction: 0.4 });
    expect(Array.from(validation.ratings)).toEqual([4, 5]);
  });

  it('exact-share with a minimum: exactly round(fraction·eligible), only from users with enough ratings', () => {
    const { fit, validation } = carveValidation(dataset, 'random', 5, { minUserRatings: 10 });
    let eligible = 0;
    for (const keys of ratingsPerUser.values()) if (keys.size >= 10) eligible += keys.size;
    expect(validation.size).toBe(Math.round(0.1 * eligible));
    expect(fit.size + validation.size).toBe(dataset.size);
    for (const userId of keysByUser(validation).keys())
      expect(ratingsPerUser.get(userId)!.size).toBeGreaterThanOrEqual(10);
  });

  it('rejects a fraction outside (0, 1) and a minimum below one', () => {
    expect(() => carveValidation(dataset, 'random', 1, { fraction: 0 })).toThrow(DatasetError);
    expect(() => carveValidation(dataset, 'temporal', 1, { fraction: 1 })).toThrow(DatasetError);
    expect(() => carveValidation(dataset, 'temporal', 1, { minUserRatings: 0 })).toThrow(DatasetError);
  });
});
