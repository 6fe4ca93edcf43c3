import { predictBiased, type BiasedMfParameters } from '../../src/engines/collaborative/kernels/biased-mf';
import { trainBiasedMf, withoutItemOffsets, type BiasedMfOptions } from '../../training/biased-mf';
import { createDataset, datasetFromRows, type RatingRecord } from '../../training/dataset';
import {
  fitItemPrior,
  genreSignature,
  imputeUntrainedItemFactors,
  itemAttributes,
  trainBiasedMfWithItemPrior,
  type ItemMetadata,
} from '../../training/item-prior';
import { DEFAULT_BIASED_MF_OPTIONS, DEFAULT_ITEM_PRIOR_OPTIONS } from '../../training/options';
import { syntheticSplit } from './helpers/synthetic-split';

const SMALL_MF: BiasedMfOptions = {
  ...DEFAULT_BIASED_MF_OPTIONS,
  factors: 4,
  epochs: 20,
  recencyHalfLifeDays: 0,
  seed: 5,
};

/** Two users, items 10 (Comedy) and 20 (Drama) rated, item 30 (Comedy) in the catalog only. */
function tinyCatalog() {
  const rows: RatingRecord[] = [
    { userId: 1, movieId: 10, rating: 5, timestamp: 1 },
    { userId: 2, movieId: 10, rating: 4, timestamp: 1 },
    { userId: 1, movieId: 20, rating: 2, timestamp: 2 },
    { userId: 2, movieId: 20, rating: 3, timestamp: 2 },
  ];
  return datasetFromRows(rows, { userIds: Int32Array.of(1, 2), itemIds: Int32Array.of(10, 20, 30) });
}

describe('item attributes', () => {
  it('are the genres and the decade, with explicit markers for missing ones', () => {
    expect(itemAttributes({ genres: ['Comedy', 'Drama'], year: 1995 })).toEqual([
      'genre:Comedy',
      'genre:Drama',
      'decade:1990',
    ]);
    expect(itemAttributes({ genres: [], year: null })).toEqual(['genre:(none)', 'decade:unknown']);
    expect(itemAttributes(undefined)).toEqual([]);
  });

  it('group items by their sorted genre set', () => {
    expect(genreSignature({ genres: ['Drama', 'Comedy'], year: 2001 })).toBe('Comedy|Drama');
    expect(genreSignature({ genres: [], year: 2001 })).toBe('');
    expect(genreSignature(undefined)).toBeNull();
  });
});

describe('fitItemPrior', () => {
  it('is the shrunk mean residual of the attribute, shared by an unrated item of the same genre', () => {
    // μ = 3.5; Comedy residuals 1.5 + 0.5 = 2 over 2 ratings, λ = 1 → 2/3; Drama → −2/3. A huge user
    // penalty keeps b_u at 0 so the numbers stay hand-checkable.
    const prior = fitItemPrior(tinyCatalog(), [['genre:Comedy'], ['genre:Drama'], ['genre:Comedy']], {
      regAttribute: 1,
      regUser: 1e12,
      iterations: 3,
    });
    expect(prior[0]).toBeCloseTo(2 / 3, 9);
    expect(prior[1]).toBeCloseTo(-2 / 3, 9);
    expect(prior[2]).toBeCloseTo(2 / 3, 9);
  });

  it('separates a generous user from the genre they happen to rate', () => {
    // User 1 rates everything 1 star above user 2; both rate Comedy and Drama alike, so the genre
    // effects come out symmetric and the user gap is not mistaken for a genre effect.
    const rows: RatingRecord[] = [
      { userId: 1, movieId: 10, rating: 5, timestamp: 1 },
      { userId: 1, movieId: 20, rating: 3, timestamp: 1 },
      { userId: 2, movieId: 10, rating: 4, timestamp: 1 },
      { userId: 2, movieId: 20, rating: 2, timestamp: 1 },
    ];
    const prior = fitItemPrior(datasetFromRows(rows), [['genre:Comedy'], ['genre:Drama']], {
      regAttribute: 0,
      regUser: 0,
      iterations: 20,
    });
    expect(prior[0]).toBeCloseTo(1, 6);
    expect(prior[1]).toBeCloseTo(-1, 6);
  });

  it('rejects attributes for the wrong number of items', () => {
    expect(() => fitItemPrior(tinyCatalog(), [['genre:Comedy']], DEFAULT_ITEM_PRIOR_OPTIONS)).toThrow(
      /3 items/,
    );
  });
});

describe('imputeUntrainedItemFactors', () => {
  it('gives untrained items the shrunk mean factors of trained items with their genres, nothing else', () => {
    const model: BiasedMfParameters = {
      k: 2,
      mu: 3,
      userBias: new Float64Array(1),
      itemBias: Float64Array.of(0.1, 0.2, 0.3, 0.4, 0.5),
      userFactors: new Float32Array(2),
      itemFactors: Float32Array.of(1, 2, 3, 4, 0, 0, 0, 0, 0, 0),
    };
    const counts = Int32Array.of(5, 7, 0, 0, 0);
    imputeUntrainedItemFactors(model, counts, ['Comedy', 'Comedy', 'Comedy', 'Drama', null], 2);
    // (1 + 3)/(2 + 2), (2 + 4)/(2 + 2); no trained Drama and no metadata → stay zero.
    expect(Array.from(model.itemFactors)).toEqual([1, 2, 3, 4, 1, 1.5, 0, 0, 0, 0]);
    expect(Array.from(model.itemBias)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
  });
});

describe('item offsets in trainBiasedMf', () => {
  const { train } = syntheticSplit();

  it('zero offsets reproduce the plain model bit for bit', async () => {
    const plain = await trainBiasedMf(train, SMALL_MF);
    const zero = await trainBiasedMf(train, SMALL_MF, { itemOffsets: new Float64Array(train.numItems) });
    expect(zero.model.itemBias).toEqual(plain.model.itemBias);
    expect(zero.model.itemFactors).toEqual(plain.model.itemFactors);
    expect(zero.trainRmse).toBe(plain.trainRmse);
  });

  it('are added to the returned item biases; an unrated item gets its offset alone', async () => {
    const dataset = tinyCatalog();
    const offsets = Float64Array.of(0.5, -0.5, 0.25);
    const result = await trainBiasedMf(dataset, SMALL_MF, { itemOffsets: offsets });
    expect(result.model.itemBias[2]).toBe(0.25);
    expect(Array.from(result.model.itemFactors.subarray(8, 12))).toEqual([0, 0, 0, 0]);
    const withoutOffsets = await trainBiasedMf(
      createDataset({ ...dataset, ...withoutItemOffsets(dataset, offsets) }),
      SMALL_MF,
    );
    expect(result.model.itemBias[0]).toBeCloseTo(withoutOffsets.model.itemBias[0] + 0.5, 12);
  });

  it('must match the item count', async () => {
    await expect(trainBiasedMf(train, SMALL_MF, { itemOffsets: new Float64Array(3) })).rejects.toThrow(
      /itemOffsets/,
    );
  });
});

describe('trainBiasedMfWithItemPrior', () => {
  // Ten users rate 40 "Horror" movies low and 40 "Documentary" ones high; movies 81 and 82 are in the
  // catalog without ratings. The plain MF can only predict μ + b_u for them.
  const metadata = new Map<number, ItemMetadata>();
  const rows: RatingRecord[] = [];
  for (let movieId = 1; movieId <= 82; movieId++) {
    const horror = movieId <= 40 || movieId === 81;
    metadata.set(movieId, { genres: [horror ? 'Horror' : 'Documentary'], year: 1990 + (movieId % 20) });
    if (movieId > 80) continue;
    for (let userId = 1; userId <= 10; userId++) {
      const rating = (horror ? 2 : 4) + ((userId + movieId) % 3) * 0.5 - 0.5;
      rows.push({ userId, movieId, rating, timestamp: movieId });
    }
  }
  const dataset = datasetFromRows(rows, {
    userIds: Int32Array.from({ length: 10 }, (_, u) => u + 1),
    itemIds: Int32Array.from({ length: 82 }, (_, i) => i + 1),
  });
  const [coldHorror, coldDocumentary] = [80, 81];

  it('predicts unrated movies from their genre', async () => {
    const { model } = await trainBiasedMfWithItemPrior(
      dataset,
      SMALL_MF,
      DEFAULT_ITEM_PRIOR_OPTIONS,
      metadata,
    );
    for (let user = 0; user < 10; user++) {
      expect(predictBiased(model, user, coldHorror)).toBeLessThan(2.6);
      expect(predictBiased(model, user, coldDocumentary)).toBeGreaterThan(3.4);
    }
  });

  it('is the plain model without metadata', async () => {
    const plain = await trainBiasedMf(dataset, SMALL_MF);
    const { model } = await trainBiasedMfWithItemPrior(dataset, SMALL_MF, DEFAULT_ITEM_PRIOR_OPTIONS, null);
    expect(model.itemBias).toEqual(plain.model.itemBias);
    expect(predictBiased(model, 0, coldHorror)).toBe(predictBiased(model, 0, coldDocumentary));
  });
});
