import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { deriveSeed, Mulberry32 } from '../engines/collaborative/kernels/prng';
import { CSV_HEADERS, csvField } from './movielens/formats';

/**
 * A synthetic MovieLens release in the exact files and columns of ml-latest / ml-25m / ml-32m
 * (movies.csv, ratings.csv, tags.csv, links.csv), with the shape of a real release at any scale.
 *
 * Ratings follow a planted biased matrix factorisation, so models have something to learn:
 *   r(u, i) = round(clamp(μ + b_u + b_i + p_u·q_i + ε)) to half or whole stars.
 * Which movies a user rates is drawn by Zipf-like popularity without replacement; how many, from a
 * heavy-tailed (Lomax) distribution above the release's minimum of 20, rescaled so that the total is
 * exactly the shape's rating count. Users are written one at a time (rows sorted by userId, then
 * movieId, as in the real files): memory grows with the catalog and the user count, never with the
 * ratings, so 32M ratings stream through in the same few megabytes as 1M.
 */
export type ReleaseShapeName = 'ml-25m' | 'ml-32m' | 'ml-latest-small';

export interface ReleaseShape {
  readonly ratings: number;
  readonly users: number;
  readonly movies: number;
  /** Movies nobody rated (the catalog lists more movies than were rated). */
  readonly unratedMovies: number;
  readonly tags: number;
  /** Unix seconds of the first and last rating. */
  readonly firstTimestamp: number;
  readonly lastTimestamp: number;
}

/** Counts and time ranges of the real releases (their README files). */
export const RELEASE_SHAPES: Record<ReleaseShapeName, ReleaseShape> = {
  'ml-25m': {
    ratings: 25_000_095,
    users: 162_541,
    movies: 62_423,
    unratedMovies: 3_376,
    tags: 1_093_360,
    firstTimestamp: 789_652_009, // 1995-01-09
    lastTimestamp: 1_574_327_703, // 2019-11-21
  },
  'ml-32m': {
    ratings: 32_000_204,
    users: 200_948,
    movies: 87_585,
    unratedMovies: 3_153,
    tags: 2_000_072,
    firstTimestamp: 789_652_009,
    lastTimestamp: 1_697_164_147, // 2023-10-13
  },
  'ml-latest-small': {
    ratings: 100_836,
    users: 610,
    movies: 9_742,
    unratedMovies: 18,
    tags: 3_683,
    firstTimestamp: 828_124_615, // 1996-03-29
    lastTimestamp: 1_537_799_250, // 2018-09-24
  },
};

export const SHAPE_NAMES = Object.keys(RELEASE_SHAPES) as ReleaseShapeName[];

/** Every MovieLens user has rated at least this many movies. */
export const MIN_RATINGS_PER_USER = 20;

export interface GenerateOptions {
  readonly shape: ReleaseShapeName;
  /** Multiplies every count of the shape (ratings, users, movies, tags). */
  readonly scale: number;
  readonly seed: number;
  readonly out: string;
}

/** The planted model, for tests and for the summary (how much of a rating it explains). */
export interface PlantedModel {
  readonly mu: number;
  readonly k: number;
  readonly noise: number;
  /** By dense movie index (movie ids are in movieIds). */
  readonly movieIds: Int32Array;
  readonly movieBias: Float32Array;
  readonly movieFactors: Float32Array;
  /** Users are 1..users; user u's parameters derive from (seed, u), see userParameters(). */
  readonly userBiasStd: number;
  readonly factorStd: number;
}

export interface GenerateSummary {
  readonly shape: ReleaseShapeName;
  readonly scale: number;
  readonly seed: number;
  readonly out: string;
  readonly movies: number;
  readonly ratedMovies: number;
  readonly users: number;
  readonly ratings: number;
  readonly tags: number;
  readonly meanRating: number;
  /** Share of ratings on a half star (x.5). */
  readonly halfStarShare: number;
  readonly ratingsPerUser: { readonly min: number; readonly median: number; readonly max: number };
  readonly ratingsPerMovie: { readonly median: number; readonly max: number };
  /** Share of all ratings that go to the most rated 1% of movies. */
  readonly top1PercentShare: number;
  readonly firstTimestamp: number;
  readonly lastTimestamp: number;
  /** Pearson correlation of the planted prediction (without noise) with the written rating. */
  readonly plantedCorrelation: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly ratingsPerSecond: number;
}

export class GenerateOptionsError extends Error {
  readonly code = 'BAD_GENERATE_OPTIONS';
  constructor(message: string) {
    super(message);
    this.name = 'GenerateOptionsError';
  }
}

const GENRES = [
  'Action',
  'Adventure',
  'Animation',
  'Children',
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'IMAX',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
] as const;

const TITLE_WORDS = [
  'River',
  'Night',
  'Shadow',
  'Garden',
  'Winter',
  'Stranger',
  'Kingdom',
  'Letter',
  'Island',
  'Storm',
  'Mirror',
  'Road',
  'Silence',
  'Fire',
  'Harbor',
  'Dream',
  'Machine',
  'Summer',
  'Ghost',
  'City',
];
const TITLE_ADJECTIVES = [
  'Silent',
  'Last',
  'Red',
  'Lost',
  'Hidden',
  'Broken',
  'Golden',
  'Long',
  'Wild',
  'Cold',
];
/** MovieLens moves a leading article to the end: "American President, The (1995)". */
const ARTICLES = ['The', 'A', 'An', 'Les', 'La'];
const TAG_WORDS = [
  'atmospheric',
  'twist ending',
  'visually appealing',
  'thought-provoking',
  'dark comedy',
  'based on a book',
  'great soundtrack',
  'slow',
  'funny',
  'classic',
  'quirky',
  'surreal',
  'predictable',
  'beautiful',
  'violence',
  'cult film',
];

/** Latent factors of the planted model, and how strongly they speak (std of p_u·q_i ≈ 0.75). */
const PLANTED_FACTORS = 8;
const FACTOR_STD = Math.sqrt(0.75 / Math.sqrt(PLANTED_FACTORS));
const USER_BIAS_STD = 0.35;
const MOVIE_BIAS_STD = 0.4;
const NOISE_STD = 0.55;
/** μ before rounding: whole-star rounding and the clamp at 5 pull the written mean to ≈ 3.5. */
const PLANTED_MU = 3.55;
/** Popularity weight of the movie at normalised rank x ∈ (0, 1]: (x + x0)^-s. */
const POPULARITY_EXPONENT = 1.3;
const POPULARITY_OFFSET = 0.01;
/** Lomax tail index of ratings per user above the minimum (ML-25M: median ≈ 71, mean 154). */
const USER_TAIL_INDEX = 1.5;
/** A user rates at most this share of the rated catalog. */
const MAX_USER_SHARE = 0.5;
/** Users who write tags at all; the tag count is spread over them in proportion to their ratings. */
const TAGGER_SHARE = 0.1;
/** Share of movies listed without genres ("(no genres listed)"), as in ML-25M. */
const NO_GENRE_SHARE = 0.08;
/** Share of movies without a tmdbId in links.csv. */
const MISSING_TMDB_SHARE = 0.002;

const STREAM = { movies: 1, users: 2, user: 3, counts: 4 } as const;

/** Scaled counts of a shape, each at least what a usable release needs. */
export function scaledShape(shape: ReleaseShape, scale: number): ReleaseShape {
  if (!(scale > 0) || !Number.isFinite(scale))
    throw new GenerateOptionsError(`--scale must be > 0, got ${scale}`);
  const users = Math.max(2, Math.round(shape.users * scale));
  const movies = Math.max(MIN_RATINGS_PER_USER * 3, Math.round(shape.movies * scale));
  const unratedMovies = Math.min(movies - MIN_RATINGS_PER_USER * 2, Math.round(shape.unratedMovies * scale));
  const rated = movies - unratedMovies;
  const maxPerUser = Math.max(MIN_RATINGS_PER_USER, Math.floor(rated * MAX_USER_SHARE));
  const ratings = Math.min(
    users * maxPerUser,
    Math.max(users * MIN_RATINGS_PER_USER, Math.round(shape.ratings * scale)),
  );
  return {
    ratings,
    users,
    movies,
    unratedMovies,
    tags: Math.round(shape.tags * scale),
    firstTimestamp: shape.firstTimestamp,
    lastTimestamp: shape.lastTimestamp,
  };
}

function gaussians(rng: Mulberry32, out: Float32Array, std: number): void {
  for (let n = 0; n < out.length; n++) out[n] = rng.nextGaussian() * std;
}

/** The catalog: ids with gaps, popularity order, planted parameters. O(movies) memory. */
interface Catalog {
  readonly ids: Int32Array;
  readonly years: Int32Array;
  readonly bias: Float32Array;
  readonly factors: Float32Array;
  /** Cumulative popularity over rated movies, by popularity rank (0 = most popular). */
  readonly cumulative: Float64Array;
  /** Movie index at each popularity rank (rated movies only). */
  readonly byRank: Int32Array;
  readonly rated: number;
}

function buildCatalog(shape: ReleaseShape, seed: number): Catalog {
  const rng = new Mulberry32(deriveSeed(seed, STREAM.movies));
  const count = shape.movies;
  const ids = new Int32Array(count);
  const years = new Int32Array(count);
  // Real releases number movies with gaps (removed or merged entries); ids stay increasing.
  let id = 0;
  for (let m = 0; m < count; m++) {
    id += rng.nextFloat() < 0.9 ? 1 : 1 + rng.nextInt(20);
    ids[m] = id;
    // Later ids are later films, loosely: a century of cinema, denser towards the present.
    const position = (m + 1) / count;
    const year = Math.round(1902 + 117 * Math.sqrt(position) + (rng.nextFloat() - 0.5) * 16);
    years[m] = Math.min(2023, Math.max(1895, year));
  }
  const bias = new Float32Array(count);
  gaussians(rng, bias, MOVIE_BIAS_STD);
  const factors = new Float32Array(count * PLANTED_FACTORS);
  gaussians(rng, factors, FACTOR_STD);
  // A random popularity order; the least popular `unratedMovies` are never rated.
  const order = Int32Array.from({ length: count }, (_, m) => m);
  for (let n = count - 1; n > 0; n--) {
    const j = rng.nextInt(n + 1);
    const held = order[n];
    order[n] = order[j];
    order[j] = held;
  }
  const rated = count - shape.unratedMovies;
  const byRank = order.slice(0, rated);
  const cumulative = new Float64Array(rated);
  let total = 0;
  for (let r = 0; r < rated; r++) {
    total += ((r + 1) / rated + POPULARITY_OFFSET) ** -POPULARITY_EXPONENT;
    cumulative[r] = total;
  }
  // Popular films are rated higher on average, as in the real data.
  for (let r = 0; r < rated; r++) bias[byRank[r]] += 0.25 * (0.5 - r / rated);
  return { ids, years, bias, factors, cumulative, byRank, rated };
}

/** Ratings per user: min 20, Lomax tail, rescaled to sum exactly to shape.ratings. O(users) memory. */
function ratingsPerUser(shape: ReleaseShape, rated: number, seed: number): Int32Array {
  const rng = new Mulberry32(deriveSeed(seed, STREAM.counts));
  const users = shape.users;
  const cap = Math.max(MIN_RATINGS_PER_USER, Math.floor(rated * MAX_USER_SHARE));
  const excess = new Float64Array(users);
  for (let u = 0; u < users; u++) excess[u] = (1 - rng.nextFloat()) ** (-1 / USER_TAIL_INDEX) - 1;
  // Users the cap holds back leave ratings for the others: rescale the uncapped ones until it settles.
  const counts = new Int32Array(users);
  const capped = new Uint8Array(users);
  let total = 0;
  for (let round = 0; round < 8; round++) {
    let cappedTotal = 0;
    let freeExcess = 0;
    for (let u = 0; u < users; u++) {
      if (capped[u]) cappedTotal += cap;
      else freeExcess += excess[u];
    }
    const freeUsers = users - capped.reduce((a, b) => a + b, 0);
    const target = shape.ratings - cappedTotal - freeUsers * MIN_RATINGS_PER_USER;
    let newlyCapped = 0;
    total = 0;
    for (let u = 0; u < users; u++) {
      if (!capped[u]) {
        const wanted = MIN_RATINGS_PER_USER + Math.floor((excess[u] / Math.max(1e-12, freeExcess)) * target);
        if (wanted >= cap) {
          capped[u] = 1;
          newlyCapped++;
        }
        counts[u] = Math.min(cap, wanted);
      } else counts[u] = cap;
      total += counts[u];
    }
    if (newlyCapped === 0) break;
  }
  // Hand out what rounding and the cap left over, one rating at a time, to users below the cap.
  let u = 0;
  let guard = 0;
  while (total < shape.ratings && guard < users * 4) {
    const user = (u + rng.nextInt(users)) % users;
    if (counts[user] < cap) {
      counts[user]++;
      total++;
      guard = 0;
    } else guard++;
    u++;
  }
  return counts;
}

function halfStar(value: number, whole: boolean): number {
  const clamped = Math.min(5, Math.max(whole ? 1 : 0.5, value));
  return whole ? Math.round(clamped) : Math.round(clamped * 2) / 2;
}

/** "Silent River, The (1995)", quoted when it holds a comma, as MovieLens writes such titles. */
function movieTitle(rng: Mulberry32, index: number, year: number): string {
  const adjective = TITLE_ADJECTIVES[rng.nextInt(TITLE_ADJECTIVES.length)];
  const word = TITLE_WORDS[rng.nextInt(TITLE_WORDS.length)];
  const article = rng.nextFloat() < 0.3 ? ARTICLES[rng.nextInt(ARTICLES.length)] : null;
  const name = `${adjective} ${word} ${index + 1}`;
  const title = `${article ? `${name}, ${article}` : name} (${year})`;
  return csvField(title);
}

function movieGenres(rng: Mulberry32, factors: Float32Array, m: number): string {
  if (rng.nextFloat() < NO_GENRE_SHARE) return '(no genres listed)';
  // Genres follow the planted factors (genre g ↔ the sign pattern of two factors), so they carry signal.
  const chosen: string[] = [];
  for (let g = 0; g < GENRES.length; g++) {
    const a = factors[m * PLANTED_FACTORS + (g % PLANTED_FACTORS)];
    const b = factors[m * PLANTED_FACTORS + ((g * 3 + 1) % PLANTED_FACTORS)];
    const affinity = (g % 2 === 0 ? a : -a) + 0.5 * (g % 3 === 0 ? b : -b);
    if (affinity > FACTOR_STD * 1.1 && rng.nextFloat() < 0.7) chosen.push(GENRES[g]);
  }
  if (chosen.length === 0) chosen.push(GENRES[rng.nextInt(GENRES.length)]);
  return chosen.join('|');
}

/** Writes with backpressure, counting bytes. */
class CsvOut {
  private readonly stream: WriteStream;
  bytes = 0;

  constructor(file: string, header: string) {
    this.stream = createWriteStream(file, { highWaterMark: 1 << 20 });
    this.stream.write(`${header}\n`);
    this.bytes += header.length + 1;
  }

  async write(text: string): Promise<void> {
    this.bytes += Buffer.byteLength(text);
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    this.stream.end();
    await once(this.stream, 'close');
  }
}

/** Running Pearson correlation, for the planted signal. */
class Correlation {
  private n = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private syy = 0;
  private sxy = 0;
  add(x: number, y: number): void {
    this.n++;
    this.sx += x;
    this.sy += y;
    this.sxx += x * x;
    this.syy += y * y;
    this.sxy += x * y;
  }
  value(): number {
    const { n } = this;
    const cov = this.sxy - (this.sx * this.sy) / n;
    const vx = this.sxx - (this.sx * this.sx) / n;
    const vy = this.syy - (this.sy * this.sy) / n;
    return vx > 0 && vy > 0 ? cov / Math.sqrt(vx * vy) : 0;
  }
}

function medianOf(values: Int32Array): number {
  if (values.length === 0) return 0;
  const sorted = Int32Array.from(values).sort();
  return sorted[Math.floor(sorted.length / 2)];
}

/** User u's planted bias and factors, from their own random stream. */
export function userParameters(seed: number, user: number): { bias: number; factors: Float32Array } {
  const rng = new Mulberry32(deriveSeed(seed, STREAM.users, user));
  const bias = rng.nextGaussian() * USER_BIAS_STD;
  const factors = new Float32Array(PLANTED_FACTORS);
  gaussians(rng, factors, FACTOR_STD);
  return { bias, factors };
}

/** The planted model of a release generated with these options (no files written). */
export function plantedModel(options: Pick<GenerateOptions, 'shape' | 'scale' | 'seed'>): PlantedModel {
  const shape = scaledShape(RELEASE_SHAPES[options.shape], options.scale);
  const catalog = buildCatalog(shape, options.seed);
  return {
    mu: PLANTED_MU,
    k: PLANTED_FACTORS,
    noise: NOISE_STD,
    movieIds: catalog.ids,
    movieBias: catalog.bias,
    movieFactors: catalog.factors,
    userBiasStd: USER_BIAS_STD,
    factorStd: FACTOR_STD,
  };
}

/**
 * Writes movies.csv, ratings.csv, tags.csv and links.csv into options.out (created if needed) and
 * returns what it wrote. The same options always produce the same bytes.
 */
export async function generateRelease(options: GenerateOptions): Promise<GenerateSummary> {
  if (!Number.isInteger(options.seed))
    throw new GenerateOptionsError(`--seed must be an integer, got ${options.seed}`);
  const base = RELEASE_SHAPES[options.shape];
  if (!base) throw new GenerateOptionsError(`unknown shape ${String(options.shape)}`);
  const shape = scaledShape(base, options.scale);
  const started = process.hrtime.bigint();
  await fs.mkdir(options.out, { recursive: true });
  const catalog = buildCatalog(shape, options.seed);
  const counts = ratingsPerUser(shape, catalog.rated, options.seed);
  const { ids, factors, bias, cumulative, byRank } = catalog;
  const k = PLANTED_FACTORS;

  const moviesOut = new CsvOut(path.join(options.out, 'movies.csv'), CSV_HEADERS.movies);
  const linksOut = new CsvOut(path.join(options.out, 'links.csv'), CSV_HEADERS.links);
  const titleRng = new Mulberry32(deriveSeed(options.seed, STREAM.movies, 1));
  let movieChunk = '';
  let linkChunk = '';
  for (let m = 0; m < ids.length; m++) {
    movieChunk += `${ids[m]},${movieTitle(titleRng, m, catalog.years[m])},${movieGenres(titleRng, factors, m)}\n`;
    const imdb = String(100_000 + ids[m] * 7).padStart(7, '0');
    const tmdb = titleRng.nextFloat() < MISSING_TMDB_SHARE ? '' : String(ids[m] * 3 + 11);
    linkChunk += `${ids[m]},${imdb},${tmdb}\n`;
    if (movieChunk.length > 1 << 16) {
      await moviesOut.write(movieChunk);
      await linksOut.write(linkChunk);
      movieChunk = '';
      linkChunk = '';
    }
  }
  await moviesOut.write(movieChunk);
  await linksOut.write(linkChunk);
  await Promise.all([moviesOut.close(), linksOut.close()]);

  const ratingsOut = new CsvOut(path.join(options.out, 'ratings.csv'), CSV_HEADERS.ratings);
  const tagsOut = new CsvOut(path.join(options.out, 'tags.csv'), CSV_HEADERS.tags);
  // Tags go to a tenth of the users, in proportion to their ratings; expected total = shape.tags.
  const tagRate = Math.min(1, shape.tags / Math.max(1, shape.ratings * TAGGER_SHARE));
  // chosenBy[m] = 1 + the last user who drew movie m: duplicate checks without a per-user set.
  const chosenBy = new Int32Array(ids.length);
  const perMovie = new Int32Array(ids.length);
  const correlation = new Correlation();
  let written = 0;
  let tagsWritten = 0;
  let ratingSum = 0;
  let halfStars = 0;
  let firstTimestamp = Infinity;
  let lastTimestamp = -Infinity;
  const span = shape.lastTimestamp - shape.firstTimestamp;
  const totalWeight = cumulative[cumulative.length - 1];
  let chunk = '';
  let tagChunk = '';
  let picks = new Int32Array(64);
  let times = new Float64Array(64);

  for (let u = 0; u < shape.users; u++) {
    const userId = u + 1;
    const n = counts[u];
    const rng = new Mulberry32(deriveSeed(options.seed, STREAM.user, userId));
    const user = userParameters(options.seed, userId);
    if (picks.length < n) {
      picks = new Int32Array(n * 2);
      times = new Float64Array(n * 2);
    }
    // Weighted draws without replacement by rejection; a heavy user who keeps meeting movies already
    // drawn fills the rest by walking the popularity order from a random start.
    let drawn = 0;
    let attempts = 0;
    while (drawn < n && attempts < n * 20) {
      attempts++;
      const target = rng.nextFloat() * totalWeight;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid] < target) lo = mid + 1;
        else hi = mid;
      }
      const m = byRank[lo];
      if (chosenBy[m] === userId) continue;
      chosenBy[m] = userId;
      picks[drawn++] = m;
    }
    for (let r = rng.nextInt(catalog.rated), walked = 0; drawn < n && walked < catalog.rated; walked++) {
      const m = byRank[(r + walked) % catalog.rated];
      if (chosenBy[m] === userId) continue;
      chosenBy[m] = userId;
      picks[drawn++] = m;
    }
    const chosen = picks.subarray(0, n);
    // Sorted by movie index = by movieId (ids increase with the index), as the real files are.
    chosen.sort();
    // An activity window somewhere in the release's years; most users rate within weeks.
    const windowLength = rng.nextFloat() < 0.7 ? rng.nextFloat() * 60 * 86_400 : rng.nextFloat() * span * 0.3;
    const start = shape.firstTimestamp + rng.nextFloat() * Math.max(0, span - windowLength);
    for (let j = 0; j < n; j++) times[j] = start + rng.nextFloat() * windowLength;
    const whole = rng.nextFloat() < 0.45;
    const tagger = rng.nextFloat() < TAGGER_SHARE;
    for (let j = 0; j < n; j++) {
      const m = chosen[j];
      let interaction = 0;
      for (let f = 0; f < k; f++) interaction += user.factors[f] * factors[m * k + f];
      const planted = PLANTED_MU + user.bias + bias[m] + interaction;
      const rating = halfStar(planted + rng.nextGaussian() * NOISE_STD, whole);
      const timestamp = Math.floor(times[j]);
      correlation.add(planted, rating);
      ratingSum += rating;
      if (rating !== Math.floor(rating)) halfStars++;
      if (timestamp < firstTimestamp) firstTimestamp = timestamp;
      if (timestamp > lastTimestamp) lastTimestamp = timestamp;
      perMovie[m]++;
      chunk += `${userId},${ids[m]},${rating % 1 === 0 ? rating.toFixed(1) : rating},${timestamp}\n`;
      if (tagger && rng.nextFloat() < tagRate) {
        const word = TAG_WORDS[rng.nextInt(TAG_WORDS.length)];
        tagChunk += `${userId},${ids[m]},${word},${timestamp + 1 + rng.nextInt(600)}\n`;
        tagsWritten++;
      }
    }
    written += n;
    if (chunk.length > 1 << 18) {
      await ratingsOut.write(chunk);
      chunk = '';
    }
    if (tagChunk.length > 1 << 16) {
      await tagsOut.write(tagChunk);
      tagChunk = '';
    }
  }
  await ratingsOut.write(chunk);
  await tagsOut.write(tagChunk);
  await Promise.all([ratingsOut.close(), tagsOut.close()]);

  const ratedPerMovie = perMovie.filter((c) => c > 0);
  const sortedPerMovie = Int32Array.from(perMovie).sort().reverse();
  const topCount = Math.max(1, Math.floor(ids.length / 100));
  let topRatings = 0;
  for (let n = 0; n < topCount; n++) topRatings += sortedPerMovie[n];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    shape: options.shape,
    scale: options.scale,
    seed: options.seed,
    out: options.out,
    movies: ids.length,
    ratedMovies: ratedPerMovie.length,
    users: shape.users,
    ratings: written,
    tags: tagsWritten,
    meanRating: ratingSum / Math.max(1, written),
    halfStarShare: halfStars / Math.max(1, written),
    ratingsPerUser: {
      min: counts.reduce((a, b) => Math.min(a, b)),
      median: medianOf(counts),
      max: counts.reduce((a, b) => Math.max(a, b)),
    },
    ratingsPerMovie: { median: medianOf(ratedPerMovie), max: sortedPerMovie[0] },
    top1PercentShare: topRatings / Math.max(1, written),
    firstTimestamp,
    lastTimestamp,
    plantedCorrelation: correlation.value(),
    bytes: moviesOut.bytes + linksOut.bytes + ratingsOut.bytes + tagsOut.bytes,
    seconds,
    ratingsPerSecond: written / Math.max(1e-9, seconds),
  };
}
