import { unitVectors } from '../../../fixtures/unit-vectors';
import {
  neighbourAverage,
  neighbourScore,
  packRatedNeighbours,
  CONTENT_SCORING,
  neighbourVoteOf,
  neighbourVotesOf,
  neighbourVotesInJs,
} from '../../../src/engines/content/neighbour-score';
import { wasmSimilarityKernel, WASM_BLOCK } from '../../../src/engines/content/wasm-vote';

describe('neighbourAverage', () => {
  it('averages centred ratings weighted by cos^p, ignoring dissimilar movies', () => {
    // cosines 0.5 and 1 with p = 2 weigh 0.25 and 1: (0.25·2 + 1·(−1)) / 1.25 = −0.4; the
    // negative cosine takes no part.
    const cosines = [0.5, 1, -0.9];
    expect(neighbourAverage((j) => cosines[j], [2, -1, 5], 2)).toBeCloseTo(-0.4, 12);
  });

  it('lets the nearest rated movie dominate as p grows', () => {
    const cosines = [0.9, 0.6];
    const weights = [1, -1];
    // p = 1: (0.9 − 0.6)/1.5 = 0.2; p = 8: (0.9⁸ − 0.6⁸)/(0.9⁸ + 0.6⁸) ≈ 0.9219.
    expect(neighbourAverage((j) => cosines[j], weights, 1)).toBeCloseTo(0.2, 12);
    expect(neighbourAverage((j) => cosines[j], weights, 8)).toBeCloseTo(
      (0.9 ** 8 - 0.6 ** 8) / (0.9 ** 8 + 0.6 ** 8),
      12,
    );
  });

  it('is 0 when nothing rated is similar, and rejects a fractional exponent', () => {
    expect(neighbourAverage(() => 0, [3, 4])).toBe(0);
    expect(neighbourAverage(() => 0.5, [])).toBe(0);
    expect(() => neighbourAverage(() => 0.5, [1], 2.5)).toThrow(RangeError);
  });
});

describe('neighbourScore', () => {
  it('takes cosines as dot products with the packed rated movies and centres on the user mean', () => {
    const rated = packRatedNeighbours(
      [
        { rating: 5, vector: Float32Array.of(1, 0) },
        { rating: 1, vector: Float32Array.of(0, 1) },
      ],
      3,
    );
    expect(rated?.weights).toEqual(Float64Array.of(2, -2));
    // The candidate is at 60° from the first movie (cos 0.5) and 30° from the second (cos √3/2);
    // with p = 2 the weights are 1/4 and 3/4: (0.25·2 − 0.75·2) / 1 = −1.
    const candidate = Float32Array.of(0.5, Math.sqrt(3) / 2);
    expect(neighbourScore(candidate, rated!, 2)).toBeCloseTo(-1, 6);
    expect(neighbourScore(Float32Array.of(1, 0), rated!)).toBeCloseTo(2, 12);
    expect(() => neighbourScore(Float32Array.of(1, 0, 0), rated!)).toThrow(/3-d/);
  });

  it('packs nothing for a user without embedded ratings', () => {
    expect(packRatedNeighbours([], 3)).toBeNull();
  });
});

describe('neighbourVotesOf', () => {
  it('equals neighbourVoteOf bit for bit for every candidate, whole blocks of four or not', () => {
    const unit = unitVectors(7);
    const rated = packRatedNeighbours(
      Array.from({ length: 13 }, (_, j) => ({ rating: 1 + (j % 5), vector: unit(24) })),
      3.1,
    )!;
    for (const count of [1, 3, 4, 5, 9]) {
      const candidates = Array.from({ length: count }, () => unit(24));
      for (const scoring of [
        CONTENT_SCORING,
        { ...CONTENT_SCORING, aggregate: 'mean' as const, exponent: 3 },
      ]) {
        const batched = neighbourVotesOf(candidates, rated, scoring);
        expect(Array.from(batched)).toEqual(candidates.map((c) => neighbourVoteOf(c, rated, scoring)));
      }
    }
  });

  it('refuses a candidate of another dimension', () => {
    const rated = packRatedNeighbours([{ rating: 4, vector: new Float32Array([1, 0]) }], 3)!;
    expect(() => neighbourVotesOf([new Float32Array([1, 0, 0])], rated, CONTENT_SCORING)).toThrow(/3-d/);
  });
});

describe('the WebAssembly similarity kernel', () => {
  const unit = unitVectors(11);

  it('is available on this Node (SIMD), so served votes take it', () => {
    expect(wasmSimilarityKernel()).not.toBeNull();
  });

  it('gives the votes of the JavaScript loop bit for bit, at served sizes and at block edges', () => {
    // 512-d like use-lite; candidate counts around the block size, a served request's ~250
    // candidates against 300 rated movies, and one rated movie; mean and sum aggregates.
    const shapes = [
      { candidates: 1, rated: 1, dimension: 512 },
      { candidates: WASM_BLOCK - 1, rated: 7, dimension: 512 },
      { candidates: WASM_BLOCK, rated: 5, dimension: 3 },
      { candidates: WASM_BLOCK + 1, rated: 2, dimension: 384 },
      { candidates: 251, rated: 300, dimension: 512 },
    ];
    for (const shape of shapes) {
      const rated = packRatedNeighbours(
        Array.from({ length: shape.rated }, (_, j) => ({
          rating: 0.5 + (j % 10) / 2,
          vector: unit(shape.dimension),
        })),
        3.2,
      )!;
      // Near-duplicates of rated movies too, so large similarities (where s^16 matters) are covered.
      const candidates = Array.from({ length: shape.candidates }, (_, i) =>
        i % 3 === 0 ? rated.rows[i % shape.rated].slice() : unit(shape.dimension),
      );
      for (const scoring of [
        CONTENT_SCORING,
        { ...CONTENT_SCORING, aggregate: 'mean' as const, exponent: 8 },
      ]) {
        const wasm = neighbourVotesOf(candidates, rated, scoring);
        const js = neighbourVotesInJs(candidates, rated, scoring);
        // toEqual on arrays of numbers compares with Object.is: every bit of every vote.
        expect(Array.from(wasm)).toEqual(Array.from(js));
        expect(Array.from(wasm)).toEqual(candidates.map((c) => neighbourVoteOf(c, rated, scoring)));
      }
    }
  });

  it('gives the same votes when a smaller call follows a larger one (stale memory is not read)', () => {
    const rated = packRatedNeighbours(
      Array.from({ length: 40 }, (_, j) => ({ rating: 1 + (j % 5), vector: unit(64) })),
      3,
    )!;
    const large = Array.from({ length: 50 }, () => unit(64));
    neighbourVotesOf(large, rated, CONTENT_SCORING);
    const small = large.slice(0, 3);
    expect(Array.from(neighbourVotesOf(small, rated, CONTENT_SCORING))).toEqual(
      Array.from(neighbourVotesInJs(small, rated, CONTENT_SCORING)),
    );
  });
});
