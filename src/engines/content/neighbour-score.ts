import { wasmSimilarityKernel } from './wasm-vote';

/**
 * Item-to-item content scoring: a candidate's score is the average of the user's centred ratings
 * (rating − the user's mean) over the movies they rated, each weighted by max(0, cos)^p, the
 * cosine between the two movies' text embeddings raised to NEIGHBOUR_EXPONENT:
 *
 *   score(c) = Σ_j s_cj^p · (r_j − μ) / Σ_j s_cj^p,   s_cj = max(0, cos(c, j))
 *
 * A large p makes the closest rated movies dominate (a soft nearest-neighbour vote), where the
 * single taste-profile centroid blurs a user with several tastes into one direction. It uses the
 * embeddings of movie text and the user's own ratings only: no other user's ratings enter.
 * p = 8 was best among 3, 5 and 8 for this mean on a validation split carved from the training
 * ratings; the evaluation's content-neighbours and hybrid-content-neighbours strategies use it. What
 * is served is CONTENT_SCORING below (a sum, p = 16).
 */
export const NEIGHBOUR_EXPONENT = 8;

/**
 * The user's rated, embedded movies for the kernel: `rows[j]` has weight `weights[j]`. The rows are
 * the movies' own vectors, not copies: where they are views of the in-process index's shared memory,
 * the vote pool sends a worker their positions instead of their values.
 */
export interface RatedNeighbours {
  /** Vectors of `dimension` components, each unit length. */
  readonly rows: readonly Float32Array[];
  /** rating − user mean, per row. */
  readonly weights: Float64Array;
  readonly dimension: number;
}

export function packRatedNeighbours(
  rated: readonly { rating: number; vector: Float32Array }[],
  userMean: number,
): RatedNeighbours | null {
  if (rated.length === 0) return null;
  const dimension = rated[0].vector.length;
  const rows: Float32Array[] = [];
  const weights = new Float64Array(rated.length);
  rated.forEach((movie, j) => {
    if (movie.vector.length !== dimension)
      throw new Error(`a ${movie.vector.length}-d embedding among ${dimension}-d ones`);
    rows.push(movie.vector);
    weights[j] = movie.rating - userMean;
  });
  return { rows, weights, dimension };
}

/** x^p for a whole p ≥ 1 by repeated squaring (Math.pow is several times slower in this loop). */
export function power(x: number, p: number): number {
  let result = 1;
  let base = x;
  let exponent = p;
  while (exponent > 0) {
    if (exponent & 1) result *= base;
    base *= base;
    exponent >>= 1;
  }
  return result;
}

/**
 * The weighted average above from precomputed similarities: `similarity(j)` is cos(c, j) for the
 * j-th of `weights`. 0 when no rated movie is similar at all (every cosine ≤ 0).
 */
export function neighbourAverage(
  similarity: (j: number) => number,
  weights: ArrayLike<number>,
  exponent: number = NEIGHBOUR_EXPONENT,
): number {
  if (!Number.isInteger(exponent) || exponent < 1)
    throw new RangeError(`exponent must be a whole number ≥ 1, got ${exponent}`);
  let numerator = 0;
  let denominator = 0;
  for (let j = 0; j < weights.length; j++) {
    const s = similarity(j);
    if (!(s > 0)) continue;
    const w = power(s, exponent);
    numerator += w * weights[j];
    denominator += w;
  }
  return denominator > 0 ? numerator / denominator : 0;
}

/** neighbourAverage for one candidate embedding against the packed rated movies (cosine = dot product). */
export function neighbourScore(
  candidate: Float32Array,
  rated: RatedNeighbours,
  exponent: number = NEIGHBOUR_EXPONENT,
): number {
  return neighbourAverage(candidateSimilarity(candidate, rated), rated.weights, exponent);
}

/** cos(candidate, rated movie j) as a dot product: both are unit length. */
function candidateSimilarity(candidate: Float32Array, rated: RatedNeighbours): (j: number) => number {
  const { rows, dimension } = rated;
  if (candidate.length !== dimension)
    throw new Error(`a ${candidate.length}-d candidate against ${dimension}-d rated movies`);
  return (j) => similarity32(candidate, rows[j], dimension);
}

/**
 * The vote's cosine of two unit vectors: their dot product in float32 arithmetic, summed in order
 * of the components, which is what the WebAssembly kernel (wasm-vote.ts) computes four candidates
 * at a time (Math.fround of a float64 product or sum of two float32 values is the float32 one).
 */
export function similarity32(a: Float32Array, b: Float32Array, dimension: number): number {
  let dot = 0;
  for (let d = 0; d < dimension; d++) dot = Math.fround(dot + Math.fround(a[d] * b[d]));
  return dot;
}

/**
 * How the content engine turns a user's ratings into a score per movie: the neighbour vote over the
 * movies they rated, `mean` (neighbourAverage) or `sum` (Σ_j s_cj^p·(r_j − μ), which also counts how
 * many rated movies vouch for the candidate), plus `popularityWeight` × popularityPrior. Every value
 * was chosen on validation splits carved from training ratings (see CONTENT_SCORING).
 */
export interface ContentScoring {
  readonly aggregate: 'mean' | 'sum';
  readonly exponent: number;
  readonly popularityWeight: number;
}

/**
 * The served scoring, chosen on validation splits carved from training ratings only (each user's
 * last 15% by time of the temporal protocol's ml-latest-small train set; a random 10% of ml-100k
 * u1.base), over p ∈ {4, 8, 16, 32}, mean or sum, and prior weights 0.1–30. NDCG@10 on validation:
 * ml-latest-small: popularity alone 0.0701, taste profile 0.0079, mean vote p = 8 0.0115, sum
 * p = 16 0.0270, sum p = 16 + 3 × prior 0.0754, + 10 × prior 0.0779; ml-100k (with TMDB overviews):
 * popularity 0.1058, taste profile 0.0281, sum p = 16 + 3 × prior 0.1160, + 10 × 0.1119, + 30 ×
 * 0.1075. 10 is the larger gain where live traffic looks like the data (by time) and still beats
 * popularity on the random split. The prior carries which movies people watch at all, the vote which
 * of them resemble what this user rated above their own mean.
 */
export const CONTENT_SCORING: ContentScoring = { aggregate: 'sum', exponent: 16, popularityWeight: 10 };

/**
 * The content engine's score as one of HYBRID's engines: the same vote, without the popularity
 * prior, because the statistical engine brings popularity to the merge and the prior made content a
 * second, weaker copy of it. Chosen on validation splits carved from training ratings only
 * (`scripts/hybrid-content-scoring.ts`; each user's latest 20% of ml-latest-small's temporal train
 * set, a random 10% of each ml-100k uN.base). NDCG@10 of HYBRID with the specified weights
 * 0.5/0.3/0.2, content with the prior → without it (the top-N model alone):
 * temporal 0.1211 → 0.1347 (0.1308); u1 0.1944 → 0.2177 (0.2292); u2 0.1872 → 0.2065 (0.2166);
 * u3 0.1818 → 0.2058 (0.2111); u4 0.1796 → 0.2011 (0.2067); u5 0.1974 → 0.2151 (0.2239). p = 8
 * without the prior: 0.1357, 0.2170, 0.2076, 0.2025, 0.2008, 0.2063 — no better on the mean, and a
 * second vote to compute. Only temporal puts the merge above the top-N model alone.
 */
export const MERGED_CONTENT_SCORING: ContentScoring = { ...CONTENT_SCORING, popularityWeight: 0 };

/** A movie's popularity on [0, 1]: ln(1 + votes) / ln(1 + the most votes any movie has). */
export function popularityPrior(votes: number, maxVotes: number): number {
  return maxVotes > 0 && votes > 0 ? Math.log1p(votes) / Math.log1p(maxVotes) : 0;
}

/** The vote part of ContentScoring: Σ_j s_j^p·w_j, divided by Σ_j s_j^p for `mean`. */
export function neighbourVote(
  similarity: (j: number) => number,
  weights: ArrayLike<number>,
  scoring: ContentScoring,
): number {
  if (scoring.aggregate === 'mean') return neighbourAverage(similarity, weights, scoring.exponent);
  let sum = 0;
  for (let j = 0; j < weights.length; j++) {
    const s = similarity(j);
    if (s > 0) sum += power(s, scoring.exponent) * weights[j];
  }
  return sum;
}

/** Candidates scored together by neighbourVotesOf: each rated row is loaded once per block. */
const CANDIDATE_BLOCK = 4;

/**
 * neighbourVoteOf for many candidates, equal to it bit for bit (each candidate's dot products are
 * summed in the same order): the dot products by the WebAssembly SIMD kernel (wasm-vote.ts) where the
 * engine has one, else by neighbourVotesInJs. The kernel measured 5–14× faster than the JavaScript loop
 * (scripts/bench-vote.ts: 250 candidates, 512-d, against 20 to 300 rated movies; the float32 sums
 * cost the loop Math.fround per step).
 */
export function neighbourVotesOf(
  candidates: readonly Float32Array[],
  rated: RatedNeighbours,
  scoring: ContentScoring,
): Float64Array {
  checkDimensions(candidates, rated);
  const kernel = wasmSimilarityKernel();
  const found = kernel?.similarities(candidates, rated.rows, rated.dimension);
  if (!found) return neighbourVotesInJs(candidates, rated, scoring);
  const { values, first, step } = found;
  const votes = new Float64Array(candidates.length);
  for (let i = 0; i < candidates.length; i++) {
    const start = first(i);
    votes[i] = neighbourVote((j) => values[start + j * step], rated.weights, scoring);
  }
  return votes;
}

function checkDimensions(candidates: readonly Float32Array[], rated: RatedNeighbours): void {
  for (const candidate of candidates)
    if (candidate.length !== rated.dimension)
      throw new Error(`a ${candidate.length}-d candidate against ${rated.dimension}-d rated movies`);
}

/**
 * neighbourVotesOf in JavaScript, four candidates against each rated row at a time. The vote was half
 * of the server's CPU for a user's first HYBRID list (node --cpu-prof, ml-latest-small, 512-d): the
 * dot products, ~1 ns per multiply-add in one accumulator; sharing each loaded rated value between
 * four candidates measured 24 → 16.5 ms for 200 candidates against 300 rated movies.
 */
export function neighbourVotesInJs(
  candidates: readonly Float32Array[],
  rated: RatedNeighbours,
  scoring: ContentScoring,
): Float64Array {
  const { rows, dimension } = rated;
  const count = rows.length;
  const votes = new Float64Array(candidates.length);
  const similarities = Array.from({ length: CANDIDATE_BLOCK }, () => new Float64Array(count));
  checkDimensions(candidates, rated);
  for (let start = 0; start < candidates.length; start += CANDIDATE_BLOCK) {
    const size = Math.min(CANDIDATE_BLOCK, candidates.length - start);
    // A short last block repeats its first candidate; those sums are not read.
    const c0 = candidates[start];
    const c1 = size > 1 ? candidates[start + 1] : c0;
    const c2 = size > 2 ? candidates[start + 2] : c0;
    const c3 = size > 3 ? candidates[start + 3] : c0;
    const [s0, s1, s2, s3] = similarities;
    for (let j = 0; j < count; j++) {
      const row = rows[j];
      let d0 = 0;
      let d1 = 0;
      let d2 = 0;
      let d3 = 0;
      for (let d = 0; d < dimension; d++) {
        const x = row[d];
        d0 = Math.fround(d0 + Math.fround(c0[d] * x));
        d1 = Math.fround(d1 + Math.fround(c1[d] * x));
        d2 = Math.fround(d2 + Math.fround(c2[d] * x));
        d3 = Math.fround(d3 + Math.fround(c3[d] * x));
      }
      s0[j] = d0;
      s1[j] = d1;
      s2[j] = d2;
      s3[j] = d3;
    }
    for (let k = 0; k < size; k++) {
      const row = similarities[k];
      votes[start + k] = neighbourVote((j) => row[j], rated.weights, scoring);
    }
  }
  return votes;
}

/** neighbourVote for one candidate embedding against the packed rated movies. */
export function neighbourVoteOf(
  candidate: Float32Array,
  rated: RatedNeighbours,
  scoring: ContentScoring,
): number {
  return neighbourVote(candidateSimilarity(candidate, rated), rated.weights, scoring);
}
