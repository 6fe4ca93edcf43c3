/**
 * The content engine's nearest-neighbour search in process, so a taste profile, a similar-movies or
 * a search query costs no round trip and no PostgreSQL CPU. Why: at 25M (62K movies, 16 connections)
 * pgvector's HNSW search was 166 of 178 active statements sampled under HYBRID load, and PostgreSQL
 * shared the two cores with the API.
 *
 * Similarity is cosine, as pgvector's `<=>` is: rows keep the stored vectors (the vote reads the
 * same arrays) with the inverse of their norm beside them. A search has two passes. The first scores
 * every eligible movie on a few principal directions of the catalog (the top `projectedDimension`
 * of the unit rows' second moment, d/8: 64 of 512), in int8 — an eighth of the bytes a full int8 row
 * costs — and keeps a calibrated number of candidates; the second scores those candidates on their
 * whole float32 rows, and the best are reported in float64. The number is calibrated when the index
 * is built: queries shaped like the engine's (single movies, as similarMovies asks; signed sums of
 * rated movies, as a taste profile is; movies blurred by noise, as a text search's embedding is) are
 * answered exactly, and for each kind and list length the candidates kept are enough for the exact
 * top movies to be among them at `targetRecall`. Small catalogs, and selective genre filters, are
 * compared exactly.
 *
 * Why not the inverted file this replaced (k-means lists scanned whole in int8 at all 512
 * dimensions, until a calibrated budget): text embeddings of movies cluster weakly, so a taste
 * profile's lists held half the catalog (32,955 of 62,423 movies scanned at 25M, 3.3 ms a list). On
 * ml-latest-small's embeddings, 64 directions keep 94.9% of the rows' second moment, and re-ranking
 * 2× the wanted candidates of that first pass found 0.999 of a taste profile's exact top 180 (3×
 * for a movie's top 10: 0.996), where the inverted file was calibrated to 0.97.
 *
 * The build is a generator of steps of about a millisecond of work, so that a server can run it
 * between requests.
 */
import { orthonormalizeColumns } from '../collaborative/kernels/linalg';
import { Mulberry32 } from '../collaborative/kernels/prng';
import { topK } from '../collaborative/kernels/top-k';
import { DEFAULT_EXACT_FILTER_LIMIT } from './embedding-store';
import { dotAt } from './vector-codec';
import { MoviePositions } from '../movie-positions';
import {
  columnScales,
  copyQuantizedScorer,
  createQuantizedScorer,
  createRowScorer,
  type QuantizedScorer,
  type RowScorer,
  rowScorerFromShare,
  type RowScorerShare,
} from './wasm-dots';

export interface VectorIndexEntry {
  movieId: number;
  vector: Float32Array;
  genres: readonly string[];
}

export interface VectorIndexOptions {
  /** Principal directions the first pass scores on; default d/8 rounded to a multiple of 16 (≥ 16). */
  projectedDimension?: number;
  /** Movies the principal directions are estimated from; default 4,096. */
  sample?: number;
  /** Subspace iterations; default 12. */
  iterations?: number;
  seed?: number;
  targetRecall?: number;
  calibrationN?: number;
  calibrationQueries?: number;
  /** At most this many movies: every query compares them all. */
  exactBelow?: number;
}

export interface VectorIndex {
  readonly dimension: number;
  readonly size: number;
  /** Movie ids, in the order of the entries the index was built from. */
  readonly ids: Int32Array;
  /** The stored vectors in the order of `ids` (callers may hold views of them: never written). */
  readonly vectors: Float32Array;
  /** Row p of `vectors` as a view, made once: the content engine reads a user's rated movies here. */
  readonly rows: readonly Float32Array[];
  /** Holds `vectors` (float32, in a shared memory the vote workers read). */
  readonly scorer: RowScorer;
  /** The principal directions as `projectedDimension` rows of `dimension`; null for exact scans. */
  readonly projection: RowScorer | null;
  /** Directions the first pass scores on (0 for exact scans). */
  readonly projectedDimension: number;
  /** The share of the unit rows' second moment the directions keep (1 for exact scans). */
  readonly capturedEnergy: number;
  /**
   * Every unit row projected on the directions, in int8 with a scale per direction: what the first
   * pass reads; null for exact scans.
   */
  readonly projected: QuantizedScorer | null;
  /** 1 / |vector| (0 for an all-zero vector, which is then never similar to anything). */
  readonly inverseNorms: Float64Array;
  readonly positionOf: MoviePositions;
  /** One byte per position, all zero between searches: a search flags its excluded movies here. */
  readonly excludedScratch: Uint8Array;
  /** Genre name → bit; a movie's bits are genreWords words of genreBits from position · genreWords. */
  readonly genreBit: ReadonlyMap<string, number>;
  readonly genreWords: number;
  readonly genreBits: Uint32Array;
  /** Movies per genre, to tell a selective filter (scanned exactly) from a broad one. */
  readonly genreCounts: ReadonlyMap<string, number>;
  /**
   * Per kind of query, the candidates the first pass keeps for calibrationN results (the largest
   * over the calibrated lengths); all 0 for exact scans.
   */
  readonly candidates: Readonly<Record<QueryKind, number>>;
  /** The list lengths the candidates were calibrated at, ascending (the last is calibrationN). */
  readonly calibratedLengths: Int32Array;
  /**
   * Per kind, the candidates for each calibrated length: a search of `limit` keeps those of the
   * shortest calibrated length ≥ limit.
   */
  readonly candidatesByLength: Readonly<Record<QueryKind, Int32Array>>;
  readonly calibrationN: number;
  /**
   * The lowest mean recall, over the kinds of calibration query and the calibrated lengths, each with
   * its own candidates (1 for exact scans).
   */
  readonly calibratedRecall: number;
}

export interface VectorSearchFilter {
  /** Only movies having any of these genres; empty or absent: all. */
  genres?: readonly string[];
  exclude?: ReadonlySet<number>;
  /** A genre filter leaving at most this many movies is answered by an exact scan. */
  exactFilterLimit?: number;
  /** What the query is, for its candidates; absent: the largest kind's. */
  kind?: QueryKind;
  /**
   * Report the similarities the float32 sums give, instead of recomputing them in float64: for a
   * caller that only wants the movies (a taste profile's candidates, which are voted on), 180
   * float64 dot products were a fifth of the search on ml-latest-small.
   */
  float32Similarities?: boolean;
}

export interface VectorHit {
  movieId: number;
  /** Cosine similarity, in float64 from the float32 components (pgvector's distance is 1 − this). */
  similarity: number;
}

/** Multiply-adds between the points where a build yields (a few milliseconds in JavaScript, less in SIMD). */
const STEP_WORK = 1 << 22;

const DEFAULT_EXACT_BELOW = 4096;

/** d/8 rounded to a multiple of 16 (the int8 kernel's step), at least 16 and at most d. */
export function defaultProjectedDimension(d: number): number {
  return Math.min(d, Math.max(16, 16 * Math.round(d / 8 / 16)));
}

/**
 * The unit rows' second moment Σ x xᵀ over the sampled positions (d × d, both triangles), then `r`
 * orthonormal directions spanning its top eigenvectors by subspace iteration (orthonormalised as
 * the randomised SVD's are: a direction the moment leaves without length, where the rows span
 * fewer than r, becomes zero and adds nothing), and the share of the trace they keep. The
 * directions need not be exact eigenvectors: the calibration measures what the first pass finds
 * with whatever they are.
 */
function* principalDirections(
  vectors: Float32Array,
  inverseNorms: Float64Array,
  d: number,
  r: number,
  sample: Int32Array,
  iterations: number,
  random: Mulberry32,
): Generator<void, { directions: Float64Array; capturedEnergy: number }, void> {
  const moment = new Float64Array(d * d);
  const unit = new Float64Array(d);
  const stepRows = Math.max(1, Math.floor(STEP_WORK / ((d * d) / 2)));
  for (let s = 0; s < sample.length; s++) {
    const p = sample[s];
    for (let i = 0; i < d; i++) unit[i] = vectors[p * d + i] * inverseNorms[p];
    for (let i = 0; i < d; i++) {
      const xi = unit[i];
      if (xi === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) moment[row + j] += xi * unit[j];
    }
    if (s % stepRows === stepRows - 1) yield;
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) moment[i * d + j] = moment[j * d + i];
  let trace = 0;
  for (let i = 0; i < d; i++) trace += moment[i * d + i];

  const directions = Float64Array.from({ length: r * d }, () => random.nextGaussian());
  const product = new Float64Array(r * d);
  orthonormalizeColumns(directions, d, r);
  for (let iteration = 0; iteration < iterations; iteration++) {
    for (let t = 0; t < r; t++)
      for (let i = 0; i < d; i++) product[t * d + i] = dotAt64(moment, i * d, directions, t * d, d);
    directions.set(product);
    orthonormalizeColumns(directions, d, r);
    yield;
  }
  let kept = 0;
  for (let t = 0; t < r; t++)
    for (let i = 0; i < d; i++) kept += directions[t * d + i] * dotAt64(moment, i * d, directions, t * d, d);
  return { directions, capturedEnergy: trace > 0 ? kept / trace : 1 };
}

function dotAt64(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let sum = 0;
  for (let i = 0; i < d; i++) sum += a[ao + i] * b[bo + i];
  return sum;
}

/** The query on the directions (a view, valid until the projection's next call). */
function project(projection: RowScorer, query: Float32Array, r: number): Float32Array {
  projection.setQuery(query);
  return projection.score(0, r);
}

/**
 * The index, built in steps (drive it with buildVectorIndexNow, or a step at a time between
 * requests). Entries must share one dimension; a movie may appear once.
 */
export function* vectorIndexBuild(
  entries: readonly VectorIndexEntry[],
  options: VectorIndexOptions = {},
): Generator<void, VectorIndex, void> {
  const n = entries.length;
  const d = n > 0 ? entries[0].vector.length : 0;
  const random = new Mulberry32(options.seed ?? 1);
  const exact = n <= (options.exactBelow ?? DEFAULT_EXACT_BELOW);
  // The taste-profile search of a list of the default 20: pool 60, three candidates per wanted movie.
  const calibrationN = options.calibrationN ?? 180;

  const ids = new Int32Array(n);
  const inverseNorms = new Float64Array(n);
  const positionOf = new MoviePositions(entries.map((entry) => entry.movieId));
  const scorer = createRowScorer(n, d);
  const genreBit = new Map<string, number>();
  const genreCounts = new Map<string, number>();
  for (const entry of entries)
    for (const genre of entry.genres) if (!genreBit.has(genre)) genreBit.set(genre, genreBit.size);
  const genreWords = Math.max(1, Math.ceil(genreBit.size / 32));
  const genreBits = new Uint32Array(n * genreWords);
  entries.forEach((entry, p) => {
    if (entry.vector.length !== d)
      throw new RangeError(`movie ${entry.movieId} has ${entry.vector.length} dimensions, not ${d}`);
    ids[p] = entry.movieId;
    scorer.rows.set(entry.vector, p * d);
    const length = Math.sqrt(dotAt(entry.vector, 0, entry.vector, 0, d));
    inverseNorms[p] = length > 0 ? 1 / length : 0;
    for (const genre of new Set(entry.genres)) {
      const bit = genreBit.get(genre)!;
      genreBits[p * genreWords + (bit >>> 5)] |= 1 << (bit & 31);
      genreCounts.set(genre, (genreCounts.get(genre) ?? 0) + 1);
    }
  });
  yield;
  const vectors = scorer.rows.subarray(0, n * d);

  let projection: RowScorer | null = null;
  let projected: QuantizedScorer | null = null;
  let capturedEnergy = 1;
  const r = exact ? 0 : Math.min(d, options.projectedDimension ?? defaultProjectedDimension(d));
  if (!exact) {
    const sampleSize = Math.min(n, options.sample ?? 4096);
    const shuffled = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < sampleSize; i++) {
      const j = i + random.nextInt(n - i);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const principal = yield* principalDirections(
      vectors,
      inverseNorms,
      d,
      r,
      shuffled.subarray(0, sampleSize),
      options.iterations ?? 12,
      random,
    );
    capturedEnergy = principal.capturedEnergy;
    projection = createRowScorer(r, d);
    projection.rows.set(principal.directions);
    const onDirections = new Float32Array(n * r);
    const stepRows = Math.max(1, Math.floor(STEP_WORK / (r * d)));
    for (let p = 0; p < n; p++) {
      const projectedRow = project(projection, scorer.rows.subarray(p * d, (p + 1) * d), r);
      for (let t = 0; t < r; t++) onDirections[p * r + t] = projectedRow[t] * inverseNorms[p];
      if (p % stepRows === stepRows - 1) yield;
    }
    projected = createQuantizedScorer(n, r, columnScales(onDirections, n, r));
    for (let p = 0; p < n; p++) projected.setRow(p, onDirections, p * r);
  }

  const index: VectorIndex = {
    dimension: d,
    size: n,
    ids,
    vectors,
    rows: Array.from({ length: n }, (_, p) => scorer.rows.subarray(p * d, (p + 1) * d)),
    scorer,
    projection,
    projectedDimension: r,
    capturedEnergy,
    projected,
    inverseNorms,
    positionOf,
    genreBit,
    genreWords,
    genreBits,
    genreCounts,
    excludedScratch: new Uint8Array(n),
    candidates: { movie: 0, taste: 0, text: 0 },
    calibratedLengths: new Int32Array(0),
    candidatesByLength: { movie: new Int32Array(0), taste: new Int32Array(0), text: new Int32Array(0) },
    calibrationN,
    calibratedRecall: 1,
  };
  if (exact) return index;
  const calibration = yield* calibrate(index, random, options);
  return { ...index, ...calibration };
}

/**
 * A query shaped like the engine's: one movie (similarMovies); a signed, weighted sum of 10–100
 * movies (a taste profile); or a movie blurred by noise twice its size, which stands for a text
 * search: its embedding lies between movies, not on one (calibrated without these, search recall@10
 * on ml-latest-small was 0.945 where the others were 0.99).
 */
export type QueryKind = 'movie' | 'taste' | 'text';
const QUERY_KINDS: readonly QueryKind[] = ['movie', 'taste', 'text'];

function calibrationQuery(index: VectorIndex, random: Mulberry32, kind: QueryKind): Float32Array {
  const { dimension: d, vectors, inverseNorms, size } = index;
  const query = new Float32Array(d);
  const count = kind === 'taste' ? 10 + random.nextInt(91) : 1;
  for (let r = 0; r < count; r++) {
    const p = random.nextInt(size);
    // Ratings minus the user's mean: mostly liked, some disliked.
    const weight = (kind === 'taste' ? random.nextFloat() * 2.5 - 0.8 : 1) * inverseNorms[p];
    for (let i = 0; i < d; i++) query[i] += weight * vectors[p * d + i];
  }
  if (kind === 'text') {
    const noise = Float32Array.from({ length: d }, () => random.nextGaussian());
    const scale = 2 / Math.sqrt(dotAt(noise, 0, noise, 0, d));
    for (let i = 0; i < d; i++) query[i] += noise[i] * scale;
  }
  return query;
}

/** How many of the ascending `sorted` values are greater than `value`. */
function countAbove(sorted: Float32Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return sorted.length - low;
}

/**
 * Where, in each calibration query's first-pass order, its exact top-N movies rank, and the
 * candidates each kind and length keeps for its recall to reach the target.
 */
function* calibrate(
  index: VectorIndex,
  random: Mulberry32,
  options: VectorIndexOptions,
): Generator<
  void,
  Pick<VectorIndex, 'candidates' | 'calibratedLengths' | 'candidatesByLength' | 'calibratedRecall'>,
  void
> {
  const { size: n, inverseNorms, scorer, projection, projected, projectedDimension } = index;
  const queries = options.calibrationQueries ?? 96;
  const targetRecall = options.targetRecall ?? 0.99;
  const wanted = Math.min(index.calibrationN, n);
  const scores = new Float64Array(n);
  const sorted = new Float32Array(n);
  // Per kind of query and list length (10, as similarMovies and search are asked by default, up to
  // calibrationN): the first-pass rank of each exact top movie (0: ranked first).
  const lengths = Int32Array.from(
    new Set([10, 20, 50, 100, wanted].map((length) => Math.min(length, wanted))),
  );
  const rankedAt = Object.fromEntries(
    QUERY_KINDS.map((kind) => [kind, Array.from(lengths, (): number[] => [])]),
  ) as Record<QueryKind, number[][]>;
  for (let q = 0; q < queries; q++) {
    const kind = QUERY_KINDS[q % QUERY_KINDS.length];
    const query = calibrationQuery(index, random, kind);
    scorer.setQuery(query);
    const rowScores = scorer.score(0, n);
    for (let p = 0; p < n; p++) scores[p] = rowScores[p] * inverseNorms[p];
    projected!.setQuery(project(projection!, query, projectedDimension));
    const firstPass = projected!.score(0, n);
    sorted.set(firstPass);
    sorted.sort();
    const top = topK(scores, wanted);
    lengths.forEach((length, l) => {
      for (const p of top.subarray(0, length)) rankedAt[kind][l].push(countAbove(sorted, firstPass[p]));
    });
    yield;
  }
  // A movie is found when the first pass keeps more candidates than rank above it. Each kind and
  // length keeps the fewest that meet the target, with a margin for the sample's size. (The inverted
  // file this replaced gave text queries their largest budget at every length; here that was 1,054
  // candidates for a search of 20 at 25M, whose random rows made search 1.5× slower than before.)
  for (const kind of QUERY_KINDS) for (const ranks of rankedAt[kind]) ranks.sort((a, b) => a - b);
  const candidatesByLength = Object.fromEntries(
    QUERY_KINDS.map((kind) => [
      kind,
      Int32Array.from(rankedAt[kind], (ranks) => ranks[quantileIndex(ranks.length, targetRecall, 2)] + 1).map(
        (_, l, needs) => Math.max(...needs.subarray(0, l + 1)),
      ),
    ]),
  ) as Record<QueryKind, Int32Array>;
  const candidates = { movie: 1, taste: 1, text: 1 };
  for (const kind of QUERY_KINDS) candidates[kind] = Math.max(1, ...candidatesByLength[kind]);
  let calibratedRecall = 1;
  for (const kind of QUERY_KINDS)
    rankedAt[kind].forEach((ranks, l) => {
      calibratedRecall = Math.min(
        calibratedRecall,
        ranks.filter((rank) => rank < candidatesByLength[kind][l]).length / ranks.length,
      );
    });
  return { candidates, calibratedLengths: lengths, candidatesByLength, calibratedRecall };
}

/**
 * Which of m sorted samples to take for the `target` quantile, `standardErrors` above it. Calibration
 * takes two: the shortest length has only a tenth of the samples of the longest (32 queries × 10
 * movies), and with the inverted file this index replaced the plain 97th percentile served similar
 * movies at recall@10 0.954 at 25M (100 movies, exact search).
 */
function quantileIndex(m: number, target: number, standardErrors: number): number {
  const margin = standardErrors * Math.sqrt(m * target * (1 - target));
  return Math.min(m - 1, Math.max(0, Math.ceil(target * m + margin) - 1));
}

/** Rows sampled for the first pass's threshold: every SAMPLE_STRIDE-th. */
const SAMPLE_STRIDE = 16;

/**
 * The positions of the `keep` eligible rows of highest `approximate` score (ties to the lower id),
 * in no order: what a heap offered every row keeps, with fewer offers. Rows below a threshold are
 * not offered: the score every SAMPLE_STRIDE-th row puts 2 × keep rows above, by the sample. Should
 * fewer than `keep` eligible rows reach it, every row is offered instead, so the answer is the
 * same either way. Why: a heap offered all 62K rows takes ~keep·(1 + ln(rows/keep)) offers, ~2,200
 * for a taste profile at 25M (keep 364), and with the threshold its search took 632–649 against
 * 735 µs.
 */
export function firstPassCandidates(
  approximate: Float32Array,
  keep: number,
  eligible: (p: number) => boolean,
  ids: Int32Array,
): Int32Array {
  const n = approximate.length;
  const sampleRank = Math.ceil((2 * keep) / SAMPLE_STRIDE);
  let threshold = -Infinity;
  if (n >= 4 * SAMPLE_STRIDE * sampleRank) {
    const sample = new TopHeap(sampleRank + 1);
    for (let p = 0; p < n; p += SAMPLE_STRIDE)
      if (approximate[p] >= sample.worst && eligible(p)) sample.offer(approximate[p], p, ids[p]);
    if (sample.full) threshold = sample.worst;
  }
  for (;;) {
    const heap = new TopHeap(keep);
    let worst = threshold;
    for (let p = 0; p < n; p++) {
      const score = approximate[p];
      // Most rows lose to the threshold or the heap's worst: no eligibility check, no sift.
      if (score >= worst && eligible(p)) {
        heap.offer(score, p, ids[p]);
        worst = Math.max(threshold, heap.worst);
      }
    }
    if (heap.full || threshold === -Infinity) return heap.held();
    threshold = -Infinity;
  }
}

/** The candidates a search of `limit` of this kind keeps (before scaling past calibrationN). */
function candidatesOf(index: VectorIndex, kind: QueryKind, limit: number): number {
  const lengths = index.calibratedLengths;
  for (let l = 0; l < lengths.length; l++) if (lengths[l] >= limit) return index.candidatesByLength[kind][l];
  return index.candidates[kind];
}

/** The k best (score, position) pairs seen: a min-heap on score, ties broken by a key (lower wins). */
class TopHeap {
  private readonly scores: Float64Array;
  private readonly positions: Int32Array;
  private readonly keys: Int32Array;
  size = 0;

  constructor(readonly capacity: number) {
    this.scores = new Float64Array(capacity);
    this.positions = new Int32Array(capacity);
    this.keys = new Int32Array(capacity);
  }

  /** Whether (a, ka) ranks below (b, kb). */
  private static worse(a: number, ka: number, b: number, kb: number): boolean {
    return a < b || (a === b && ka > kb);
  }

  offer(score: number, position: number, key: number): void {
    if (this.capacity === 0) return;
    if (this.size < this.capacity) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!TopHeap.worse(score, key, this.scores[parent], this.keys[parent])) break;
        this.move(parent, i);
        i = parent;
      }
      this.put(i, score, position, key);
      return;
    }
    if (!TopHeap.worse(this.scores[0], this.keys[0], score, key)) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child =
        right < this.size &&
        TopHeap.worse(this.scores[right], this.keys[right], this.scores[left], this.keys[left])
          ? right
          : left;
      if (!TopHeap.worse(this.scores[child], this.keys[child], score, key)) break;
      this.move(child, i);
      i = child;
    }
    this.put(i, score, position, key);
  }

  private move(from: number, to: number): void {
    this.scores[to] = this.scores[from];
    this.positions[to] = this.positions[from];
    this.keys[to] = this.keys[from];
  }

  private put(i: number, score: number, position: number, key: number): void {
    this.scores[i] = score;
    this.positions[i] = position;
    this.keys[i] = key;
  }

  /** The score a candidate must reach to enter (−∞ until full). */
  get worst(): number {
    return this.size < this.capacity ? -Infinity : this.scores[0];
  }

  get full(): boolean {
    return this.size >= this.capacity;
  }

  /** The positions held, in no order (a view, valid until the next offer). */
  held(): Int32Array {
    return this.positions.subarray(0, this.size);
  }

  /** Their scores, in the same order as held(). */
  heldScores(): Float64Array {
    return this.scores.subarray(0, this.size);
  }
}

/** Runs a build to the end at once (tests, benchmarks). */
export function buildVectorIndexNow(
  entries: readonly VectorIndexEntry[],
  options: VectorIndexOptions = {},
): VectorIndex {
  const build = vectorIndexBuild(entries, options);
  for (;;) {
    const step = build.next();
    if (step.done) return step.value;
  }
}

/** The genre bit mask a filter asks for; null when no filter; an empty mask when no movie matches. */
function filterMask(index: VectorIndex, genres: readonly string[] | undefined): Uint32Array | null {
  if (!genres || genres.length === 0) return null;
  const mask = new Uint32Array(index.genreWords);
  for (const genre of genres) {
    const bit = index.genreBit.get(genre);
    if (bit !== undefined) mask[bit >>> 5] |= 1 << (bit & 31);
  }
  return mask;
}

/**
 * The `limit` movies most similar to `query` (cosine) that pass the filter, best first; ties by
 * movie id. A broad filter is applied in the first pass; a selective genre filter, or a small
 * catalog, is answered by comparing every eligible movie.
 */
export function searchVectorIndex(
  index: VectorIndex,
  query: Float32Array,
  limit: number,
  filter: VectorSearchFilter = {},
): VectorHit[] {
  const { dimension: d, size: n, ids, vectors, inverseNorms, genreBits, genreWords, scorer } = index;
  if (query.length !== d) throw new RangeError(`query has ${query.length} dimensions, not ${d}`);
  if (!Number.isInteger(limit) || limit < 1 || n === 0) return [];
  const queryNorm = Math.sqrt(dotAt(query, 0, query, 0, d));
  const mask = filterMask(index, filter.genres);
  const genreOk = (p: number): boolean => {
    if (!mask) return true;
    for (let w = 0; w < genreWords; w++) if ((genreBits[p * genreWords + w] & mask[w]) !== 0) return true;
    return false;
  };
  // Excluded movies flagged by position: the scan reads a byte instead of hashing every row's id
  // (that lookup cost as much as the kernel at 25M).
  const excluded = index.excludedScratch;
  const excludedPositions: number[] = [];
  for (const movieId of filter.exclude ?? []) {
    const p = index.positionOf.get(movieId);
    if (p === undefined || excluded[p] === 1) continue;
    excluded[p] = 1;
    excludedPositions.push(p);
  }
  // More than asked, ranked by float32 sums: the movies at the edge of the list are put in order by
  // their float64 similarity.
  const final = new TopHeap(limit + Math.max(4, Math.ceil(limit / 16)));
  scorer.setQuery(query);
  try {
    const matching = mask
      ? [...new Set(filter.genres)].reduce((sum, genre) => sum + (index.genreCounts.get(genre) ?? 0), 0)
      : n;
    const { projected, projection } = index;
    if (mask && matching <= (filter.exactFilterLimit ?? DEFAULT_EXACT_FILTER_LIMIT)) {
      // Few movies pass: score just those.
      for (let p = 0; p < n; p++)
        if (excluded[p] === 0 && genreOk(p)) final.offer(scorer.scoreRow(p) * inverseNorms[p], p, ids[p]);
    } else if (!projected || !projection) {
      const scores = scorer.score(0, n);
      for (let p = 0; p < n; p++)
        if (excluded[p] === 0 && genreOk(p)) final.offer(scores[p] * inverseNorms[p], p, ids[p]);
    } else {
      const kindCandidates = filter.kind
        ? candidatesOf(index, filter.kind, limit)
        : Math.max(...Object.values(index.candidates));
      const keep = Math.max(
        final.capacity,
        Math.ceil(kindCandidates * Math.max(1, limit / index.calibrationN)),
      );
      projected.setQuery(project(projection, query, index.projectedDimension));
      const firstPass = firstPassCandidates(
        projected.score(0, n),
        keep,
        (p) => excluded[p] === 0 && (mask === null || genreOk(p)),
        ids,
      );
      for (const p of firstPass) {
        const score = scorer.scoreRow(p) * inverseNorms[p];
        if (score >= final.worst) final.offer(score, p, ids[p]);
      }
    }
  } finally {
    for (const p of excludedPositions) excluded[p] = 0;
  }
  const held = final.held();
  const scores = final.heldScores();
  const hits = Array.from(held, (p, i) => ({
    movieId: ids[p],
    similarity:
      queryNorm === 0
        ? 0
        : filter.float32Similarities
          ? scores[i] / queryNorm
          : (dotAt(query, 0, vectors, p * d, d) * inverseNorms[p]) / queryNorm,
  }));
  return hits.sort((a, b) => b.similarity - a.similarity || a.movieId - b.movieId).slice(0, limit);
}

/**
 * What another thread needs to search an index as this thread does: the float32 rows where they
 * are (shared memory, with a room of that thread's own for its query and scores), copies of the
 * rest (about 5 MB for 62K movies: the int8 projections, ids, norms, genres, the directions), and
 * the calibration.
 */
export interface VectorIndexShare {
  readonly size: number;
  readonly rows: RowScorerShare;
  readonly ids: Int32Array;
  readonly inverseNorms: Float64Array;
  /** The principal directions (projectedDimension rows of dimension); null for exact scans. */
  readonly directions: Float32Array | null;
  readonly projectedDimension: number;
  readonly capturedEnergy: number;
  readonly projected: { quantizedRows: Int8Array; scales: Float32Array } | null;
  /** Genre names in the order of their bits. */
  readonly genres: readonly string[];
  readonly genreWords: number;
  readonly genreBits: Uint32Array;
  readonly genreCounts: readonly (readonly [string, number])[];
  readonly candidates: Readonly<Record<QueryKind, number>>;
  readonly calibratedLengths: Int32Array;
  readonly candidatesByLength: Readonly<Record<QueryKind, Int32Array>>;
  readonly calibrationN: number;
  readonly calibratedRecall: number;
}

/**
 * The index for another thread (see VectorIndexShare); null where its rows are not in shared
 * WebAssembly memory or have no room left for another thread. Each call takes one room.
 */
export function shareVectorIndex(index: VectorIndex): VectorIndexShare | null {
  const rows = index.scorer.share();
  if (!rows) return null;
  return {
    size: index.size,
    rows,
    ids: index.ids.slice(),
    inverseNorms: index.inverseNorms.slice(),
    directions: index.projection ? index.projection.rows.slice() : null,
    projectedDimension: index.projectedDimension,
    capturedEnergy: index.capturedEnergy,
    // Copies of exactly the values: a view would carry its whole WebAssembly memory along.
    projected: index.projected
      ? { quantizedRows: index.projected.quantizedRows.slice(), scales: index.projected.scales.slice() }
      : null,
    genres: [...index.genreBit.keys()],
    genreWords: index.genreWords,
    genreBits: index.genreBits.slice(),
    genreCounts: [...index.genreCounts],
    candidates: { ...index.candidates },
    calibratedLengths: index.calibratedLengths.slice(),
    candidatesByLength: {
      movie: index.candidatesByLength.movie.slice(),
      taste: index.candidatesByLength.taste.slice(),
      text: index.candidatesByLength.text.slice(),
    },
    calibrationN: index.calibrationN,
    calibratedRecall: index.calibratedRecall,
  };
}

/**
 * The index another thread shared, in this thread: searchVectorIndex answers here what it answers
 * there, bit for bit (the same kernels over the same rows and projections). Null where this thread
 * cannot attach to the rows' memory.
 */
export function vectorIndexFromShare(share: VectorIndexShare): VectorIndex | null {
  const scorer = rowScorerFromShare(share.rows);
  if (!scorer) return null;
  const { size: n, rows: rowShare, projectedDimension: r } = share;
  const d = rowShare.dimension;
  let projection: RowScorer | null = null;
  if (share.directions) {
    projection = createRowScorer(r, d);
    projection.rows.set(share.directions);
  }
  const vectors = scorer.rows.subarray(0, n * d);
  return {
    dimension: d,
    size: n,
    ids: share.ids,
    vectors,
    rows: Array.from({ length: n }, (_, p) => vectors.subarray(p * d, (p + 1) * d)),
    scorer,
    projection,
    projectedDimension: r,
    capturedEnergy: share.capturedEnergy,
    projected: share.projected && copyQuantizedScorer(share.projected, n),
    inverseNorms: share.inverseNorms,
    positionOf: new MoviePositions(share.ids),
    excludedScratch: new Uint8Array(n),
    genreBit: new Map(share.genres.map((genre, bit) => [genre, bit])),
    genreWords: share.genreWords,
    genreBits: share.genreBits,
    genreCounts: new Map(share.genreCounts),
    candidates: share.candidates,
    calibratedLengths: share.calibratedLengths,
    candidatesByLength: share.candidatesByLength,
    calibrationN: share.calibrationN,
    calibratedRecall: share.calibratedRecall,
  };
}

/** The stored vector of a movie in the index (a view), or undefined. */
export function vectorInIndex(index: VectorIndex, movieId: number): Float32Array | undefined {
  const p = index.positionOf.get(movieId);
  return p === undefined ? undefined : index.rows[p];
}

/** A Float32Array view's own size in V8 (its header; the values are the index's). */
const ROW_VIEW_BYTES = 72;

/**
 * Bytes the index holds: the float32 rows (which the content engine reads in place), their int8
 * projections and the directions, norms, ids, genres, the scan's scratch, and the id → position
 * lookup.
 */
export function vectorIndexBytes(index: VectorIndex): number {
  return (
    index.vectors.byteLength +
    index.size * index.projectedDimension +
    index.projectedDimension * index.dimension * 4 +
    index.inverseNorms.byteLength +
    index.ids.byteLength +
    index.genreBits.byteLength +
    index.excludedScratch.byteLength +
    index.positionOf.bytes +
    index.size * ROW_VIEW_BYTES
  );
}
