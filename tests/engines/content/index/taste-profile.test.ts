import { unitVectors } from '../../../../fixtures/unit-vectors';
import { computeTasteProfile, weightedSum } from '../../../../src/engines/content/taste-profile';

const X = new Float32Array([1, 0, 0]);
const Y = new Float32Array([0, 1, 0]);
const Z = new Float32Array([0, 0, 1]);

describe('computeTasteProfile', () => {
  it('weights embeddings by rating minus the user mean and normalises', () => {
    // Mean 3: weights +2 (X), +1 (Y), −2 (Z) → (2, 1, −2) / 3.
    const profile = computeTasteProfile(
      [
        { movieId: 1, rating: 5, vector: X },
        { movieId: 2, rating: 4, vector: Y },
        { movieId: 3, rating: 1, vector: Z },
      ],
      3,
    );
    expect(profile?.method).toBe('centred');
    expect(Array.from(profile!.vector)).toEqual(
      [2 / 3, 1 / 3, -2 / 3].map((value) => expect.closeTo(value, 6)),
    );
  });

  it('centres on the mean it is given, which may include ratings of movies without embeddings', () => {
    // Mean 4.5 over all ratings: X (5) weighs +0.5 and Y (4) −0.5 → (1, −1, 0) / √2.
    const profile = computeTasteProfile(
      [
        { movieId: 1, rating: 5, vector: X },
        { movieId: 2, rating: 4, vector: Y },
      ],
      4.5,
    );
    expect(Array.from(profile!.vector)).toEqual(
      [Math.SQRT1_2, -Math.SQRT1_2, 0].map((v) => expect.closeTo(v, 6)),
    );
  });

  it('falls back to the mean of liked movies when all weights are zero', () => {
    const profile = computeTasteProfile(
      [
        { movieId: 1, rating: 4, vector: X },
        { movieId: 2, rating: 4, vector: Y },
      ],
      4,
    );
    expect(profile?.method).toBe('liked-mean');
    expect(Array.from(profile!.vector)).toEqual(
      [Math.SQRT1_2, Math.SQRT1_2, 0].map((v) => expect.closeTo(v, 6)),
    );
  });

  it('falls back when centred weights cancel out exactly on identical embeddings', () => {
    // Ratings 5 and 1 of two movies with the same embedding: +2·X − 2·X = 0; only the 5★ one is liked.
    const profile = computeTasteProfile(
      [
        { movieId: 1, rating: 5, vector: X },
        { movieId: 2, rating: 1, vector: X },
      ],
      3,
    );
    expect(profile).toMatchObject({ method: 'liked-mean' });
    expect(Array.from(profile!.vector)).toEqual([1, 0, 0]);
  });

  it('sums row by row in the rated order: the same bits for any count, with zero weights among them', () => {
    const unit = unitVectors(21);
    // Weights that are not small integers, so float64 products and sums round and their order shows.
    const weightOf = (movie: { rating: number }) => (movie.rating === 3 ? 0 : movie.rating - 3.17);
    for (const count of [1, 3, 4, 5, 8, 11, 150]) {
      const rated = Array.from({ length: count }, (_, j) => ({
        movieId: j + 1,
        rating: 1 + (j % 5),
        vector: unit(512),
      }));
      const sum = new Float64Array(512);
      for (const movie of rated) {
        const weight = weightOf(movie);
        if (weight !== 0) for (let i = 0; i < 512; i++) sum[i] += weight * movie.vector[i];
      }
      // toEqual on arrays of numbers compares with Object.is: every bit of every component.
      expect(Array.from(weightedSum(rated, weightOf))).toEqual(Array.from(sum));
    }
  });

  it('is null without rated embeddings', () => {
    expect(computeTasteProfile([], 3)).toBeNull();
  });
});
