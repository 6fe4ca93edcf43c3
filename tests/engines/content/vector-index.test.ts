import { Mulberry32 } from '../../../src/engines/collaborative/kernels/prng';
import { cosineSimilarity } from '../../../src/engines/content/embedders/vectors';
import {
  buildVectorIndexNow,
  firstPassCandidates,
  searchVectorIndex,
  shareVectorIndex,
  vectorInIndex,
  type VectorIndex,
  vectorIndexFromShare,
  type VectorIndexEntry,
} from '../../../src/engines/content/vector-index';
import { dotAt } from '../../../src/engines/content/vector-codec';
import { MoviePositions } from '../../../src/engines/movie-positions';
import { hitBits } from '../../helpers/bits';
import {
  columnScales,
  copyQuantizedScorer,
  createQuantizedScorer,
  createRowScorer,
  rowScorerFromShare,
  SHARED_SCORER_ROOMS,
} from '../../../src/engines/content/wasm-dots';

const GENRES = ['Drama', 'Comedy', 'Horror', 'Western', 'Noir'];

/**
 * Movies around topics, as text embeddings are: each a mix of two topic directions plus noise.
 * Genres: Noir only on every 97th movie (a selective filter), the others spread.
 */
function clusteredCatalog(size: number, dimension: number, seed = 7): VectorIndexEntry[] {
  const random = new Mulberry32(seed);
  const topics = Array.from({ length: 40 }, () =>
    Float32Array.from({ length: dimension }, () => random.nextGaussian()),
  );
  return Array.from({ length: size }, (_, i) => {
    const vector = new Float32Array(dimension);
    for (const topic of [topics[random.nextInt(40)], topics[random.nextInt(40)]]) {
      const weight = 0.5 + random.nextFloat();
      for (let k = 0; k < dimension; k++) vector[k] += weight * topic[k];
    }
    for (let k = 0; k < dimension; k++) vector[k] += 0.6 * random.nextGaussian();
    const genres = i % 97 === 0 ? ['Noir'] : [GENRES[i % 4], ...(i % 3 === 0 ? [GENRES[(i + 1) % 4]] : [])];
    // Ids are not positions: sparse and unordered.
    return { movieId: 3 * ((i * 7919) % size) + 1, vector, genres };
  });
}

/** The reference: every eligible movie compared, best first, ties by id. */
function bruteForce(
  entries: readonly VectorIndexEntry[],
  query: Float32Array,
  limit: number,
  filter: { genres?: string[]; exclude?: Set<number> } = {},
) {
  return entries
    .filter((entry) => !filter.exclude?.has(entry.movieId))
    .filter((entry) => !filter.genres || entry.genres.some((genre) => filter.genres!.includes(genre)))
    .map((entry) => ({ movieId: entry.movieId, similarity: cosineSimilarity(query, entry.vector) }))
    .sort((a, b) => b.similarity - a.similarity || a.movieId - b.movieId)
    .slice(0, limit);
}

function tasteLike(entries: readonly VectorIndexEntry[], random: Mulberry32): Float32Array {
  const query = new Float32Array(entries[0].vector.length);
  for (let r = 0; r < 40; r++) {
    const entry = entries[random.nextInt(entries.length)];
    const weight = random.nextFloat() * 2.5 - 0.8;
    for (let k = 0; k < query.length; k++) query[k] += weight * entry.vector[k];
  }
  return query;
}

describe('the in-process vector index', () => {
  const entries = clusteredCatalog(8000, 64);
  let index: VectorIndex;

  beforeAll(() => {
    index = buildVectorIndexNow(entries);
  });

  it('projects the movies on their principal directions and calibrates its candidates to the target recall', () => {
    expect(index.size).toBe(8000);
    // 64 dimensions: the first pass scores 16 directions, which keep most of 40 topics' energy.
    expect(index.projectedDimension).toBe(16);
    expect(index.projection!.rows).toHaveLength(16 * 64);
    expect(index.capturedEnergy).toBeGreaterThan(0.5);
    expect(index.capturedEnergy).toBeLessThan(1);
    // The directions are orthonormal.
    const directions = index.projection!.rows;
    for (const [a, b] of [
      [0, 0],
      [0, 1],
      [5, 15],
      [15, 15],
    ])
      expect(dotAt(directions, a * 64, directions, b * 64, 64)).toBeCloseTo(a === b ? 1 : 0, 4);
    expect(index.calibratedRecall).toBeGreaterThanOrEqual(0.97);
    // Per kind and list length, never fewer for a longer list.
    expect(Array.from(index.calibratedLengths)).toEqual([10, 20, 50, 100, 180]);
    for (const kind of ['movie', 'taste', 'text'] as const) {
      const kept = Array.from(index.candidatesByLength[kind]);
      expect(kept).toEqual([...kept].sort((a, b) => a - b));
      expect(kept[kept.length - 1]).toBe(index.candidates[kind]);
    }
    expect(index.candidatesByLength.movie[0]).toBeLessThan(index.candidates.movie);
    expect(index.candidatesByLength.text[0]).toBeLessThan(index.candidates.text);
    // A pruning first pass: fewer candidates than movies, at least as many as asked (16 directions
    // keep less of 40 random topics than of real embeddings, where 64 of 512 keep 95%).
    for (const kind of ['movie', 'taste', 'text'] as const) {
      expect(index.candidates[kind]).toBeGreaterThanOrEqual(180);
      expect(index.candidates[kind]).toBeLessThan(8000 / 2);
    }
    expect(index.scorer.simd).toBe(true);
    for (const entry of entries.slice(0, 50))
      expect(vectorInIndex(index, entry.movieId)).toEqual(entry.vector);
    expect(vectorInIndex(index, 2)).toBeUndefined();
    // Views of one shared memory, made once: the vote pool's workers read them where they are.
    const view = vectorInIndex(index, entries[0].movieId)!;
    expect(vectorInIndex(index, entries[0].movieId)).toBe(view);
    expect(Object.prototype.toString.call(view.buffer)).toBe('[object SharedArrayBuffer]');
  });

  it('finds ≥ 95% of the exact top 10 and top 150 for single movies and taste-like sums with their candidates, with exclusions', () => {
    const random = new Mulberry32(11);
    for (const limit of [10, 150]) {
      let recall = 0;
      const queries = 60;
      for (let q = 0; q < queries; q++) {
        const source = entries[random.nextInt(entries.length)];
        const query = q % 2 === 0 ? source.vector : tasteLike(entries, random);
        const exclude = new Set(
          q % 2 === 0 ? [source.movieId] : entries.slice(q * 10, q * 10 + 60).map((e) => e.movieId),
        );
        const found = searchVectorIndex(index, query, limit, {
          exclude,
          kind: q % 2 === 0 ? 'movie' : 'taste',
        });
        expect(found).toHaveLength(limit);
        for (const hit of found) expect(exclude.has(hit.movieId)).toBe(false);
        const exact = new Set(bruteForce(entries, query, limit, { exclude }).map((hit) => hit.movieId));
        recall += found.filter((hit) => exact.has(hit.movieId)).length / limit;
      }
      expect(recall / queries).toBeGreaterThanOrEqual(0.95);
    }
  });

  it('reports float64 cosine similarities, best first', () => {
    const query = entries[3].vector;
    const found = searchVectorIndex(index, query, 20);
    expect(found[0]).toEqual({ movieId: entries[3].movieId, similarity: expect.closeTo(1, 12) });
    for (const hit of found) {
      const entry = entries.find((e) => e.movieId === hit.movieId)!;
      expect(hit.similarity).toBeCloseTo(cosineSimilarity(query, entry.vector), 12);
    }
    const similarities = found.map((hit) => hit.similarity);
    expect(similarities).toEqual([...similarities].sort((a, b) => b - a));
    // For a caller that only wants the movies: the float32 sums' similarities, the same movies.
    const fromFloat32 = searchVectorIndex(index, query, 20, { float32Similarities: true });
    expect(fromFloat32.map((hit) => hit.movieId)).toEqual(found.map((hit) => hit.movieId));
    fromFloat32.forEach((hit, i) => expect(hit.similarity).toBeCloseTo(found[i].similarity, 5));
  });

  it('answers a selective genre filter exactly and a broad one with only matching movies', () => {
    const query = entries[10].vector;
    expect(searchVectorIndex(index, query, 30, { genres: ['Noir'] })).toEqual(
      bruteForce(entries, query, 30, { genres: ['Noir'] }).map((hit) => ({
        movieId: hit.movieId,
        similarity: expect.closeTo(hit.similarity, 12),
      })),
    );
    const broad = searchVectorIndex(index, query, 30, { genres: ['Western', 'Noir'] });
    expect(broad).toHaveLength(30);
    const genresOf = new Map(entries.map((entry) => [entry.movieId, entry.genres]));
    for (const hit of broad)
      expect(genresOf.get(hit.movieId)!.some((g) => g === 'Western' || g === 'Noir')).toBe(true);
    expect(searchVectorIndex(index, query, 30, { genres: ['Musical'] })).toEqual([]);
  });

  it('returns every eligible movie, exhaustively, when fewer pass than asked for', () => {
    const exclude = new Set(entries.slice(20).map((entry) => entry.movieId));
    const found = searchVectorIndex(index, entries[0].vector, 50, { exclude });
    expect(found.map((hit) => hit.movieId)).toEqual(
      bruteForce(entries, entries[0].vector, 50, { exclude }).map((hit) => hit.movieId),
    );
    expect(found).toHaveLength(20);
  });

  it('compares every movie of a small catalog, ties by movie id', () => {
    const small = clusteredCatalog(300, 60, 3);
    small.push({ movieId: 100_000, vector: small[0].vector, genres: [] });
    const exact = buildVectorIndexNow(small);
    expect(exact.projected).toBeNull();
    expect(exact.candidates).toEqual({ movie: 0, taste: 0, text: 0 });
    // 60 dimensions are not a multiple of 8: the JavaScript loop scores.
    expect(exact.scorer.simd).toBe(false);
    const found = searchVectorIndex(exact, small[0].vector, 300);
    expect(found.map((hit) => hit.movieId)).toEqual(
      bruteForce(small, small[0].vector, 300).map((hit) => hit.movieId),
    );
    expect(found.slice(0, 2).map((hit) => hit.movieId)).toEqual(
      [small[0].movieId, 100_000].sort((a, b) => a - b),
    );
  });

  it("finds a movie's position by a table of ids, or by a Map where the ids are too far apart", () => {
    const dense = new MoviePositions(Int32Array.from([5, 0, 292_757, 31]));
    const sparse = new MoviePositions([5, 0, 2 ** 30, 31]);
    const negative = new MoviePositions([5, -3]);
    for (const positions of [dense, sparse]) {
      expect([5, 0, 31].map((id) => positions.get(id))).toEqual([0, 1, 3]);
      expect([1, 6, 32, -1, 2.5, NaN, 2 ** 31].map((id) => positions.get(id))).toEqual(
        Array(7).fill(undefined),
      );
    }
    expect(dense.get(292_757)).toBe(2);
    expect(dense.bytes).toBe(4 * 292_758);
    expect(sparse.get(2 ** 30)).toBe(2);
    expect(sparse.bytes).toBe(40 * 4);
    expect(negative.get(-3)).toBe(1);
    expect(() => new MoviePositions([3, 8, 3])).toThrow(/movie 3 appears twice/);
    expect(() => new MoviePositions([2 ** 30, 8, 2 ** 30])).toThrow(/appears twice/);
  });

  it('refuses duplicate movies, mixed dimensions and a query of another dimension', () => {
    const [a, b] = clusteredCatalog(2, 16);
    expect(() => buildVectorIndexNow([a, { ...b, movieId: a.movieId }])).toThrow(/appears twice/);
    expect(() => buildVectorIndexNow([a, { ...b, vector: new Float32Array(8) }])).toThrow(/dimensions/);
    expect(() => searchVectorIndex(index, new Float32Array(32), 5)).toThrow(/dimensions/);
    const zero = buildVectorIndexNow([a, { ...b, vector: new Float32Array(16) }]);
    expect(searchVectorIndex(zero, a.vector, 2).map((hit) => hit.similarity)).toEqual([
      expect.closeTo(1, 12),
      0,
    ]);
  });
});

describe('an index shared with another thread', () => {
  it('answers every kind of search as the index it was shared from, bit for bit, projected or exact', () => {
    const random = new Mulberry32(31);
    for (const [entries, options] of [
      [clusteredCatalog(3000, 64, 3), { exactBelow: 1000 }],
      [clusteredCatalog(400, 64, 4), {}],
    ] as const) {
      const index = buildVectorIndexNow(entries, options);
      const share = shareVectorIndex(index)!;
      const copy = vectorIndexFromShare(share)!;
      expect(copy.projectedDimension).toBe(index.projectedDimension);
      // The rows are the same memory, not a copy.
      const saved = index.vectors[5];
      index.vectors[5] = 123.5;
      expect(copy.vectors[5]).toBe(123.5);
      index.vectors[5] = saved;
      expect(Array.from(copy.rows[7])).toEqual(Array.from(index.rows[7]));
      const queries = [
        { query: tasteLike(entries, random), kind: 'taste' as const },
        { query: entries[11].vector, kind: 'movie' as const },
        { query: Float32Array.from({ length: 64 }, () => random.nextGaussian()), kind: 'text' as const },
      ];
      const exclude = new Set(entries.slice(0, 150).map((entry) => entry.movieId));
      for (const { query, kind } of queries)
        for (const filter of [
          { kind },
          { kind, exclude, float32Similarities: true },
          { kind, genres: ['Comedy', 'Western'] },
          { kind, genres: ['Noir'], exclude },
        ]) {
          const expected = hitBits(searchVectorIndex(index, query, 60, filter));
          // Interleaved: each thread's query and scores have their own room in the shared memory.
          const copied = hitBits(searchVectorIndex(copy, query, 60, filter));
          expect(hitBits(searchVectorIndex(index, query, 60, filter))).toEqual(expected);
          expect(copied).toEqual(expected);
          expect(copied[0].length).toBeGreaterThan(0);
        }
    }
  });

  it("gives each thread a room of its own for its query and scores, until the memory's reserve is used", () => {
    const random = new Mulberry32(6);
    const scorer = createRowScorer(300, 32);
    for (let i = 0; i < scorer.rows.length; i++) scorer.rows[i] = random.nextGaussian();
    const queries = Array.from({ length: 3 }, () =>
      Float32Array.from({ length: 32 }, () => random.nextGaussian()),
    );
    const others = Array.from({ length: SHARED_SCORER_ROOMS }, () => rowScorerFromShare(scorer.share()!)!);
    expect(scorer.share()).toBeNull();
    const expected = queries.map((query) => {
      scorer.setQuery(query);
      return Array.from(scorer.score(0, 300));
    });
    scorer.setQuery(queries[0]);
    others[0].setQuery(queries[1]);
    others[SHARED_SCORER_ROOMS - 1].setQuery(queries[2]);
    expect(Array.from(others[0].score(0, 300))).toEqual(expected[1]);
    expect(Array.from(scorer.score(0, 300))).toEqual(expected[0]);
    expect(Array.from(others[SHARED_SCORER_ROOMS - 1].score(0, 300))).toEqual(expected[2]);
    expect(others[0].scoreRow(299)).toBe(expected[1][299]);
    // JavaScript rows (no SIMD for 12 components) have no room to give.
    expect(createRowScorer(10, 12).share()).toBeNull();
  });

  it('copies the int8 rows into a scorer of its own that scores the same', () => {
    const random = new Mulberry32(12);
    const rows = Float32Array.from({ length: 50 * 32 }, () => random.nextGaussian());
    const scales = columnScales(rows, 50, 32);
    const source = createQuantizedScorer(50, 32, scales);
    for (let r = 0; r < 50; r++) source.setRow(r, rows, r * 32);
    const copy = copyQuantizedScorer(source, 50);
    const query = Float32Array.from({ length: 32 }, () => random.nextGaussian());
    source.setQuery(query);
    copy.setQuery(query);
    expect(Array.from(copy.score(0, 50))).toEqual(Array.from(source.score(0, 50)));
    expect(copy.queryFactor).toBe(source.queryFactor);
    expect(() => copyQuantizedScorer(source, 49)).toThrow(RangeError);
  });
});

describe("the first pass's candidates", () => {
  /** The reference: every eligible row ranked, best first, ties to the lower id, the first `keep`. */
  const bestRows = (scores: Float32Array, keep: number, eligible: (p: number) => boolean, ids: Int32Array) =>
    Array.from(scores.keys())
      .filter(eligible)
      .sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b])
      .slice(0, keep)
      .sort((a, b) => a - b);

  it('are the best eligible rows, ties to the lower id, whether the sampled threshold holds or not', () => {
    const random = new Mulberry32(4);
    const n = 20_000;
    // Coarse scores: many ties.
    const scores = Float32Array.from({ length: n }, () => Math.round(random.nextGaussian() * 40));
    const ids = Int32Array.from({ length: n }, (_, p) => (p * 7919) % n);
    const cases: [number, (p: number) => boolean][] = [
      [364, () => true],
      [50, (p) => p % 3 !== 0],
      // Nothing eligible where the sample looks: no threshold.
      [200, (p) => p % 16 !== 0 && scores[p] < 20],
      // Eligible rows mostly where the sample looks: the threshold leaves too few, and every row is
      // offered again.
      [200, (p) => p % 16 === 0 || p % 997 === 5],
      // Fewer eligible rows than wanted: all of them.
      [300, (p) => p % 100 === 1],
    ];
    for (const [keep, eligible] of cases) {
      const found = Array.from(firstPassCandidates(scores, keep, eligible, ids)).sort((a, b) => a - b);
      expect(found).toEqual(bestRows(scores, keep, eligible, ids));
    }
  });
});

describe('the row scorer', () => {
  it('scores in WebAssembly SIMD what the JavaScript loop scores, to float32 rounding', () => {
    const random = new Mulberry32(5);
    const wasm = createRowScorer(100, 512);
    const js = createRowScorer(100, 512, { wasm: false });
    expect([wasm.simd, js.simd]).toEqual([true, false]);
    for (const scorer of [wasm, js])
      expect(Object.prototype.toString.call(scorer.rows.buffer)).toBe('[object SharedArrayBuffer]');
    for (let i = 0; i < wasm.rows.length; i++) wasm.rows[i] = random.nextGaussian();
    js.rows.set(wasm.rows);
    const query = Float32Array.from({ length: 512 }, () => random.nextGaussian());
    wasm.setQuery(query);
    js.setQuery(query);
    const fromWasm = Float32Array.from(wasm.score(10, 90));
    const fromJs = js.score(10, 90);
    expect(fromWasm).toHaveLength(90);
    for (let r = 0; r < 90; r++) expect(Math.abs(fromWasm[r] - fromJs[r])).toBeLessThan(1e-3);
    expect(wasm.score(0, 0)).toHaveLength(0);
    // One row alone, as a search's second pass scores its candidates: the same sums.
    for (const r of [10, 57, 99]) {
      expect(wasm.scoreRow(r)).toBe(fromWasm[r - 10]);
      expect(js.scoreRow(r)).toBe(fromJs[r - 10]);
    }
  });
});

describe('the int8 scorer', () => {
  it('approximates the float32 dot products up to the query factor, the same in WebAssembly SIMD as in JavaScript', () => {
    const random = new Mulberry32(8);
    const exact = createRowScorer(64, 512);
    // Columns of very different sizes, as projected rows have: a scale per column keeps the small ones.
    for (let r = 0; r < 64; r++)
      for (let k = 0; k < 512; k++) exact.rows[r * 512 + k] = random.nextGaussian() * (k < 16 ? 10 : 0.5);
    const scales = columnScales(exact.rows, 64, 512);
    expect(scales[0]).toBeGreaterThan(5 * scales[511]);
    const wasm = createQuantizedScorer(64, 512, scales);
    const js = createQuantizedScorer(64, 512, scales, { wasm: false });
    expect([wasm.simd, js.simd]).toEqual([true, false]);
    for (let r = 0; r < 64; r++) {
      wasm.setRow(r, exact.rows, r * 512);
      js.setRow(r, exact.rows, r * 512);
    }
    const query = Float32Array.from({ length: 512 }, () => random.nextGaussian());
    exact.setQuery(query);
    wasm.setQuery(query);
    js.setQuery(query);
    expect(wasm.queryFactor).toBeGreaterThan(0);
    expect(js.queryFactor).toBe(wasm.queryFactor);
    const reference = Float32Array.from(exact.score(0, 64));
    const fromWasm = Float32Array.from(wasm.score(0, 64));
    // int32 sums of int8 × int16 products: exact, so both kernels agree bit for bit.
    expect(Array.from(js.score(0, 64))).toEqual(Array.from(fromWasm));
    expect(fromWasm.every(Number.isInteger)).toBe(true);
    // |row| · |query| ≈ 1,000 here: the int8 error stays within ~0.5% of it.
    for (let r = 0; r < 64; r++)
      expect(Math.abs(fromWasm[r] * wasm.queryFactor - reference[r])).toBeLessThan(5);
    expect(Math.max(...reference.map(Math.abs))).toBeGreaterThan(100);
    expect(() => createQuantizedScorer(64, 512, new Float32Array(8))).toThrow(/column scales/);
  });
});
