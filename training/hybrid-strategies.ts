import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildCsr, type CsrMatrix } from '../src/engines/collaborative/kernels/sparse';
import {
  CANDIDATES_PER_RESULT,
  NEIGHBOURS_PER_MOVIE,
  POPULAR_CANDIDATES,
} from '../src/engines/content/content-engine';
import { buildMovieText, type TagFrequency } from '../src/engines/content/movie-text';
import { dot } from '../src/engines/content/vector-codec';
import { firstK } from '../src/engines/first-k';
import {
  type ContentNeighbourTable,
  bestByTableVote,
  emptyNeighbourTable,
  tableVoteOf,
  tableVotes,
  type TableVotes,
} from '../src/engines/content/neighbour-candidates';
import {
  CONTENT_SCORING,
  MERGED_CONTENT_SCORING,
  NEIGHBOUR_EXPONENT,
  neighbourVote,
  popularityPrior,
  type ContentScoring,
} from '../src/engines/content/neighbour-score';
import { computeTasteProfile, type RatedVector } from '../src/engines/content/taste-profile';
import { createEmbedder, type Embedder } from '../src/engines/content/embedders';
import { useLiteModelId } from '../src/engines/content/embedders/use-lite';
import { detectRelease, readRecords, type MovieRow, type ReleaseFormat } from '../src/data/movielens/formats';
import { overviewsForRelease } from './movie-overviews';
import { appeal, percentile, weightedRating } from '../src/engines/statistical/bayes';
import {
  CalibratedHybridStrategy,
  HybridStrategy,
  type HybridEngines,
  type NormalisationScope,
} from './calibration';
import type { RatingsDataset } from './dataset';
import { registerStrategy, type EvaluationStrategy, type StrategyContext } from './strategies';
import { defaultTopNCandidates, SelectedTopNStrategy } from './topn-strategies';
import type { ValidationSplitKind } from './validation-split';

export {
  CANDIDATE_POOL_SIZE,
  CalibratedHybridStrategy,
  HybridStrategy,
  mergeNormalised,
  weightGrid,
  type EngineScoreArrays,
  type NormalisationScope,
} from './calibration';

/** The production statistical engine's default prior weight: this quantile of per-movie vote counts. */
export const PRIOR_QUANTILE = 0.9;

function notFitted(name: string): never {
  throw new Error(`strategy ${name} used before fit()`);
}

/**
 * Bayesian weighted rating WR = (v·R + m·C)/(v + m) per item, C the mean of all training ratings and
 * m the 90th percentile of the vote counts of items with any vote. Ranks by appeal = WR·ln(1 + v), as
 * the engine's personal lists do: the same list for every user. WR doubles as the rating prediction,
 * so the table shows how a non-personalised prior fares on RMSE.
 */
export class StatisticalStrategy implements EvaluationStrategy {
  readonly name = 'statistical';
  private weighted: Float64Array | null = null;
  private appeal: Float64Array | null = null;

  fit(train: RatingsDataset): void {
    const votes = new Float64Array(train.numItems);
    const sums = new Float64Array(train.numItems);
    let total = 0;
    for (let n = 0; n < train.size; n++) {
      votes[train.items[n]]++;
      sums[train.items[n]] += train.ratings[n];
      total += train.ratings[n];
    }
    const prior = {
      mean: train.size > 0 ? total / train.size : 0,
      weight: percentile(
        votes.filter((count) => count > 0),
        PRIOR_QUANTILE,
      ),
    };
    this.weighted = votes.map((count, item) =>
      weightedRating(count, count > 0 ? sums[item] / count : 0, prior),
    );
    const weighted = this.weighted;
    this.appeal = votes.map((count, item) => appeal(weighted[item], count));
  }

  predict(_user: number, item: number): number {
    return (this.weighted ?? notFitted(this.name))[item];
  }

  scoreAll(_user: number, out: Float32Array): void {
    const scores = this.appeal ?? notFitted(this.name);
    for (let item = 0; item < scores.length; item++) out[item] = scores[item];
  }
}

/** The text to embed per external item id; ids without metadata are absent. */
export type MovieTextSource = (itemIds: Int32Array) => Promise<Map<number, string>>;

/** One L2-normalised vector per text, in order. */
export type EmbeddingSource = (texts: readonly string[]) => Promise<Float32Array[]>;

/**
 * Movie texts from a MovieLens release directory (movies.csv, u.item or movies.dat). A directory of bare
 * ml-100k u*.base/u*.test files with u.item but no u.data still counts as ml-100k. With a TMDB 5000
 * file, each movie's overview joins its text where one matches (movie-overviews.ts): ml-100k has no
 * tags, so title, year and genres are all the text it has otherwise.
 */
export function movieTextsFromRelease(
  directory: string,
  overviewsFile?: string,
  textOptions: MovieTagTextOptions = {},
): MovieTextSource {
  return async (itemIds) => {
    const { file, format } = await moviesFileOf(directory);
    const wanted = new Set(itemIds);
    const movies: MovieRow[] = [];
    for await (const movie of readRecords(file, 'movies', format))
      if (wanted.has(movie.movieId)) movies.push(movie);
    const overviews = overviewsFile
      ? await overviewsForRelease(directory, overviewsFile, movies)
      : new Map<number, string>();
    const tags =
      textOptions.maxTags === undefined
        ? new Map<number, TagFrequency[]>()
        : await tagsOfRelease(directory, wanted);
    return new Map(
      movies.map((movie) => [
        movie.movieId,
        buildMovieText(
          { ...movie, overview: overviews.get(movie.movieId) ?? null, tags: tags.get(movie.movieId) },
          { maxTags: textOptions.maxTags },
        ),
      ]),
    );
  };
}

export interface MovieTagTextOptions {
  /**
   * Adds the release's tags (tags.csv) to each text, at most this many per movie, counted as the content
   * index counts them (distinct users per tag). Unset leaves tags out, as the harness always did.
   */
  maxTags?: number;
}

/** Per movie, each tag with the number of distinct users who applied it (as EmbeddingStore reads them). */
async function tagsOfRelease(directory: string, wanted: Set<number>): Promise<Map<number, TagFrequency[]>> {
  const release = await detectRelease(directory);
  const users = new Map<number, Map<string, Set<number>>>();
  if (release.tagsFile)
    for await (const row of readRecords(release.tagsFile, 'tags', release.format)) {
      if (!wanted.has(row.movieId)) continue;
      const byTag = users.get(row.movieId) ?? new Map<string, Set<number>>();
      users.set(row.movieId, byTag);
      const taggers = byTag.get(row.tag) ?? new Set<number>();
      byTag.set(row.tag, taggers.add(row.userId));
    }
  return new Map(
    [...users].map(([movieId, byTag]) => [
      movieId,
      [...byTag].map(([tag, taggers]) => ({ tag, count: taggers.size })),
    ]),
  );
}

async function moviesFileOf(directory: string): Promise<{ file: string; format: ReleaseFormat }> {
  try {
    const release = await detectRelease(directory);
    return { file: release.moviesFile, format: release.format };
  } catch (error) {
    const item = path.join(directory, 'u.item');
    if (
      await fs.stat(item).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return { file: item, format: 'ml-100k' };
    throw error;
  }
}

/**
 * Embeds texts once per (model, texts) and keeps the vectors in `<directory>/<sha256>.bin`
 * (int32 count, int32 dimension, then count·dimension float32), so a second evaluation of the same
 * catalog skips the minutes of embedding. The model id is passed in rather than read from the
 * embedder so a cache hit never loads the model.
 */
export function cachedEmbeddings(
  modelId: string,
  directory: string,
  openEmbedder: () => Promise<Embedder>,
): EmbeddingSource {
  const inMemory = new Map<string, Float32Array[]>();
  return async (texts) => {
    const digest = createHash('sha256').update(modelId).update('\0').update(texts.join('\0')).digest('hex');
    const remembered = inMemory.get(digest);
    if (remembered) return remembered;
    const file = path.join(directory, `${digest}.bin`);
    const vectors =
      (await readVectorFile(file, texts.length)) ?? (await embedAndStore(texts, file, openEmbedder));
    inMemory.set(digest, vectors);
    return vectors;
  };
}

async function readVectorFile(file: string, expectedCount: number): Promise<Float32Array[] | null> {
  const bytes = await fs.readFile(file).catch(() => null);
  if (!bytes || bytes.length < 8) return null;
  const header = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 8));
  const [count, dimension] = header;
  if (count !== expectedCount || bytes.length !== 8 + count * dimension * 4) return null;
  const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8, bytes.byteOffset + bytes.length));
  return Array.from({ length: count }, (_, n) => values.subarray(n * dimension, (n + 1) * dimension));
}

async function embedAndStore(
  texts: readonly string[],
  file: string,
  openEmbedder: () => Promise<Embedder>,
): Promise<Float32Array[]> {
  const embedder = await openEmbedder();
  let vectors: Float32Array[];
  try {
    vectors = await embedder.embed(texts);
  } finally {
    await embedder.dispose?.();
  }
  const dimension = vectors[0]?.length ?? 0;
  const buffer = Buffer.alloc(8 + vectors.length * dimension * 4);
  buffer.writeInt32LE(vectors.length, 0);
  buffer.writeInt32LE(dimension, 4);
  vectors.forEach((vector, n) =>
    Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).copy(buffer, 8 + n * dimension * 4),
  );
  await fs.mkdir(path.dirname(file), { recursive: true });
  // Write then rename: an interrupted run must not leave a truncated file that a later run trusts.
  const partial = `${file}.${process.pid}.partial`;
  await fs.writeFile(partial, buffer);
  await fs.rename(partial, file);
  return vectors;
}

/** One unit vector per item index (null: the item has no text), for the items of a dataset. */
export type ItemVectorSource = (itemIds: Int32Array) => Promise<(Float32Array | null)[]>;

/** Vectors from embedding each item's text (evaluation: texts from the MovieLens files). */
export function embeddedItemVectors(movieTexts: MovieTextSource, embed: EmbeddingSource): ItemVectorSource {
  return async (itemIds) => {
    const texts = await movieTexts(itemIds);
    const described = Array.from(itemIds).filter((id) => texts.has(id));
    const embedded = await embed(described.map((id) => texts.get(id) as string));
    const vectorOf = new Map(described.map((id, n) => [id, embedded[n]]));
    return Array.from(itemIds, (id) => vectorOf.get(id) ?? null);
  };
}

/**
 * Content scores from embeddings of each item's text. Items without text, and every item for a user
 * without embedded ratings, score 0 (plus the popularity prior where the scoring has one).
 *
 * A ContentScoring (neighbour-score.ts): the vote of the user's centred training ratings over the
 * movies they rated, weighted by max(0, cos)^p between the items' embeddings, plus a popularity
 * prior; the item-item cosines are computed once in fit(). CONTENT_SCORING is how the engine ranks
 * alone, MERGED_CONTENT_SCORING how it scores inside HYBRID, NEIGHBOUR_SCORING the experiment the
 * served scoring grew from. `taste-profile`, the engine's earlier scoring: the cosine of each item
 * with the user's taste profile (Σ (rating − user mean)·embedding, normalised).
 */
export class ContentStrategy implements EvaluationStrategy {
  readonly name = 'content';
  private vectors: (Float32Array | null)[] | null = null;
  private byUser: CsrMatrix | null = null;
  /** numItems × numItems cosines (vote scorings only). */
  private similarities: Float32Array | null = null;
  private prior: Float32Array | null = null;

  constructor(
    private readonly itemVectors: ItemVectorSource,
    private readonly scoring: ContentScoring | 'taste-profile' = CONTENT_SCORING,
    private readonly cosines: (
      itemIds: Int32Array,
      vectors: readonly (Float32Array | null)[],
    ) => Float32Array = (_ids, vectors) => cosineMatrix(vectors),
    /**
     * What the served engine votes on (ContentEngine.recommend: CANDIDATES_PER_RESULT per wanted
     * movie): the `candidates` unrated items its vote reaches highest through each rated item's
     * `neighboursPerMovie` nearest items (the engine's neighbour table: tableVotes, bestByTableVote), or
     * without `neighboursPerMovie` its taste profile's `candidates` nearest unrated items (the
     * engine before the table, and while it is built); and the `popular` most rated unrated ones.
     * `listOnly`: the others rank last (the engine's own list); otherwise every item is scored and
     * these are the candidates it brings to a merge (candidatesOf). Absent: every item is voted on
     * and a candidate. `voteThroughTable`: every item is scored by the vote through the table
     * (tableVotes, 0 where it does not reach), as the engine scores once its table is built.
     */
    private readonly served?: {
      candidates: number;
      popular: number;
      listOnly: boolean;
      neighboursPerMovie?: number;
      voteThroughTable?: boolean;
    },
  ) {}

  private neighbourTable: ContentNeighbourTable | null = null;

  private get vote(): ContentScoring | null {
    return this.scoring === 'taste-profile' ? null : this.scoring;
  }

  async fit(train: RatingsDataset): Promise<void> {
    this.vectors = await this.itemVectors(train.itemIds);
    this.byUser = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
    this.similarities = this.vote ? this.cosines(train.itemIds, this.vectors) : null;
    const perMovie = this.served?.neighboursPerMovie;
    this.neighbourTable =
      perMovie && this.similarities ? neighbourTableOf(this.similarities, this.vectors, perMovie) : null;
    const votes = new Float64Array(train.numItems);
    for (const item of train.items) votes[item]++;
    const maxVotes = votes.reduce((max, count) => Math.max(max, count), 0);
    this.prior = Float32Array.from(votes, (count) => popularityPrior(count, maxVotes));
  }

  scoreAll(user: number, out: Float32Array): void {
    const vectors = this.vectors ?? notFitted(this.name);
    const { rated, userMean } = this.ratedOf(user);
    const vote = this.vote;
    const prior = this.prior ?? notFitted(this.name);
    const priorWeight = vote?.popularityWeight ?? 0;
    for (let item = 0; item < out.length; item++) out[item] = priorWeight * prior[item];
    if (rated.length === 0) return;
    const table = this.neighbourTable;
    if (vote && this.served?.voteThroughTable && table) {
      const votes = this.votesThrough(table, rated, userMean);
      const voted = this.served.listOnly ? this.servedCandidates(user, rated, userMean, votes) : null;
      for (let item = 0; item < out.length; item++) {
        if (!vectors[item]) continue;
        out[item] = voted && !voted.has(item) ? NOT_A_CANDIDATE : out[item] + tableVoteOf(votes, item);
      }
      return;
    }
    if (vote) {
      const similarities = this.similarities ?? notFitted(this.name);
      const weights = Float64Array.from(rated, (movie) => movie.rating - userMean);
      const n = vectors.length;
      const voted = this.served?.listOnly ? this.servedCandidates(user, rated, userMean) : null;
      for (let item = 0; item < n; item++) {
        if (!vectors[item]) continue;
        if (voted && !voted.has(item)) {
          out[item] = NOT_A_CANDIDATE;
          continue;
        }
        const row = item * n;
        out[item] += neighbourVote((j) => similarities[row + rated[j].movieId], weights, vote);
      }
      return;
    }
    const profile = computeTasteProfile(rated, userMean);
    if (!profile) return;
    for (let item = 0; item < vectors.length; item++) {
      const vector = vectors[item];
      if (vector) out[item] = dot(profile.vector, vector);
    }
  }

  /** The user's rated items that have vectors, and the mean of all their ratings. */
  private ratedOf(user: number): { rated: RatedVector[]; userMean: number } {
    const vectors = this.vectors ?? notFitted(this.name);
    const byUser = this.byUser ?? notFitted(this.name);
    const rated: RatedVector[] = [];
    let sum = 0;
    const start = byUser.offsets[user];
    const end = byUser.offsets[user + 1];
    for (let e = start; e < end; e++) {
      sum += byUser.values[e];
      const vector = vectors[byUser.columns[e]];
      if (vector) rated.push({ movieId: byUser.columns[e], rating: byUser.values[e], vector });
    }
    return { rated, userMean: end > start ? sum / (end - start) : 0 };
  }

  /** What the served engine votes on for the user (see `served`); null when it is not set. */
  candidatesOf(user: number): ReadonlySet<number> | null {
    if (!this.served) return null;
    const { rated, userMean } = this.ratedOf(user);
    return this.servedCandidates(user, rated, userMean);
  }

  /** The user's vote through the table (tableVotes), item indices as positions. */
  private votesThrough(
    table: ContentNeighbourTable,
    rated: readonly RatedVector[],
    userMean: number,
  ): TableVotes {
    return tableVotes(
      table,
      Int32Array.from(rated, (movie) => movie.movieId),
      Float64Array.from(rated, (movie) => movie.rating - userMean),
      (this.vote ?? notFitted(this.name)).exponent,
    );
  }

  /** `votes`: the user's vote through the table, where the caller has it already. */
  private servedCandidates(
    user: number,
    rated: readonly RatedVector[],
    userMean: number,
    votes?: TableVotes,
  ): Set<number> {
    const served = this.served ?? notFitted(this.name);
    const vectors = this.vectors ?? notFitted(this.name);
    const byUser = this.byUser ?? notFitted(this.name);
    const profile = computeTasteProfile(rated, userMean);
    if (!profile) return new Set();
    const own = new Set(byUser.columns.subarray(byUser.offsets[user], byUser.offsets[user + 1]));
    const unrated: number[] = [];
    for (let item = 0; item < vectors.length; item++) if (vectors[item] && !own.has(item)) unrated.push(item);
    const table = this.neighbourTable;
    let candidates: Set<number>;
    if (table) {
      const through = votes ?? this.votesThrough(table, rated, userMean);
      candidates = new Set(bestByTableVote(through, served.candidates, (item) => own.has(item)));
    } else {
      // The taste profile's nearest: only without a table are the cosines to every item needed.
      const cosines = new Map(unrated.map((item) => [item, dot(profile.vector, vectors[item]!)]));
      const near = [...unrated].sort((a, b) => cosines.get(b)! - cosines.get(a)! || a - b);
      candidates = new Set(near.slice(0, served.candidates));
    }
    if (served.popular > 0) {
      const prior = this.prior ?? notFitted(this.name);
      const popular = unrated.sort((a, b) => prior[b] - prior[a] || a - b);
      for (const item of popular.slice(0, served.popular)) candidates.add(item);
    }
    return candidates;
  }
}

/** Each item's `perMovie` most similar others (by the cosine matrix), as the engine's table holds them. */
function neighbourTableOf(
  similarities: Float32Array,
  vectors: readonly (Float32Array | null)[],
  perMovie: number,
): ContentNeighbourTable {
  const n = vectors.length;
  const table = emptyNeighbourTable(n, perMovie);
  const others: number[] = [];
  for (let item = 0; item < n; item++) if (vectors[item]) others.push(item);
  for (let item = 0; item < n; item++) {
    if (!vectors[item]) continue;
    const row = item * n;
    const nearest = firstK(
      others.filter((other) => other !== item),
      perMovie,
      (a, b) => similarities[row + b] - similarities[row + a] || a - b,
    );
    nearest.forEach((other, slot) => {
      table.neighbours[item * perMovie + slot] = other;
      table.similarities[item * perMovie + slot] = similarities[row + other];
    });
  }
  return table;
}

/** Below every score: an item the served engine would not have voted on ranks after all that it would. */
const NOT_A_CANDIDATE = -1e30;

/** Every pair's dot product (cosine of unit vectors), 0 where an item has no vector. */
export function cosineMatrix(vectors: readonly (Float32Array | null)[]): Float32Array {
  const n = vectors.length;
  const similarities = new Float32Array(n * n);
  for (let a = 0; a < n; a++) {
    const left = vectors[a];
    if (!left) continue;
    for (let b = a; b < n; b++) {
      const right = vectors[b];
      if (!right) continue;
      let dot = 0;
      for (let d = 0; d < left.length; d++) dot += left[d] * right[d];
      similarities[a * n + b] = dot;
      similarities[b * n + a] = dot;
    }
  }
  return similarities;
}

/**
 * One evaluation process's cosine matrix cache (lastCosineMatrix): shared by every registered
 * strategy and anything else evaluating the same catalog. Not for the server, which must not keep a
 * catalog² matrix alive after training.
 */
export const sharedCosineMatrix = lastCosineMatrix();

export interface HybridStrategyOptions {
  /** The MovieLens directory whose movie file describes the evaluated items (the `--data` dir). */
  readonly movieDirectory?: string;
  readonly embeddingCacheDirectory?: string;
  /** A TMDB 5000 movies CSV: overviews join the movie texts where they match (TMDB_OVERVIEWS). */
  readonly overviewsFile?: string;
}

/**
 * The cosine matrix of the last item space asked for: the hybrid fits its content engine twice per
 * fold (calibration, then the final fit) on one id space and one text source, and the matrix is the
 * costly part (~25 s for ml-latest-small's 9,742 items on a quiet machine).
 */
function lastCosineMatrix(): (
  itemIds: Int32Array,
  vectors: readonly (Float32Array | null)[],
) => Float32Array {
  let last: { key: string; matrix: Float32Array } | null = null;
  return (itemIds, vectors) => {
    const key = createHash('sha256')
      .update(Buffer.from(itemIds.buffer, itemIds.byteOffset, itemIds.byteLength))
      .digest('hex');
    if (last?.key !== key) {
      last = null;
      last = { key, matrix: cosineMatrix(vectors) };
    }
    return last.matrix;
  };
}

export const DEFAULT_EMBEDDING_CACHE_DIRECTORY = path.join('.cache', 'eval-embeddings');

/** The earlier experiment the served vote grew from: the mean vote with p = 8 and no prior. */
export const NEIGHBOUR_SCORING: ContentScoring = {
  aggregate: 'mean',
  exponent: NEIGHBOUR_EXPONENT,
  popularityWeight: 0,
};

/**
 * The candidates the served engine votes on for a list of up to 16: the orchestrator asks an engine
 * for max(50, 3 × first) movies and the engine finds CANDIDATES_PER_RESULT per wanted movie through
 * its neighbour table.
 */
const SERVED_CANDIDATES = 50 * CANDIDATES_PER_RESULT;

/**
 * What the engine votes on and how, as one of HYBRID's engines: the best of what its vote reaches
 * through the neighbour table, scored by that vote (every candidate the other engines bring too).
 */
export const SERVED_IN_HYBRID = {
  candidates: SERVED_CANDIDATES,
  popular: 0,
  listOnly: false,
  neighboursPerMovie: NEIGHBOURS_PER_MOVIE,
  voteThroughTable: true,
} as const;

function contentStrategyFor(
  options: HybridStrategyOptions,
  embed: EmbeddingSource,
  cosines: ConstructorParameters<typeof ContentStrategy>[2],
  scoring: ConstructorParameters<typeof ContentStrategy>[1] = CONTENT_SCORING,
  served?: ConstructorParameters<typeof ContentStrategy>[3],
): ContentStrategy {
  const directory = options.movieDirectory;
  if (!directory)
    throw new Error('the content strategy needs the MovieLens directory (--data) for movie titles');
  return new ContentStrategy(
    embeddedItemVectors(movieTextsFromRelease(directory, options.overviewsFile), embed),
    scoring,
    scoring === 'taste-profile' ? undefined : cosines,
    served,
  );
}

export function registerHybridStrategies(options: HybridStrategyOptions = {}): void {
  // One source for every strategy and fold of a run, so the catalog is embedded (or read) once.
  const embed = cachedEmbeddings(
    useLiteModelId(),
    options.embeddingCacheDirectory ?? DEFAULT_EMBEDDING_CACHE_DIRECTORY,
    () =>
      createEmbedder({ mode: 'use-lite', transformersModel: '', allowRemoteModels: false, workers: 'auto' }),
  );
  const cosines = sharedCosineMatrix;
  // The collaborative part is what production serves: the top-N model chosen on a validation split
  // carved from the fold's own training data (PureSVD or EASE).
  const engines = (seed: number, split: ValidationSplitKind = 'random'): HybridEngines => ({
    collaborative: new SelectedTopNStrategy(defaultTopNCandidates(seed), split, seed),
    // As one of HYBRID's engines, content scores by its vote alone (MERGED_CONTENT_SCORING).
    content: contentStrategyFor(options, embed, cosines, MERGED_CONTENT_SCORING),
    statistical: new StatisticalStrategy(),
  });
  const hybrid = (name: string, scope: NormalisationScope) => (context: StrategyContext) =>
    new HybridStrategy(name, engines(context.seed, context.validationSplit), scope);
  // As served: content brings the best-voted of what its vote reaches through the neighbour table to
  // the merge, not the best-voted of every movie (it still scores every candidate the others bring).
  const servedEngines = (seed: number, split: ValidationSplitKind = 'random'): HybridEngines => ({
    ...engines(seed, split),
    content: contentStrategyFor(options, embed, cosines, MERGED_CONTENT_SCORING, SERVED_IN_HYBRID),
  });
  registerStrategy({
    name: 'statistical',
    description:
      'appeal = Bayesian weighted rating (m = 90th percentile of vote counts) × ln(1 + votes); same list for every user',
    create: () => new StatisticalStrategy(),
  });
  registerStrategy({
    name: 'content',
    description:
      'the served scoring on every movie: neighbour vote Σ cos^16·(rating − user mean) over the rated movies + 10 × popularity prior',
    create: () => contentStrategyFor(options, embed, cosines),
  });
  registerStrategy({
    name: 'content-served',
    description: `as the engine serves a list of up to 16: the vote counted through each rated movie's ${NEIGHBOURS_PER_MOVIE} nearest (+ the prior), over the ${SERVED_CANDIDATES} unrated movies it reaches highest and the ${POPULAR_CANDIDATES} most rated`,
    create: () =>
      contentStrategyFor(options, embed, cosines, CONTENT_SCORING, {
        candidates: SERVED_CANDIDATES,
        popular: POPULAR_CANDIDATES,
        listOnly: true,
        neighboursPerMovie: NEIGHBOURS_PER_MOVIE,
        voteThroughTable: true,
      }),
  });
  registerStrategy({
    name: 'content-taste-profile',
    description: 'the earlier served scoring: cosine of the taste profile and the movie embeddings',
    create: () => contentStrategyFor(options, embed, cosines, 'taste-profile'),
  });
  registerStrategy({
    name: 'content-neighbours',
    description: "average of the user's centred ratings weighted by cos^8 between embeddings, no prior",
    create: () => contentStrategyFor(options, embed, cosines, NEIGHBOUR_SCORING),
  });
  registerStrategy({
    name: 'hybrid',
    blendsEngines: true,
    description:
      'production merge with the specified weights (0.5 the served top-N model, 0.3 content, 0.2 statistical), min-max over the candidate pool',
    create: hybrid('hybrid', 'candidate-pool'),
  });
  registerStrategy({
    name: 'hybrid-served',
    blendsEngines: true,
    description: `as hybrid, with content as the engine serves it: the vote counted through each rated movie's ${NEIGHBOURS_PER_MOVIE} nearest, bringing the ${SERVED_CANDIDATES} unrated movies it reaches highest`,
    create: (context: StrategyContext) =>
      new HybridStrategy(
        'hybrid-served',
        servedEngines(context.seed, context.validationSplit),
        'candidate-pool',
      ),
  });
  registerStrategy({
    name: 'hybrid-all-items',
    blendsEngines: true,
    description: 'as hybrid, but min-max over every unrated item instead of the candidate pool',
    create: hybrid('hybrid-all-items', 'all-items'),
  });
  const calibrated =
    (name: string, splits?: number) =>
    (context: StrategyContext): EvaluationStrategy =>
      new CalibratedHybridStrategy(
        name,
        // As production calibrates (training/database.ts): with the content engine as served.
        () => servedEngines(context.seed, context.validationSplit),
        { scheme: context.validationSplit ?? 'random', seed: context.seed, splits },
        (chosen) =>
          process.stderr.write(
            `${name}: weights ${JSON.stringify(chosen.weights)} on ${chosen.scheme} validation ` +
              `(${chosen.splits} split(s), ${chosen.validationUsers} user answers): ndcg@10 ${chosen.validationNdcg10.toFixed(4)}, ` +
              `specified weights ${chosen.defaultValidationNdcg10.toFixed(4)}\n`,
          ),
      );
  registerStrategy({
    name: 'hybrid-calibrated',
    blendsEngines: true,
    description:
      'as hybrid-served, with weights chosen inside each training fold (0.1 grid, NDCG@10) on validation: 5 disjoint random splits pooled, or the temporal one',
    create: calibrated('hybrid-calibrated'),
  });
  registerStrategy({
    name: 'hybrid-calibrated-single-split',
    blendsEngines: true,
    description: 'as hybrid-calibrated, on one validation split only (how it chose until 2026-12-07)',
    create: calibrated('hybrid-calibrated-single-split', 1),
  });
}
