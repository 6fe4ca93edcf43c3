import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { buildCsr, type CsrMatrix } from '../src/engines/collaborative/kernels/sparse';
import { topK } from '../src/engines/collaborative/kernels/top-k';
import { buildMovieText } from '../src/engines/content/movie-text';
import { neighbourAverage } from '../src/engines/content/neighbour-score';
import { computeTasteProfile, type RatedVector } from '../src/engines/content/taste-profile';
import { createEmbedder, type Embedder } from '../src/engines/content/embedders';
import { useLiteModelId } from '../src/engines/content/embedders/use-lite';
import { detectRelease, readRecords, type ReleaseFormat } from '../src/data/movielens/formats';
import { appeal, percentile, weightedRating } from '../src/engines/statistical/bayes';
import { DEFAULT_WEIGHTS, type EngineWeights } from '../src/orchestrator/weights';
import { PureSvdStrategy } from './builtin-strategies';
import { splitHoldout, type RatingsDataset } from './dataset';
import { rankingMetrics } from './evaluate';
import { DEFAULT_PURE_SVD_OPTIONS } from './options';
import { registerStrategy, type EvaluationStrategy } from './strategies';

/** The production statistical engine's default prior weight: this quantile of per-movie vote counts. */
export const PRIOR_QUANTILE = 0.9;

/** As the orchestrator asks each engine for max(50, first·3) candidates, with first = the cutoff 10. */
export const CANDIDATE_POOL_SIZE = 50;

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
 * ml-100k u*.base/u*.test files with u.item but no u.data still counts as ml-100k.
 */
export function movieTextsFromRelease(directory: string): MovieTextSource {
  return async (itemIds) => {
    const { file, format } = await moviesFileOf(directory);
    const wanted = new Set(itemIds);
    const texts = new Map<number, string>();
    for await (const movie of readRecords(file, 'movies', format)) {
      if (wanted.has(movie.movieId)) texts.set(movie.movieId, buildMovieText(movie));
    }
    return texts;
  };
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

/**
 * Content scores from embeddings of each item's title, year and genres (plus tags where the release
 * has them). Items without metadata, and every item for a user without embedded ratings, score 0.
 *
 * `taste-profile`, as the content engine serves it: the cosine of each item with the user's taste
 * profile (Σ (rating − user mean)·embedding, normalised).
 * `neighbours`, an experiment not served (neighbour-score.ts): the average of the user's centred
 * training ratings over the movies they rated, weighted by max(0, cos)^NEIGHBOUR_EXPONENT between
 * the items' embeddings; the item-item cosines are computed once in fit(). It lifts the hybrid a
 * little on both splits, but costs ~10 ms a request to serve.
 */
export class ContentStrategy implements EvaluationStrategy {
  readonly name = 'content';
  private vectors: (Float32Array | null)[] | null = null;
  private byUser: CsrMatrix | null = null;
  /** numItems × numItems cosines (neighbours scoring only). */
  private similarities: Float32Array | null = null;

  constructor(
    private readonly movieTexts: MovieTextSource,
    private readonly embed: EmbeddingSource,
    private readonly scoring: 'neighbours' | 'taste-profile' = 'taste-profile',
  ) {}

  async fit(train: RatingsDataset): Promise<void> {
    const texts = await this.movieTexts(train.itemIds);
    const described = Array.from(train.itemIds).filter((id) => texts.has(id));
    const embedded = await this.embed(described.map((id) => texts.get(id) as string));
    const vectorOf = new Map(described.map((id, n) => [id, embedded[n]]));
    this.vectors = Array.from(train.itemIds, (id) => vectorOf.get(id) ?? null);
    this.byUser = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
    this.similarities = this.scoring === 'neighbours' ? cosineMatrix(this.vectors) : null;
  }

  scoreAll(user: number, out: Float32Array): void {
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
    const userMean = end > start ? sum / (end - start) : 0;
    out.fill(0);
    if (rated.length === 0) return;
    if (this.scoring === 'neighbours') {
      const similarities = this.similarities ?? notFitted(this.name);
      const weights = Float64Array.from(rated, (movie) => movie.rating - userMean);
      const n = vectors.length;
      for (let item = 0; item < n; item++) {
        if (!vectors[item]) continue;
        const row = item * n;
        out[item] = neighbourAverage((j) => similarities[row + rated[j].movieId], weights);
      }
      return;
    }
    const profile = computeTasteProfile(rated, userMean);
    if (!profile) return;
    for (let item = 0; item < vectors.length; item++) {
      const vector = vectors[item];
      if (!vector) continue;
      let dot = 0;
      for (let d = 0; d < vector.length; d++) dot += profile.vector[d] * vector[d];
      out[item] = dot;
    }
  }
}

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
 * Over which items each engine's scores are min-max normalised before the weighted sum.
 * `all-items`: every item the user has not rated. `candidate-pool`: as the orchestrator does, the
 * union of each engine's top CANDIDATE_POOL_SIZE unrated items, every engine scoring the whole union;
 * items outside the union are not recommended at all.
 */
export type NormalisationScope = 'all-items' | 'candidate-pool';

/** The three engines' scores for one user, item-indexed. */
export interface EngineScoreArrays {
  readonly collaborative: Float32Array;
  readonly content: Float32Array;
  readonly statistical: Float32Array;
}

/**
 * merge.ts's minMaxNormalise + mergeScores on typed arrays, over the items listed in `members`:
 * out[i] = Σ_engine weight · (s_i − min)/(max − min), a constant engine contributing 1 per item.
 * Items outside `members` are left untouched.
 */
export function mergeNormalised(
  scores: EngineScoreArrays,
  weights: EngineWeights,
  members: Int32Array,
  out: Float32Array,
): void {
  for (const item of members) out[item] = 0;
  for (const engine of ['collaborative', 'content', 'statistical'] as const) {
    const values = scores[engine];
    let min = Infinity;
    let max = -Infinity;
    for (const item of members) {
      if (values[item] < min) min = values[item];
      if (values[item] > max) max = values[item];
    }
    const span = max - min;
    for (const item of members) out[item] += weights[engine] * (span > 0 ? (values[item] - min) / span : 1);
  }
}

/**
 * The production HYBRID merge of the statistical, content and collaborative (PureSVD, as the svd
 * strategy ranks) scores with the production default weights. Ranking only.
 */
export class HybridStrategy implements EvaluationStrategy {
  private byUser: CsrMatrix | null = null;
  private scores: EngineScoreArrays | null = null;

  constructor(
    readonly name: string,
    private readonly engines: {
      readonly collaborative: EvaluationStrategy;
      readonly content: EvaluationStrategy;
      readonly statistical: EvaluationStrategy;
    },
    private readonly scope: NormalisationScope,
    private readonly weights: EngineWeights = DEFAULT_WEIGHTS,
  ) {}

  async fit(train: RatingsDataset): Promise<void> {
    for (const engine of Object.values(this.engines)) await engine.fit(train);
    this.byUser = buildCsr(train.users, train.items, train.ratings, train.numUsers, train.numItems);
    this.scores = {
      collaborative: new Float32Array(train.numItems),
      content: new Float32Array(train.numItems),
      statistical: new Float32Array(train.numItems),
    };
  }

  scoreAll(user: number, out: Float32Array): void {
    const scores = this.scores ?? notFitted(this.name);
    const byUser = this.byUser ?? notFitted(this.name);
    for (const engine of ['collaborative', 'content', 'statistical'] as const) {
      const strategy = this.engines[engine];
      if (!strategy.scoreAll) throw new Error(`${strategy.name} cannot rank`);
      strategy.scoreAll(user, scores[engine]);
    }
    const numItems = out.length;
    const rated = new Uint8Array(numItems);
    for (let e = byUser.offsets[user]; e < byUser.offsets[user + 1]; e++) rated[byUser.columns[e]] = 1;
    const unrated = Int32Array.from({ length: numItems }, (_, item) => item).filter((item) => !rated[item]);
    out.fill(-Infinity);
    mergeNormalised(scores, this.weights, this.membersFor(scores, unrated, rated), out);
  }

  private membersFor(scores: EngineScoreArrays, unrated: Int32Array, rated: Uint8Array): Int32Array {
    if (this.scope === 'all-items') return unrated;
    const union = new Set<number>();
    const masked = new Float32Array(rated.length);
    for (const engine of ['collaborative', 'content', 'statistical'] as const) {
      masked.set(scores[engine]);
      for (let item = 0; item < rated.length; item++) if (rated[item]) masked[item] = -Infinity;
      for (const item of topK(masked, Math.min(CANDIDATE_POOL_SIZE, unrated.length))) union.add(item);
    }
    return Int32Array.from(union);
  }
}

type HybridEngines = ConstructorParameters<typeof HybridStrategy>[1];

/** A fitted strategy's scores computed once per user and replayed, so a weight grid only re-merges. */
class MemoisedScores implements EvaluationStrategy {
  readonly name: string;
  private readonly byUser = new Map<number, Float32Array>();

  constructor(private readonly fitted: EvaluationStrategy) {
    this.name = fitted.name;
  }

  fit(): void {}

  scoreAll(user: number, out: Float32Array): void {
    let scores = this.byUser.get(user);
    if (!scores) {
      scores = new Float32Array(out.length);
      (this.fitted.scoreAll ?? notFitted(this.name)).call(this.fitted, user, scores);
      this.byUser.set(user, scores);
    }
    out.set(scores);
  }
}

/** Share of the training ratings held out, at random, to choose the weights on. */
export const VALIDATION_FRACTION = 0.2;

/** Every (collaborative, content, statistical) weight triple on a 0.1 grid of the simplex. */
export function weightGrid(steps = 10): EngineWeights[] {
  const grid: EngineWeights[] = [];
  for (let collaborative = 0; collaborative <= steps; collaborative++)
    for (let content = 0; content + collaborative <= steps; content++)
      grid.push({
        collaborative: collaborative / steps,
        content: content / steps,
        statistical: (steps - collaborative - content) / steps,
      });
  return grid;
}

/**
 * The hybrid merge with weights chosen by NDCG@10 on a random VALIDATION_FRACTION of the training
 * ratings (engines fitted on the rest), then refitted on the whole training set. The test set
 * plays no part in the choice.
 */
export class TunedHybridStrategy implements EvaluationStrategy {
  chosen: { weights: EngineWeights; validationNdcg10: number } | null = null;
  private final: HybridStrategy | null = null;

  constructor(
    readonly name: string,
    private readonly createEngines: () => HybridEngines,
    private readonly scope: NormalisationScope,
    private readonly seed: number,
    private readonly onChosen?: (chosen: { weights: EngineWeights; validationNdcg10: number }) => void,
  ) {}

  async fit(train: RatingsDataset): Promise<void> {
    const { train: fitting, holdout } = splitHoldout(train, VALIDATION_FRACTION, this.seed);
    const engines = this.createEngines();
    for (const engine of Object.values(engines)) await engine.fit(fitting);
    const memoised = {
      collaborative: new MemoisedScores(engines.collaborative),
      content: new MemoisedScores(engines.content),
      statistical: new MemoisedScores(engines.statistical),
    };
    let best: { weights: EngineWeights; validationNdcg10: number } | null = null;
    for (const weights of weightGrid()) {
      const candidate = new HybridStrategy(this.name, memoised, this.scope, weights);
      await candidate.fit(fitting);
      const ndcg10 = rankingMetrics(candidate, fitting, holdout)?.ndcg10 ?? 0;
      if (best === null || ndcg10 > best.validationNdcg10) best = { weights, validationNdcg10: ndcg10 };
    }
    this.chosen = best;
    if (best) this.onChosen?.(best);
    this.final = new HybridStrategy(this.name, this.createEngines(), this.scope, best?.weights);
    await this.final.fit(train);
  }

  scoreAll(user: number, out: Float32Array): void {
    (this.final ?? notFitted(this.name)).scoreAll(user, out);
  }
}

export interface HybridStrategyOptions {
  /** The MovieLens directory whose movie file describes the evaluated items (the `--data` dir). */
  readonly movieDirectory?: string;
  readonly embeddingCacheDirectory?: string;
}

export const DEFAULT_EMBEDDING_CACHE_DIRECTORY = path.join('.cache', 'eval-embeddings');

function contentStrategyFor(
  options: HybridStrategyOptions,
  embed: EmbeddingSource,
  scoring: ConstructorParameters<typeof ContentStrategy>[2] = 'taste-profile',
): ContentStrategy {
  const directory = options.movieDirectory;
  if (!directory)
    throw new Error('the content strategy needs the MovieLens directory (--data) for movie titles');
  return new ContentStrategy(movieTextsFromRelease(directory), embed, scoring);
}

export function registerHybridStrategies(options: HybridStrategyOptions = {}): void {
  // One source for every strategy and fold of a run, so the catalog is embedded (or read) once.
  const embed = cachedEmbeddings(
    useLiteModelId(),
    options.embeddingCacheDirectory ?? DEFAULT_EMBEDDING_CACHE_DIRECTORY,
    () =>
      createEmbedder({ mode: 'use-lite', transformersModel: '', allowRemoteModels: false, workers: 'auto' }),
  );
  const engines = (seed: number): HybridEngines => ({
    collaborative: new PureSvdStrategy({ ...DEFAULT_PURE_SVD_OPTIONS, seed }),
    content: contentStrategyFor(options, embed),
    statistical: new StatisticalStrategy(),
  });
  const hybrid = (name: string, scope: NormalisationScope) => (context: { seed: number }) =>
    new HybridStrategy(name, engines(context.seed), scope);
  registerStrategy({
    name: 'statistical',
    description:
      'appeal = Bayesian weighted rating (m = 90th percentile of vote counts) × ln(1 + votes); same list for every user',
    create: () => new StatisticalStrategy(),
  });
  registerStrategy({
    name: 'content',
    description: 'cosine of the taste profile and use-lite embeddings of movie text (as served)',
    create: () => contentStrategyFor(options, embed),
  });
  registerStrategy({
    name: 'content-neighbours',
    description:
      "experiment, not served: average of the user's centred ratings weighted by cos^8 between embeddings",
    create: () => contentStrategyFor(options, embed, 'neighbours'),
  });
  registerStrategy({
    name: 'hybrid-content-neighbours',
    description: 'experiment, not served: as hybrid, with the content-neighbours scoring',
    create: (context) =>
      new HybridStrategy(
        'hybrid-content-neighbours',
        { ...engines(context.seed), content: contentStrategyFor(options, embed, 'neighbours') },
        'candidate-pool',
      ),
  });
  registerStrategy({
    name: 'hybrid',
    description:
      'production merge with the specified weights (0.5 PureSVD, 0.3 content, 0.2 statistical), min-max over the candidate pool',
    create: hybrid('hybrid', 'candidate-pool'),
  });
  registerStrategy({
    name: 'hybrid-all-items',
    description: 'as hybrid, but min-max over every unrated item instead of the candidate pool',
    create: hybrid('hybrid-all-items', 'all-items'),
  });
  registerStrategy({
    name: 'hybrid-tuned',
    description: 'as hybrid, with weights chosen on a validation split carved from train (0.1 grid)',
    create: (context) =>
      new TunedHybridStrategy(
        'hybrid-tuned',
        () => engines(context.seed),
        'candidate-pool',
        context.seed,
        (chosen) =>
          process.stderr.write(
            `hybrid-tuned: weights ${JSON.stringify(chosen.weights)} ` +
              `(validation ndcg@10 ${chosen.validationNdcg10.toFixed(4)})\n`,
          ),
      ),
  });
}
