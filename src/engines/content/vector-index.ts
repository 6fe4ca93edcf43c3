/**
 * The content engine's nearest-neighbour search in process: an inverted file (IVF) over the movie
 * vectors the engine already holds, so a taste profile, a similar-movies or a search query costs no
 * round trip and no PostgreSQL CPU. Why: at 25M (62K movies, 16 connections) the HNSW search was
 * 166 of 178 active statements sampled under HYBRID load, and PostgreSQL shared the two cores with
 * the API.
 *
 * Similarity is cosine, as pgvector's `<=>` is: rows keep the stored vectors (the vote reads the
 * same arrays) with the inverse of their norm beside them. Movies are grouped by spherical k-means;
 * a query ranks the lists by the cosine of their centroids, scans them whole in that order, and stops
 * once it has scanned a calibrated number of eligible movies (filters and exclusions count only what
 * they let through). The number is calibrated when the index is built: queries shaped like the
 * engine's (single movies, as similarMovies asks; signed sums of rated movies, as a taste profile
 * is; movies blurred by noise, as a text search's embedding is) are answered exactly, and the budget
 * is the smallest at which each kind's mean recall of its exact top 10 and top `calibrationN`
 * reaches `targetRecall`. Small catalogs are scanned exactly.
 *
 * The build is a generator of steps of about a millisecond of work, so that a server can run it
 * between requests.
 */
import { Mulberry32 } from '../collaborative/kernels/prng';
import { topK } from '../collaborative/kernels/top-k';
import { dotAt } from './vector-codec';
import { createQuantizedScorer, createRowScorer, type QuantizedScorer, type RowScorer } from './wasm-dots';

export interface VectorIndexEntry {
  movieId: number;
  vector: Float32Array;
  genres: readonly string[];
}

export interface VectorIndexOptions {
  /** k-means lists; default √movies. */
  lists?: number;
  /** Lloyd iterations; default 4. */
  iterations?: number;
  /** Movies k-means is fitted on (all are then assigned); default 48 per list. */
  sample?: number;
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
  /** Movie ids, grouped by list. */
  readonly ids: Int32Array;
  /** The stored vectors in the order of `ids` (callers may hold views of them: never written). */
  readonly vectors: Float32Array;
  /** Row p of `vectors` as a view, made once: the content engine reads a user's rated movies here. */
  readonly rows: readonly Float32Array[];
  /** Holds `vectors`, then the centroids as rows size … size + numLists − 1. */
  readonly scorer: RowScorer;
  /**
   * The same rows in int8, which the list scans read (a quarter of the memory traffic, which bounds
   * them: 6.5 against 19 ms for 62K rows here); null for exact scans.
   */
  readonly quantized: QuantizedScorer | null;
  /** 1 / |vector| (0 for an all-zero vector, which is then never similar to anything). */
  readonly inverseNorms: Float64Array;
  readonly positionOf: ReadonlyMap<number, number>;
  /** The list of each position. */
  readonly listOf: Int32Array;
  /** One byte per position, all zero between searches: a search flags its excluded movies here. */
  readonly excludedScratch: Uint8Array;
  /** Genre name → bit; a movie's bits are genreWords words of genreBits from position · genreWords. */
  readonly genreBit: ReadonlyMap<string, number>;
  readonly genreWords: number;
  readonly genreBits: Uint32Array;
  /** Movies per genre, to tell a selective filter (scanned exactly) from a broad one. */
  readonly genreCounts: ReadonlyMap<string, number>;
  readonly numLists: number;
  /** List l is positions listStart[l] … listStart[l + 1] − 1. */
  readonly listStart: Int32Array;
  /** Eligible movies a query scans, at least, for calibrationN results (0: exact scans only): the largest kind's. */
  readonly scanBudget: number;
  /** The same per kind of query (a taste profile needs more than a movie's neighbours). */
  readonly scanBudgets: Readonly<Record<QueryKind, number>>;
  /** The list lengths the budgets were calibrated at, ascending (the last is calibrationN). */
  readonly calibratedLengths: Int32Array;
  /**
   * Per kind, the budget for each calibrated length: a search of `limit` scans the budget of the
   * shortest calibrated length ≥ limit (a movie's 10 neighbours need 40% of what its 180 do at
   * 25M). A text query's are all its largest plain percentile: its calibration queries (a movie
   * blurred by noise) only stand in for real searches, whose recall@10 at 25M was 0.960 with it.
   */
  readonly budgetsByLength: Readonly<Record<QueryKind, Int32Array>>;
  readonly calibrationN: number;
  /**
   * The lowest mean recall, over the kinds of calibration query and the calibrated lengths, each at
   * its own budget (1 for exact scans).
   */
  readonly calibratedRecall: number;
}

export interface VectorSearchFilter {
  /** Only movies having any of these genres; empty or absent: all. */
  genres?: readonly string[];
  exclude?: ReadonlySet<number>;
  /** A genre filter leaving at most this many movies is answered by an exact scan. */
  exactFilterLimit?: number;
  /** What the query is, for its scan budget; absent: the largest budget. */
  kind?: QueryKind;
}

export interface VectorHit {
  movieId: number;
  /** Cosine similarity, in float64 from the float32 components (pgvector's distance is 1 − this). */
  similarity: number;
}

/** Multiply-adds between the points where a build yields (a few milliseconds in JavaScript, less in SIMD). */
const STEP_WORK = 1 << 22;

const DEFAULT_EXACT_BELOW = 4096;
const DEFAULT_FILTER_LIMIT = 1000;

function argmax(scores: Float32Array): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

/** Spherical k-means centroids (unit length) of the sampled movies; the build's first phase. */
function* fitCentroids(
  entries: readonly VectorIndexEntry[],
  inverseNorms: Float64Array,
  d: number,
  numLists: number,
  sample: Int32Array,
  iterations: number,
  random: Mulberry32,
): Generator<void, RowScorer, void> {
  const centroids = createRowScorer(numLists, d);
  const rows = centroids.rows;
  const seedRow = (c: number, p: number) => {
    const vector = entries[p].vector;
    for (let i = 0; i < d; i++) rows[c * d + i] = vector[i] * inverseNorms[p];
  };
  for (let c = 0; c < numLists; c++) seedRow(c, sample[c]);
  const sums = new Float64Array(numLists * d);
  const counts = new Int32Array(numLists);
  const stepRows = Math.max(1, Math.floor(STEP_WORK / (numLists * d)));
  for (let iteration = 0; iteration < iterations; iteration++) {
    sums.fill(0);
    counts.fill(0);
    for (let s = 0; s < sample.length; s++) {
      const p = sample[s];
      const vector = entries[p].vector;
      centroids.setQuery(vector);
      const c = argmax(centroids.score(0, numLists));
      counts[c]++;
      const scale = inverseNorms[p];
      for (let i = 0; i < d; i++) sums[c * d + i] += vector[i] * scale;
      if (s % stepRows === stepRows - 1) yield;
    }
    for (let c = 0; c < numLists; c++) {
      let length = 0;
      for (let i = 0; i < d; i++) length += sums[c * d + i] * sums[c * d + i];
      // An empty list takes a random sampled movie: no list is wasted.
      if (counts[c] === 0 || length === 0) seedRow(c, sample[random.nextInt(sample.length)]);
      else {
        const scale = 1 / Math.sqrt(length);
        for (let i = 0; i < d; i++) rows[c * d + i] = sums[c * d + i] * scale;
      }
    }
    yield;
  }
  return centroids;
}

/** The lists in the order a query probes them (the scorer's query set): most similar centroid first. */
function probeOrder(index: VectorIndex): Int32Array {
  const scores = index.scorer.score(index.size, index.numLists);
  return Int32Array.from({ length: index.numLists }, (_, c) => c).sort(
    (a, b) => scores[b] - scores[a] || a - b,
  );
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
  const numLists = exact ? 1 : Math.max(1, Math.min(n, options.lists ?? Math.round(Math.sqrt(n))));
  // The taste-profile search of a list of the default 20 (pool 60, three candidates per wanted
  // movie). Calibrated at 150 (a 10-movie list's) and scaled to 180, a taste profile scanned 34,852
  // movies at 25M; calibrated at 180, 29,747 at the plain 97th percentile (recall@180 against exact
  // search 0.997 over 300 of the release's users, against 0.999), 32,955 with quantileIndex's
  // margin (`scripts/bench-content.ts`: recall@150 0.998).
  const calibrationN = options.calibrationN ?? 180;

  const entryInverse = new Float64Array(n);
  const positionOf = new Map<number, number>();
  entries.forEach((entry, p) => {
    if (entry.vector.length !== d)
      throw new RangeError(`movie ${entry.movieId} has ${entry.vector.length} dimensions, not ${d}`);
    if (positionOf.has(entry.movieId)) throw new RangeError(`movie ${entry.movieId} appears twice`);
    positionOf.set(entry.movieId, p);
    const length = Math.sqrt(dotAt(entry.vector, 0, entry.vector, 0, d));
    entryInverse[p] = length > 0 ? 1 / length : 0;
  });
  yield;

  const assignment = new Int32Array(n);
  const scorer = createRowScorer(n + numLists, d);
  const quantized = exact ? null : createQuantizedScorer(n, d);
  if (!exact) {
    const sampleSize = Math.min(n, Math.max(numLists, options.sample ?? 48 * numLists));
    const shuffled = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < sampleSize; i++) {
      const j = i + random.nextInt(n - i);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const centroids = yield* fitCentroids(
      entries,
      entryInverse,
      d,
      numLists,
      shuffled.subarray(0, sampleSize),
      options.iterations ?? 4,
      random,
    );
    const stepRows = Math.max(1, Math.floor(STEP_WORK / (numLists * d)));
    for (let p = 0; p < n; p++) {
      centroids.setQuery(entries[p].vector);
      assignment[p] = argmax(centroids.score(0, numLists));
      if (p % stepRows === stepRows - 1) yield;
    }
    scorer.rows.set(centroids.rows, n * d);
  }

  const listStart = new Int32Array(numLists + 1);
  for (let p = 0; p < n; p++) listStart[assignment[p] + 1]++;
  for (let c = 0; c < numLists; c++) listStart[c + 1] += listStart[c];
  const fill = listStart.slice(0, numLists);
  const listOf = new Int32Array(n);
  for (let c = 0; c < numLists; c++) listOf.fill(c, listStart[c], listStart[c + 1]);
  const ids = new Int32Array(n);
  const inverseNorms = new Float64Array(n);
  const genreBit = new Map<string, number>();
  const genreCounts = new Map<string, number>();
  for (const entry of entries)
    for (const genre of entry.genres) if (!genreBit.has(genre)) genreBit.set(genre, genreBit.size);
  const genreWords = Math.max(1, Math.ceil(genreBit.size / 32));
  const genreBits = new Uint32Array(n * genreWords);
  entries.forEach((entry, p) => {
    const at = fill[assignment[p]]++;
    ids[at] = entry.movieId;
    positionOf.set(entry.movieId, at);
    scorer.rows.set(entry.vector, at * d);
    quantized?.setRow(at, entry.vector);
    inverseNorms[at] = entryInverse[p];
    for (const genre of new Set(entry.genres)) {
      const bit = genreBit.get(genre)!;
      genreBits[at * genreWords + (bit >>> 5)] |= 1 << (bit & 31);
      genreCounts.set(genre, (genreCounts.get(genre) ?? 0) + 1);
    }
  });
  yield;

  const index: VectorIndex = {
    dimension: d,
    size: n,
    ids,
    vectors: scorer.rows.subarray(0, n * d),
    rows: Array.from({ length: n }, (_, p) => scorer.rows.subarray(p * d, (p + 1) * d)),
    scorer,
    quantized,
    inverseNorms,
    positionOf,
    genreBit,
    genreWords,
    genreBits,
    genreCounts,
    numLists,
    listStart,
    listOf,
    excludedScratch: new Uint8Array(n),
    scanBudget: 0,
    scanBudgets: { movie: 0, taste: 0, text: 0 },
    calibratedLengths: new Int32Array(0),
    budgetsByLength: { movie: new Int32Array(0), taste: new Int32Array(0), text: new Int32Array(0) },
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

/**
 * Where, in each calibration query's probe order, its exact top-N movies are met, and the smallest
 * scan budget whose mean recall reaches the target.
 */
function* calibrate(
  index: VectorIndex,
  random: Mulberry32,
  options: VectorIndexOptions,
): Generator<
  void,
  Pick<
    VectorIndex,
    'scanBudget' | 'scanBudgets' | 'calibratedLengths' | 'budgetsByLength' | 'calibratedRecall'
  >,
  void
> {
  const { size: n, numLists, listStart, inverseNorms, scorer } = index;
  const queries = options.calibrationQueries ?? 96;
  const targetRecall = options.targetRecall ?? 0.97;
  const wanted = Math.min(index.calibrationN, n);
  const { listOf } = index;
  const scores = new Float64Array(n);
  // Per kind of query and list length (10, as similarMovies and search are asked by default, up to
  // calibrationN): how much had been scanned when the scan reached each exact top movie's list.
  const lengths = Int32Array.from(
    new Set([10, 20, 50, 100, wanted].map((length) => Math.min(length, wanted))),
  );
  const metAt = Object.fromEntries(
    QUERY_KINDS.map((kind) => [kind, Array.from(lengths, (): number[] => [])]),
  ) as Record<QueryKind, number[][]>;
  for (let q = 0; q < queries; q++) {
    const kind = QUERY_KINDS[q % QUERY_KINDS.length];
    scorer.setQuery(calibrationQuery(index, random, kind));
    const rowScores = scorer.score(0, n);
    for (let p = 0; p < n; p++) scores[p] = rowScores[p] * inverseNorms[p];
    const order = probeOrder(index);
    const scannedBefore = new Int32Array(numLists);
    for (let k = 0, total = 0; k < numLists; k++) {
      scannedBefore[order[k]] = total;
      total += listStart[order[k] + 1] - listStart[order[k]];
    }
    const top = topK(scores, wanted);
    lengths.forEach((length, l) => {
      for (const p of top.subarray(0, length)) metAt[kind][l].push(scannedBefore[listOf[p]]);
    });
    yield;
  }
  // A movie is met when the scan starts its list: with budget B, every list starting below B. Each
  // length's budget is the smallest that meets the target, with a margin for the sample's size. A
  // text query's budget is, at every length, the largest plain one (searches were 0.945 at 10 on
  // ml-latest-small when one budget was calibrated on all kinds' mean; with the margin too, search
  // served 571–588 instead of 613–631 req/s at 25M for recall@10 0.970 instead of 0.960).
  for (const kind of QUERY_KINDS) for (const met of metAt[kind]) met.sort((a, b) => a - b);
  const budgetAt = (met: number[], index: number) => met[index] + 1;
  const budgetsByLength = Object.fromEntries(
    QUERY_KINDS.map((kind) => [
      kind,
      Int32Array.from(metAt[kind], (met) => budgetAt(met, quantileIndex(met.length, targetRecall, 2))).map(
        (_, l, needs) => Math.max(...needs.subarray(0, l + 1)),
      ),
    ]),
  ) as Record<QueryKind, Int32Array>;
  budgetsByLength.text.fill(
    Math.max(1, ...metAt.text.map((met) => budgetAt(met, quantileIndex(met.length, targetRecall, 0)))),
  );
  const scanBudgets = { movie: 1, taste: 1, text: 1 };
  for (const kind of QUERY_KINDS) scanBudgets[kind] = Math.max(1, ...budgetsByLength[kind]);
  let calibratedRecall = 1;
  for (const kind of QUERY_KINDS)
    metAt[kind].forEach((met, l) => {
      calibratedRecall = Math.min(
        calibratedRecall,
        met.filter((at) => at < budgetsByLength[kind][l]).length / met.length,
      );
    });
  return {
    scanBudget: Math.max(...Object.values(scanBudgets)),
    scanBudgets,
    calibratedLengths: lengths,
    budgetsByLength,
    calibratedRecall,
  };
}

/**
 * Which of m sorted samples to take for the `target` quantile, `standardErrors` above it. Movie and
 * taste queries take two: the shortest length has only a tenth of the samples of the longest (32
 * queries × 10 movies), and its plain 97th percentile served similar movies at recall@10 0.954 at
 * 25M (100 movies, exact search).
 */
function quantileIndex(m: number, target: number, standardErrors: number): number {
  const margin = standardErrors * Math.sqrt(m * target * (1 - target));
  return Math.min(m - 1, Math.max(0, Math.ceil(target * m + margin) - 1));
}

/** The scan budget of a search of `limit` of this kind (before scaling past calibrationN). */
function budgetOf(index: VectorIndex, kind: QueryKind, limit: number): number {
  const lengths = index.calibratedLengths;
  for (let l = 0; l < lengths.length; l++) if (lengths[l] >= limit) return index.budgetsByLength[kind][l];
  return index.scanBudgets[kind];
}

/** The k best (score, position) pairs seen: a min-heap on score, ties broken by a key (lower wins). */
class TopHeap {
  private readonly scores: Float64Array;
  private readonly positions: Int32Array;
  private readonly keys: Int32Array;
  size = 0;

  constructor(private readonly capacity: number) {
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

  /** The positions held, best first. */
  drain(): Int32Array {
    const order = Array.from({ length: this.size }, (_, i) => i).sort(
      (a, b) => this.scores[b] - this.scores[a] || this.keys[a] - this.keys[b],
    );
    return Int32Array.from(order, (i) => this.positions[i]);
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
 * movie id. A broad filter is applied during the scan (the budget counts what it lets through); a
 * selective genre filter, or a small catalog, is answered by comparing every eligible movie.
 */
export function searchVectorIndex(
  index: VectorIndex,
  query: Float32Array,
  limit: number,
  filter: VectorSearchFilter = {},
): VectorHit[] {
  const { dimension: d, ids, vectors, inverseNorms, genreBits, genreWords, listStart, scorer } = index;
  if (query.length !== d) throw new RangeError(`query has ${query.length} dimensions, not ${d}`);
  if (!Number.isInteger(limit) || limit < 1 || index.size === 0) return [];
  const queryNorm = Math.sqrt(dotAt(query, 0, query, 0, d));
  const mask = filterMask(index, filter.genres);
  const genreOk = (p: number): boolean => {
    if (!mask) return true;
    for (let w = 0; w < genreWords; w++) if ((genreBits[p * genreWords + w] & mask[w]) !== 0) return true;
    return false;
  };
  // Excluded movies flagged by position, and counted per list: the scan loop reads a byte instead
  // of hashing every row's id (that lookup cost as much as the kernel at 25M).
  const excluded = index.excludedScratch;
  const excludedPositions: number[] = [];
  const excludedInList = new Map<number, number>();
  for (const movieId of filter.exclude ?? []) {
    const p = index.positionOf.get(movieId);
    if (p === undefined || excluded[p] === 1) continue;
    excluded[p] = 1;
    excludedPositions.push(p);
    const list = index.listOf[p];
    excludedInList.set(list, (excludedInList.get(list) ?? 0) + 1);
  }
  const eligible = (p: number): boolean => excluded[p] === 0 && genreOk(p);
  // More than asked: the scan ranks approximately (int8, or float32 in an exact scan), and the
  // movies at the edge of the list are put in order by their float64 similarity.
  const { quantized } = index;
  const heap = new TopHeap(
    limit + (quantized ? Math.max(8, Math.ceil(limit / 4)) : Math.max(4, Math.ceil(limit / 16))),
  );
  scorer.setQuery(query);
  quantized?.setQuery(query);
  /** Scores the rows of list `list` in one kernel call; returns how many were eligible. */
  const scan = (from: number, to: number, list: number): number => {
    const scores = quantized ? quantized.score(from, to - from) : scorer.score(from, to - from);
    let worst = heap.worst;
    if (!mask) {
      for (let p = from; p < to; p++) {
        const score = scores[p - from] * inverseNorms[p];
        // Most rows lose to the heap's worst: no eligibility check, no sift.
        if (score >= worst && excluded[p] === 0) {
          heap.offer(score, p, ids[p]);
          worst = heap.worst;
        }
      }
      return to - from - (excludedInList.get(list) ?? 0);
    }
    let scanned = 0;
    for (let p = from; p < to; p++) {
      if (!eligible(p)) continue;
      scanned++;
      const score = scores[p - from] * inverseNorms[p];
      if (score >= worst) {
        heap.offer(score, p, ids[p]);
        worst = heap.worst;
      }
    }
    return scanned;
  };
  try {
    const matching = mask
      ? [...new Set(filter.genres)].reduce((sum, genre) => sum + (index.genreCounts.get(genre) ?? 0), 0)
      : index.size;
    if (mask && matching <= (filter.exactFilterLimit ?? DEFAULT_FILTER_LIMIT)) {
      // Few movies pass: score just those.
      for (let p = 0; p < index.size; p++)
        if (eligible(p)) heap.offer(dotAt(query, 0, vectors, p * d, d) * inverseNorms[p], p, ids[p]);
    } else if (index.scanBudget === 0) scan(0, index.size, 0);
    else {
      const kindBudget = filter.kind ? budgetOf(index, filter.kind, limit) : index.scanBudget;
      const budget = Math.ceil(kindBudget * Math.max(1, limit / index.calibrationN));
      let scanned = 0;
      for (const list of probeOrder(index)) {
        scanned += scan(listStart[list], listStart[list + 1], list);
        if (scanned >= budget && heap.full) break;
      }
    }
  } finally {
    for (const p of excludedPositions) excluded[p] = 0;
  }
  return Array.from(heap.drain(), (p) => ({
    movieId: ids[p],
    similarity: queryNorm > 0 ? (dotAt(query, 0, vectors, p * d, d) * inverseNorms[p]) / queryNorm : 0,
  }))
    .sort((a, b) => b.similarity - a.similarity || a.movieId - b.movieId)
    .slice(0, limit);
}

/** The stored vector of a movie in the index (a view), or undefined. */
export function vectorInIndex(index: VectorIndex, movieId: number): Float32Array | undefined {
  const p = index.positionOf.get(movieId);
  return p === undefined ? undefined : index.rows[p];
}

/** A Float32Array view's own size in V8 (its header; the values are the index's). */
const ROW_VIEW_BYTES = 72;

/**
 * Bytes the index holds: the float32 rows (which the content engine reads in place), their int8 copy, norms,
 * ids, genres, lists, the scan's scratch, and ~40 B a movie for the id → position map.
 */
export function vectorIndexBytes(index: VectorIndex): number {
  return (
    index.vectors.byteLength +
    (index.quantized ? index.size * index.dimension : 0) +
    index.inverseNorms.byteLength +
    index.ids.byteLength +
    index.genreBits.byteLength +
    index.numLists * index.dimension * 4 +
    index.listStart.byteLength +
    index.listOf.byteLength +
    index.excludedScratch.byteLength +
    index.size * (40 + ROW_VIEW_BYTES)
  );
}
