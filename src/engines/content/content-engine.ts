import { DataSource } from 'typeorm';
import {
  EngineInputError,
  EngineNotReadyError,
  EngineRole,
  ShapeMemory,
  requestShape,
  withLazyDetails,
  EngineStatus,
  Evidence,
  RecommendationEngine,
  RecommendationRequest,
  ScoredMovie,
  type RatedMovieIds,
} from '../engine';
import { firstK } from '../first-k';
import type { Embedder } from './embedders/embedder';
import {
  DEFAULT_EXACT_FILTER_LIMIT,
  EmbeddingModel,
  EmbeddingStore,
  Neighbour,
  SearchTuning,
} from './embedding-store';
import type { IndexView } from './indexer';
import {
  CONTENT_SCORING,
  type ContentScoring,
  MERGED_CONTENT_SCORING,
  packRatedNeighbours,
  popularityPrior,
  RatedNeighbours,
} from './neighbour-score';
import { inThreadVoter, type NeighbourVoter } from './vote-pool';
import {
  bestByTableVote,
  CandidateScratch,
  type ContentNeighbourTable,
  emptyNeighbourTable,
  tableVoteOf,
  tableVotes,
  type TableVotes,
} from './neighbour-candidates';
import { computeTasteProfile, RatedVector, TasteProfile } from './taste-profile';
import { dot } from './vector-codec';
import { CacheCounts, newCacheCounts, Versions, VersionedCache } from '../../cache';
import { MAX_USER_STATES, RatedMovies, RatingHistorySource, SqlRatingHistory } from '../rating-history';
import { yieldToRequests } from '../../slices';
import type { Reads } from '../../db/read-routing';
import { Logger, silentLogger } from '../../logger';
import {
  vectorInIndex,
  vectorIndexBuild,
  vectorIndexBytes,
  type QueryKind,
  type VectorIndex,
  type VectorIndexEntry,
  type VectorSearchFilter,
} from './vector-index';

export interface ContentEngineOptions {
  dataSource: DataSource;
  /**
   * Owns the model and tells whether the index is complete enough to answer: the indexer where this
   * process builds it, an IndexFollower where a worker elsewhere does.
   */
  indexer: IndexView;
  /**
   * HNSW candidate list size. The default reaches recall@10 ≥ 0.95 against exact search on the
   * ml-latest-small catalog with use-lite vectors (scripts/bench-content.ts).
   */
  efSearch?: number;
  /** See SearchTuning.exactFilterLimit. */
  exactFilterLimit?: number;
  /** How many of the user's best rated movies are considered as evidence for a recommendation. */
  evidencePoolSize?: number;
  maxEvidence?: number;
  /** Search queries whose embedding is remembered (embedding a query costs more than the search). */
  queryCacheSize?: number;
  /** Shared with the other engines so a request reads the user's ratings once. */
  history?: RatingHistorySource;
  /** Where searches, vectors and users' ratings are read (see EmbeddingStore); the primary when absent. */
  reads?: Reads;
  /** The versions this instance knows (index generation, catalog); absent: a private, standalone set. */
  versions?: Versions;
  /**
   * Where scoreMovies votes (createVotePool: worker threads, CONTENT_VOTE_WORKERS); absent: in-thread.
   * The caller owns it and disposes of it.
   */
  voter?: NeighbourVoter;
  /**
   * Answer searches from an in-process index of the vectors (vector-index.ts) once it is built for
   * the current index generation; PostgreSQL's HNSW answers until then. Default false (the app
   * turns it on: CONTENT_SEARCH=memory).
   */
  memorySearch?: boolean;
  /**
   * Build the neighbour table beside the in-process index, and count votes and find lists'
   * candidates through it. Default true; false keeps the exact vote on the taste profile's
   * neighbours (scripts/content-recall.ts compares the two).
   */
  neighbourTable?: boolean;
  /** Each movie's nearest others the table keeps; default NEIGHBOURS_PER_MOVIE. */
  neighboursPerMovie?: number;
  /** Where the in-process index reports its builds. */
  logger?: Logger;
}

/** ContentEngine.searchState(): what /health says of the content engine's searches. */
export interface ContentSearchState {
  /** Where the next search runs. */
  answeredBy: 'memory' | 'postgres';
  /** CONTENT_SEARCH. */
  configured: 'memory' | 'postgres';
  /** A build of the in-process index, or of its neighbour table, is running. */
  building: boolean;
  /** The in-process index last built (null before the first); `current`: it holds the current generation. */
  index: {
    movies: number;
    /** Principal directions a search's first pass scores on (0: every query compared exactly). */
    projectedDimensions: number;
    /** Candidates the first pass keeps per kind of query, for 180 results. */
    candidates: Record<QueryKind, number>;
    mebibytes: number;
    builtAt: string;
    buildSeconds: number;
    current: boolean;
    /**
     * Each movie's nearest others (NEIGHBOURS_PER_MOVIE), where a user's list finds its candidates;
     * null while it is built (lists take the taste profile's neighbours meanwhile).
     */
    neighbourTable: { perMovie: number; builtAt: string; buildSeconds: number } | null;
  } | null;
}

export interface ContentQueryOptions {
  /** Only movies having any of these genres; empty or absent means all. */
  genres?: readonly string[];
}

export const DEFAULT_EF_SEARCH = 100;
export const MAX_LIMIT = 1000;
export const MAX_QUERY_LENGTH = 500;
const DEFAULT_EVIDENCE_POOL_SIZE = 20;
const DEFAULT_MAX_EVIDENCE = 3;
const DEFAULT_QUERY_CACHE_SIZE = 256;

interface ReadyModel {
  embedder: Embedder;
  model: EmbeddingModel;
}

interface UserTaste {
  /**
   * Computed on first use and kept: only the taste profile's neighbours (genre-filtered lists, lists
   * before the neighbour table is built, CONTENT_SEARCH=postgres) and the tasteProfile query read it.
   * Lists through the table never did, and computing it for every user was ~6% of the API thread's
   * CPU a first HYBRID list (CPU profile, ml-latest-small, 64 connections).
   */
  profile: () => Promise<TasteProfile | null>;
  /** The user's ratings the taste was computed from. */
  rated: RatedMovies;
  /** The user's best rated embedded movies, best first: what explanations may point at. */
  evidencePool: RatedVector[];
  /** Nearest neighbours of the profile per query shape (movie ids), valid as long as the taste is. */
  neighbours: ShapeMemory<Promise<number[]>>;
  /** The user's rated movies that vote on a candidate (CONTENT_SCORING); null when none is embedded. */
  voters: RatedNeighbours | null;
  /** The movie ids of `voters`' rows, in their order. */
  voterIds: Int32Array;
  /** The voters' vote through the neighbour table last used (a few thousand movies, typed arrays). */
  tableVotes: TableVotes | null;
  /**
   * The rated movies' vote on each movie scored so far, shared by both roles
   * (MERGED_CONTENT_SCORING only drops the prior): CONTENT then HYBRID votes once per candidate.
   * Only the votes are kept, not the scored movies built from them (~75 kB a user at 25M, ~180
   * candidates with their lazy explanations): with distinct users every one of those was promoted
   * and collected later, and building them again costs a map lookup each.
   */
  votes: VoteTable;
}

/**
 * Votes by movie id: a Map from id to a slot in a Float64Array. A Map of the votes themselves holds
 * each (a fraction) as a boxed number, one more object per candidate for the collector to copy and
 * promote with the user's taste.
 */
export class VoteTable {
  private readonly slots = new Map<number, number>();
  private values = new Float64Array(64);

  has(movieId: number): boolean {
    return this.slots.has(movieId);
  }

  get(movieId: number): number | undefined {
    const slot = this.slots.get(movieId);
    return slot === undefined ? undefined : this.values[slot];
  }

  set(movieId: number, vote: number): void {
    let slot = this.slots.get(movieId);
    if (slot === undefined) {
      slot = this.slots.size;
      this.slots.set(movieId, slot);
      if (slot === this.values.length) {
        const grown = new Float64Array(2 * slot);
        grown.set(this.values);
        this.values = grown;
      }
    }
    this.values[slot] = vote;
  }
}

/**
 * A candidate's score costs one dot product per voting movie (~0.5 µs at 512 dimensions): the
 * latest this many of a user's ratings vote, which bounds a heavy user's first request (2,698
 * ratings on ml-latest-small) at ~150 candidates × 300 × 512 multiply-adds. Below it (the median
 * user has 72 ratings) serving scores exactly as the evaluation does.
 */
export const MAX_VOTING_RATINGS = 300;

/** The candidates voted on per wanted movie: the vote re-ranks them. */
export const CANDIDATES_PER_RESULT = 3;

/**
 * Each movie's nearest others kept in the neighbour table, through which a user's vote is counted
 * (tableVotes): its candidates are the movies it reaches highest, and every movie is scored by it.
 * Two choices, each on the validation splits of ml-100k u1..u5 only (seed 42, `npm run evaluate --
 * … --validation-only`), with the candidates and sizes fixed before running.
 *
 * Scoring through the table (no dot products) against the exact vote over every rated movie, both
 * on the table's candidates, the rule: the smallest table whose mean NDCG@10 is within 0.0005 of
 * the exact vote's in HYBRID and alone. HYBRID 0.2178, 0.2066, 0.2052, 0.2004, 0.2147 (mean
 * 0.20894) exact; through 10 neighbours 0.2202, 0.2076, 0.2042, 0.2026, 0.2159 (0.21010); 50
 * 0.21012; 100 0.21056. CONTENT 0.10390 exact; 0.10406, 0.10440, 0.10464. A sparser vote ranked no
 * worse: 10, for the same table as the candidates. At 25M it cut a first HYBRID list's CPU from
 * ~7.3 to ~4.6 ms (README, Performance).
 *
 * The candidates, with the exact vote, before that: the taste profile's nearest neighbours,
 * which lists took before, held 17.1% of the vote's own top 50 in HYBRID on ml-latest-small, the
 * table 56.8% (scripts/content-recall.ts, 120 users; 20, 40, 80 neighbours: 71.3, 83.6, 89.6%).
 * On the validation splits of ml-100k u1..u5 (seed 42, `npm run evaluate -- … --strategies
 * content-served,hybrid-served --validation-only`, the served strategies with each table size),
 * HYBRID's NDCG@10 with the taste profile's 150 0.2165, 0.2057, 0.2032, 0.1997, 0.2144 (mean
 * 0.20790); through 10 neighbours a movie 0.2178, 0.2066, 0.2052, 0.2004, 0.2147 (0.20894); 20
 * 0.20910; 40 0.20914; content's votes on every movie 0.20924. CONTENT alone 0.10370 → 0.10390,
 * 0.10386, 0.10384. Means within 0.0005 were to count as a tie, won by the smaller table: 10.
 */
export const NEIGHBOURS_PER_MOVIE = 10;

/**
 * Movies per call of the table's build: ~10 ms of search at 62K movies, so a vote queued behind a
 * call on the worker waits little, and so does a request where the search runs in this thread (no
 * worker: CONTENT_VOTE_WORKERS=0, or a pool that stopped).
 */
const NEIGHBOUR_ROWS_PER_CALL = 16;

/**
 * The most rated movies a user has not rated, voted on beside the taste profile's neighbours when
 * the engine ranks alone: its score adds a popularity prior, and the best-scored movies are often
 * popular ones far from the profile. The evaluation's `content` votes on every movie. On the
 * validation splits of ml-100k u1..u5 (seed 42, `npm run evaluate -- … --strategies
 * popularity,content,content-served --validation-only`), NDCG@10 voting on every movie 0.1039,
 * 0.0958, 0.1012, 0.1020, 0.1163; on the 150 neighbours of a list of up to 16 alone 0.0786, 0.0790,
 * 0.0769, 0.0781, 0.0831, below popularity's 0.1001, 0.0936, 0.0968, 0.0981, 0.1086 (500 neighbours:
 * 0.0895, 0.0810 on u1, u2); with the 50 most rated too 0.1031, 0.0958, 0.1012, 0.1019, 0.1165, and
 * with 100 a mean 0.0001 higher: 50, for a third fewer extra votes.
 */
export const POPULAR_CANDIDATES = 50;

/** Per-movie rating counts, their maximum, and the movie ids from the most rated down. */
interface PopularityCounts {
  votes: Map<number, number>;
  max: number;
  mostRated: Int32Array;
}

/** How the engine scores in a role: alone with the popularity prior, in HYBRID by the vote alone. */
function scoringFor(role: EngineRole): ContentScoring {
  return role === 'merged' ? MERGED_CONTENT_SCORING : CONTENT_SCORING;
}

/** Movie vectors kept in memory at most (ML-32M has 87,585 movies). */
const MAX_CACHED_VECTORS = 200_000;

/** After a failed build of the in-process search index, requests start no other for this long. */
const MEMORY_INDEX_RETRY_MS = 60_000;

/** How long the per-movie rating counts behind the popularity prior are reused. */
export const POPULARITY_TTL_MS = 60_000;

function validateLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new EngineInputError(`limit must be a whole number between 1 and ${MAX_LIMIT}, got ${limit}`);
}

function validateId(kind: 'movie' | 'user', id: number): void {
  if (!Number.isInteger(id) || id < 1)
    throw new EngineInputError(`${kind} id must be a positive integer, got ${id}`);
}

function cleanGenres(genres: readonly string[] | undefined): string[] {
  return [...new Set((genres ?? []).map((genre) => genre.trim()).filter((genre) => genre !== ''))];
}

/** Cosine similarity from pgvector's cosine distance. */
function similarity(neighbour: Neighbour): number {
  return 1 - neighbour.distance;
}

/**
 * Content-based recommendations over movie text embeddings: similar movies, free-text search and a taste
 * profile built from the user's ratings, all answered by nearest-neighbour search in pgvector.
 */
export class ContentEngine implements RecommendationEngine {
  readonly name = 'content' as const;
  private readonly store: EmbeddingStore;
  private readonly indexer: IndexView;
  private readonly tuning: SearchTuning;
  private readonly evidencePoolSize: number;
  private readonly maxEvidence: number;
  private readonly queryCacheSize: number;
  /** Query embeddings by model and text: they depend on nothing else. */
  private readonly queryCache: VersionedCache<string, Float32Array>;
  /** Movie vectors, valid for one index generation (indexGeneration). */
  private readonly vectorCache: VersionedCache<number, Float32Array>;
  /** By user, valid for one index generation and one ratings version. */
  private readonly recentTastes: VersionedCache<number, Promise<UserTaste | null>>;
  private readonly history: RatingHistorySource;
  private readonly versions: Versions;
  private readonly voter: NeighbourVoter;
  /** Hits and misses of its caches, for /metrics: taste profiles, and the neighbours kept with them. */
  readonly cacheCounts: { taste: CacheCounts; neighbours: CacheCounts };
  /** The in-process search index, the generation (memoryGeneration) it holds, and its build. */
  private memory: {
    generation: string;
    index: VectorIndex;
    builtAt: Date;
    buildSeconds: number;
    /** Built after the index, in the background; null until then. */
    neighbours: {
      table: ContentNeighbourTable;
      scratch: CandidateScratch;
      builtAt: Date;
      buildSeconds: number;
    } | null;
  } | null = null;
  private memoryBuild: Promise<VectorIndex | null> | null = null;
  private neighbourBuild: Promise<void> | null = null;
  /** Set by stopBackgroundWork: no build starts or goes on. */
  private stopped = false;
  private memoryRetryAt = 0;
  private readonly memorySearch: boolean;
  private readonly useNeighbourTable: boolean;
  private readonly neighboursPerMovie: number;
  private readonly logger: Logger;
  /** Per-movie rating counts: everybody's ratings, so they age (POPULARITY_TTL_MS). */
  private readonly popularity: VersionedCache<'all', PopularityCounts>;

  constructor(options: ContentEngineOptions) {
    this.store = new EmbeddingStore(options.dataSource, options.reads);
    this.indexer = options.indexer;
    this.tuning = {
      efSearch: options.efSearch ?? DEFAULT_EF_SEARCH,
      exactFilterLimit: options.exactFilterLimit ?? DEFAULT_EXACT_FILTER_LIMIT,
    };
    this.evidencePoolSize = options.evidencePoolSize ?? DEFAULT_EVIDENCE_POOL_SIZE;
    this.maxEvidence = options.maxEvidence ?? DEFAULT_MAX_EVIDENCE;
    this.queryCacheSize = options.queryCacheSize ?? DEFAULT_QUERY_CACHE_SIZE;
    this.history = options.history ?? new SqlRatingHistory(options.dataSource, options.reads);
    this.versions = options.versions ?? new Versions();
    this.voter = options.voter ?? inThreadVoter;
    this.memorySearch = options.memorySearch ?? false;
    this.useNeighbourTable = options.neighbourTable ?? true;
    this.neighboursPerMovie = options.neighboursPerMovie ?? NEIGHBOURS_PER_MOVIE;
    this.logger = options.logger ?? silentLogger;
    const versions = this.versions;
    this.queryCache = new VersionedCache({ max: this.queryCacheSize });
    this.vectorCache = new VersionedCache({ max: MAX_CACHED_VECTORS, versions });
    this.recentTastes = new VersionedCache({ max: MAX_USER_STATES, versions });
    this.cacheCounts = { taste: this.recentTastes.counts, neighbours: newCacheCounts() };
    this.popularity = new VersionedCache({ max: 1, versions, maxAgeMs: POPULARITY_TTL_MS, now: Date.now });
    const { efSearch } = this.tuning;
    if (!Number.isInteger(efSearch) || efSearch < 1 || efSearch > 1000)
      throw new RangeError(`efSearch must be between 1 and 1000, got ${efSearch}`);
  }

  status(): EngineStatus {
    const progress = this.indexer.progress();
    if (progress.complete) return { ready: true };
    switch (progress.state) {
      case 'idle':
        return { ready: false, reason: 'index not built yet', progress: 0 };
      case 'loading-model':
        return { ready: false, reason: 'loading embedding model', progress: 0 };
      case 'failed':
        return { ready: false, reason: `index build failed: ${progress.error ?? 'unknown error'}` };
      default:
        return {
          ready: false,
          reason: `index building: ${Math.floor(progress.fraction * 100)}%`,
          progress: progress.fraction,
        };
    }
  }

  private requireReady(): ReadyModel {
    const status = this.status();
    const embedder = this.indexer.activeEmbedder();
    if (!status.ready || !embedder) {
      const reason = status.ready ? 'loading embedding model' : status.reason;
      throw new EngineNotReadyError('content', reason, status.ready ? undefined : status.progress);
    }
    return { embedder, model: { modelId: embedder.modelId, dimension: embedder.dimension } };
  }

  /** Movies closest in content to `movieId`, the movie itself excluded, best first. */
  async similarMovies(
    movieId: number,
    limit: number,
    options: ContentQueryOptions = {},
  ): Promise<ScoredMovie[]> {
    validateId('movie', movieId);
    validateLimit(limit);
    const { model } = this.requireReady();
    const memory = this.memoryIndex(model.modelId);
    const fromMemory = memory && this.similarInMemory(memory, movieId, limit, options.genres);
    if (fromMemory) return fromMemory;
    const source = await this.store.embeddingOf(movieId, model.modelId);
    if (!source.movieExists) throw new EngineInputError(`movie ${movieId} does not exist`, 'NOT_FOUND');
    if (source.vector === null)
      throw new EngineNotReadyError('content', `movie ${movieId} is not in the content index yet`);
    const { neighbours } = await this.store.nearest(
      { model, vector: source.vector, limit, genres: cleanGenres(options.genres), excludeIds: [movieId] },
      this.tuning,
    );
    return neighbours.map((neighbour) => ({ movieId: neighbour.movieId, score: similarity(neighbour) }));
  }

  /**
   * similarMovies for several movies in one statement. Movies that do not exist or are not embedded yet are
   * left out of the map (callers check existence themselves, as a page of movies has already loaded them).
   */
  async similarMoviesBatch(
    movieIds: readonly number[],
    limit: number,
    options: ContentQueryOptions = {},
  ): Promise<Map<number, ScoredMovie[]>> {
    for (const movieId of movieIds) validateId('movie', movieId);
    validateLimit(limit);
    const { model } = this.requireReady();
    const memory = this.memoryIndex(model.modelId);
    if (memory) {
      const distinct = [...new Set(movieIds)];
      const similar = await Promise.all(
        distinct.map((movieId) => this.similarInMemory(memory, movieId, limit, options.genres)),
      );
      const found = new Map<number, ScoredMovie[]>();
      distinct.forEach((movieId, n) => {
        const list = similar[n];
        if (list) found.set(movieId, list);
      });
      return found;
    }
    const neighbours = await this.store.nearestToMovies(
      { model, movieIds: [...new Set(movieIds)], limit, genres: cleanGenres(options.genres) },
      this.tuning,
    );
    return new Map(
      [...neighbours].map(([movieId, found]) => [
        movieId,
        found.map((neighbour) => ({ movieId: neighbour.movieId, score: similarity(neighbour) })),
      ]),
    );
  }

  /** Movies whose text is closest in meaning to a free-text query ("space adventure with aliens"). */
  async search(query: string, limit: number, options: ContentQueryOptions = {}): Promise<ScoredMovie[]> {
    const text = typeof query === 'string' ? query.trim() : '';
    if (text === '') throw new EngineInputError('the search query is empty');
    if (text.length > MAX_QUERY_LENGTH)
      throw new EngineInputError(`the search query is longer than ${MAX_QUERY_LENGTH} characters`);
    validateLimit(limit);
    const { embedder, model } = this.requireReady();
    const vector = await this.embedQuery(embedder, text);
    const memory = this.memoryIndex(model.modelId);
    if (memory) return this.searchInMemory(memory, vector, limit, 'text', options.genres);
    const { neighbours } = await this.store.nearest(
      { model, vector, limit, genres: cleanGenres(options.genres) },
      this.tuning,
    );
    return neighbours.map((neighbour) => ({ movieId: neighbour.movieId, score: similarity(neighbour) }));
  }

  /**
   * On the vote pool's worker, as the taste profile's search (the same hits bit for bit; in this
   * thread when no worker can take it). One search is small, but under load the API thread queued
   * them while the second core had room: at 25M, 16 connections, five rounds each in turns on a warm
   * server (2026-12-07, load average 0.7–1.3), search 382 → 557 req/s (means; p99 median 88 → 50
   * ms), similarMovies 389 → 465 req/s (p99 median 93 either way), for ~0.3 ms more CPU a request.
   */
  private async searchInMemory(
    index: VectorIndex,
    vector: Float32Array,
    limit: number,
    kind: QueryKind,
    genres: readonly string[] | undefined,
    exclude?: ReadonlySet<number>,
  ): Promise<ScoredMovie[]> {
    const hits = await this.voter.nearest(index, vector, limit, {
      ...this.memoryFilter(kind, genres),
      exclude,
    });
    return hits.map((hit) => ({ movieId: hit.movieId, score: hit.similarity }));
  }

  private memoryFilter(kind: QueryKind, genres: readonly string[] | undefined): VectorSearchFilter {
    return {
      genres: cleanGenres(genres),
      kind,
      exactFilterLimit: this.tuning.exactFilterLimit,
      // Only the taste profile's candidates are not reported: the vote scores them.
      float32Similarities: kind === 'taste',
    };
  }

  /** similarMovies from the in-process index; null when the movie is not in it. */
  private similarInMemory(
    index: VectorIndex,
    movieId: number,
    limit: number,
    genres: readonly string[] | undefined,
  ): Promise<ScoredMovie[]> | null {
    const vector = vectorInIndex(index, movieId);
    return vector ? this.searchInMemory(index, vector, limit, 'movie', genres, new Set([movieId])) : null;
  }

  /** The generation the in-process index must have been built at: the index's, and the catalog's. */
  private memoryGeneration(modelId: string): string {
    return `${this.indexGeneration(modelId)}|${this.versions.catalog}`;
  }

  /**
   * The in-process index when it holds the current generation; otherwise null (PostgreSQL answers)
   * and, once the content index is complete, a build in the background.
   */
  private memoryIndex(modelId: string): VectorIndex | null {
    if (!this.memorySearch) return null;
    if (this.memoryIsCurrent(modelId)) return this.memory!.index;
    this.keepMemoryIndexCurrent();
    return null;
  }

  /** Whether the in-process index was built at the current generation. */
  private memoryIsCurrent(modelId: string): boolean {
    return this.memory !== null && this.memory.generation === this.memoryGeneration(modelId);
  }

  /**
   * Where content searches run, for /health: `postgres` (CONTENT_SEARCH=postgres, or until the
   * in-process index holds the current generation) or `memory`, with the index last built.
   */
  searchState(): ContentSearchState {
    const embedder = this.indexer.activeEmbedder();
    const current = embedder !== null && this.memoryIsCurrent(embedder.modelId);
    const built = this.memory;
    return {
      // Only CONTENT_SEARCH=memory builds an index, so a current one means it answers.
      answeredBy: current ? 'memory' : 'postgres',
      configured: this.memorySearch ? 'memory' : 'postgres',
      building: this.memoryBuild !== null || this.neighbourBuild !== null,
      index: built
        ? {
            movies: built.index.size,
            projectedDimensions: built.index.projectedDimension,
            candidates: { ...built.index.candidates },
            mebibytes: Math.round(vectorIndexBytes(built.index) / 2 ** 20),
            builtAt: built.builtAt.toISOString(),
            buildSeconds: Number(built.buildSeconds.toFixed(1)),
            current,
            neighbourTable: built.neighbours
              ? {
                  perMovie: built.neighbours.table.perMovie,
                  builtAt: built.neighbours.builtAt.toISOString(),
                  buildSeconds: Number(built.neighbours.buildSeconds.toFixed(1)),
                }
              : null,
          }
        : null,
    };
  }

  /**
   * Starts a build of the in-process search index when it is wanted and out of date (none running,
   * the content index complete, no failure in the last minute); a no-op otherwise. Called by
   * searches, and by whatever learns that the index changed (the follower's poll, the indexer).
   */
  keepMemoryIndexCurrent(): void {
    if (!this.memorySearch || this.stopped || this.memoryBuild || Date.now() < this.memoryRetryAt) return;
    const embedder = this.indexer.activeEmbedder();
    if (!embedder || !this.indexer.progress().complete || this.memoryIsCurrent(embedder.modelId)) return;
    void this.prepareMemoryIndex();
  }

  /**
   * Builds the in-process index for the current generation (one build at a time; a build whose
   * generation moved on while it ran is dropped, and the next request starts another). The
   * vectors are read through the vector cache, page by page, and the principal directions, the
   * projections and the calibration run in slices between requests. Resolves to the index, or null
   * when it could not be built.
   */
  prepareMemoryIndex(): Promise<VectorIndex | null> {
    this.memoryBuild ??= this.buildMemoryIndex()
      .catch((error: unknown) => {
        // Requests go on to PostgreSQL; the next attempt waits, so a lasting fault logs once a minute.
        this.memoryRetryAt = Date.now() + MEMORY_INDEX_RETRY_MS;
        this.logger.warn(`content search index in memory: build failed: ${String(error)}`);
        return null;
      })
      .finally(() => {
        this.memoryBuild = null;
      });
    return this.memoryBuild;
  }

  private async buildMemoryIndex(): Promise<VectorIndex | null> {
    const embedder = this.indexer.activeEmbedder();
    if (!embedder || !this.indexer.progress().complete) return null;
    const modelId = embedder.modelId;
    if (this.memoryIsCurrent(modelId)) return this.memory!.index;
    const generation = this.memoryGeneration(modelId);
    const started = Date.now();
    const ids = await this.store.embeddedMovieIds(modelId);
    const entries: VectorIndexEntry[] = [];
    const pageSize = 2000;
    for (let start = 0; start < ids.length; start += pageSize) {
      const page = ids.slice(start, start + pageSize);
      const [vectors, genres] = await Promise.all([
        this.cachedVectors(page, modelId),
        this.store.genresOf(page),
      ]);
      for (const movieId of page) {
        const vector = vectors.get(movieId);
        if (vector && vector.length === embedder.dimension)
          entries.push({ movieId, vector, genres: genres.get(movieId) ?? [] });
      }
    }
    const build = vectorIndexBuild(entries);
    let step = build.next();
    while (!step.done) {
      // About 10 ms of work, then requests waiting on the event loop go first.
      const sliceEnd = performance.now() + 10;
      while (!step.done && performance.now() < sliceEnd) step = build.next();
      if (!step.done) await yieldToRequests();
    }
    const index = step.value;
    if (this.memoryGeneration(modelId) !== generation) return null;
    const buildSeconds = (Date.now() - started) / 1000;
    const memory = { generation, index, builtAt: new Date(), buildSeconds, neighbours: null };
    this.memory = memory;
    // While the index is current, vectors are read from it (cachedVectors), and after any change
    // the cache's entries are outdated too: the copies read for the build are let go, so the vectors
    // are held once.
    this.vectorCache.clear();
    this.logger.info(
      `content search index in memory: ${index.size} movies, ` +
        `${index.projected === null ? 'exact scans' : `a first pass on ${index.projectedDimension} directions (${(100 * index.capturedEnergy).toFixed(1)}% of the rows' energy) keeping ${index.candidates.movie} / ${index.candidates.taste} / ${index.candidates.text} candidates per similar-movies / taste-profile / text query (calibrated: recall ≥ ${index.calibratedRecall.toFixed(3)} at 10 and ${index.calibrationN})`}, ` +
        `${Math.round(vectorIndexBytes(index) / 2 ** 20)} MiB, built in ${buildSeconds.toFixed(1)} s`,
    );
    if (!this.useNeighbourTable) return index;
    const neighbourBuild = this.buildNeighbourTable(memory)
      .catch((error: unknown) =>
        // Lists go on taking the taste profile's neighbours; the next index builds another table.
        this.logger.warn(`content neighbour table: build failed: ${String(error)}`),
      )
      .finally(() => {
        if (this.neighbourBuild === neighbourBuild) this.neighbourBuild = null;
      });
    this.neighbourBuild = neighbourBuild;
    return index;
  }

  /**
   * Each movie's `neighboursPerMovie` nearest others, searched on the vote worker a range at a
   * time, and set on `memory` once complete; dropped when another index replaced it meanwhile.
   */
  private async buildNeighbourTable(memory: NonNullable<typeof this.memory>): Promise<void> {
    const { index } = memory;
    const started = Date.now();
    const perMovie = this.neighboursPerMovie;
    const table = emptyNeighbourTable(index.size, perMovie);
    for (let from = 0; from < index.size; from += NEIGHBOUR_ROWS_PER_CALL) {
      if (this.memory !== memory || this.stopped) return;
      const to = Math.min(index.size, from + NEIGHBOUR_ROWS_PER_CALL);
      const rows = await this.voter.neighbourRows(index, from, to, perMovie);
      table.neighbours.set(rows.neighbours, from * perMovie);
      table.similarities.set(rows.similarities, from * perMovie);
      // An in-thread answer resolves at once: without this the whole build would hold the event loop.
      await yieldToRequests();
    }
    if (this.memory !== memory) return;
    const buildSeconds = (Date.now() - started) / 1000;
    memory.neighbours = {
      table,
      scratch: new CandidateScratch(index.size),
      builtAt: new Date(),
      buildSeconds,
    };
    this.logger.info(
      `content neighbour table: ${index.size} movies × ${perMovie} neighbours, ` +
        `${Math.round((table.neighbours.byteLength + table.similarities.byteLength) / 2 ** 20)} MiB, built in ${buildSeconds.toFixed(1)} s`,
    );
  }

  /**
   * The user's vote through the current neighbour table, with the in-process index its positions
   * are of; null while there is no table (the exact vote scores then).
   */
  private votesThroughTable(
    modelId: string,
    taste: UserTaste,
  ): { index: VectorIndex; votes: TableVotes } | null {
    const memory = this.memoryIsCurrent(modelId) ? this.memory : null;
    const neighbours = memory?.neighbours;
    const voters = taste.voters;
    if (!memory || !neighbours || !voters) return null;
    const { index } = memory;
    if (taste.tableVotes?.table !== neighbours.table) {
      const positions: number[] = [];
      const weights: number[] = [];
      taste.voterIds.forEach((movieId, j) => {
        const position = index.positionOf.get(movieId);
        if (position === undefined) return;
        positions.push(position);
        weights.push(voters.weights[j]);
      });
      taste.tableVotes = tableVotes(
        neighbours.table,
        positions,
        weights,
        CONTENT_SCORING.exponent,
        neighbours.scratch,
      );
    }
    return { index, votes: taste.tableVotes };
  }

  /**
   * The `limit` movies the user's vote reaches highest through the neighbour table (movie ids), or
   * null when there is no current table to ask.
   */
  private tableCandidates(
    modelId: string,
    taste: UserTaste,
    limit: number,
    extraExclusions: readonly number[],
  ): number[] | null {
    const through = this.votesThroughTable(modelId, taste);
    if (!through) return null;
    const { index, votes } = through;
    const extra = extraExclusions.length > 0 ? new Set(extraExclusions) : null;
    const found = bestByTableVote(
      votes,
      limit,
      (position) => taste.rated.has(index.ids[position]) || (extra?.has(index.ids[position]) ?? false),
    );
    return Array.from(found, (position) => index.ids[position]);
  }

  private async embedQuery(embedder: Embedder, text: string): Promise<Float32Array> {
    const key = `${embedder.modelId}\u0000${text}`;
    return this.queryCache.getOrLoad(key, 0, async () => (await embedder.embed([text]))[0]);
  }

  /**
   * The user's taste in embedding space: Σ (rating − the user's mean rating) · embedding over the movies
   * they rated, normalised (see computeTasteProfile, its reference implementation). Null when none of their
   * rated movies is embedded.
   */
  async tasteProfile(userId: number): Promise<TasteProfile | null> {
    validateId('user', userId);
    const { model } = this.requireReady();
    return (await (await this.userTaste(userId, model))?.profile()) ?? null;
  }

  /**
   * The user's taste, reused while the index generation and their ratings version are the same:
   * one hybrid request needs it twice (recommend, then scoreMovies for the other engines' candidates).
   */
  private async userTaste(userId: number, model: EmbeddingModel): Promise<UserTaste | null> {
    const catalog = this.recentTastes.catalog();
    const history = await this.history.historyOf(userId);
    // A re-embedded movie changes the profile and the scores remembered with it.
    const version = `${this.indexGeneration(model.modelId)}|${history.version}`;
    const cached = this.recentTastes.get(userId, version);
    if (cached) return cached;
    const taste = this.computeUserTaste(userId, history.ratings, model);
    this.recentTastes.set(userId, taste, version, { catalog });
    taste.catch(() => this.recentTastes.delete(userId));
    return taste;
  }

  /**
   * Changes whenever the index does: another model, a batch of vectors written by any process (the
   * index generation notice), or a run of this process's indexer.
   */
  private indexGeneration(modelId: string): string {
    const progress = this.indexer.progress();
    return `${modelId}:${this.versions.index}:${progress.state}:${progress.embedded}:${progress.done}:${progress.generation ?? 0}`;
  }

  /** What this engine's answers are computed from: the index generation ('' until it can answer). */
  servingVersion(): string {
    const embedder = this.indexer.activeEmbedder();
    return embedder ? this.indexGeneration(embedder.modelId) : '';
  }

  /**
   * Movie vectors kept in memory (≈2 KB each, 20 MB for ten thousand 512-d movies): the hybrid
   * merge scores a hundred or more candidates per request, and shipping their vectors from
   * Postgres each time costs more than the rest of the request. Vectors are valid for the index
   * generation they were read in (another model, or vectors written anywhere, outdates them).
   */
  private async cachedVectors(
    movieIds: readonly number[],
    modelId: string,
  ): Promise<Map<number, Float32Array>> {
    const found = new Map<number, Float32Array>();
    // The in-process index holds every vector of its generation: no cache entry to look up.
    if (this.memoryIsCurrent(modelId)) {
      const { index } = this.memory!;
      for (const id of movieIds) {
        const vector = vectorInIndex(index, id);
        if (vector) found.set(id, vector);
      }
      return found;
    }
    const generation = this.indexGeneration(modelId);
    const missing: number[] = [];
    for (const id of movieIds) {
      const vector = this.vectorCache.get(id, generation);
      if (vector) found.set(id, vector);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const catalog = this.vectorCache.catalog();
      for (const [id, vector] of await this.store.vectorsOf(missing, modelId)) {
        this.vectorCache.set(id, vector, generation, { catalog });
        found.set(id, vector);
      }
    }
    return found;
  }

  /**
   * Loads every movie's vector into the in-memory cache, a page at a time so requests interleave:
   * a user's first request otherwise fetched (and parsed) the vectors of a hundred or more
   * candidates. Returns how many vectors the cache holds.
   */
  async preloadVectors(pageSize = 500): Promise<number> {
    const { model } = this.requireReady();
    const ids = await this.store.embeddedMovieIds(model.modelId);
    for (let start = 0; start < ids.length; start += pageSize)
      await this.cachedVectors(ids.slice(start, start + pageSize), model.modelId);
    return this.vectorCache.size;
  }

  /**
   * Stops the background builds (the in-process index is not started again, the neighbour table's
   * build ends at its next call) and settles when the table's has: the service calls it on
   * shutdown, before it disposes of the vote pool, whose calls would otherwise be answered in the
   * API's thread for the rest of the build.
   */
  async stopBackgroundWork(): Promise<void> {
    this.stopped = true;
    await this.neighbourBuild;
  }

  /** Settles once the neighbour table of the current in-process index is built (or its build ends). */
  async neighbourTableBuilt(): Promise<void> {
    await this.neighbourBuild;
  }

  /** Drops the user's taste (their ratings changed here); the version check alone would also catch it. */
  forgetUser(userId: number): void {
    this.recentTastes.delete(userId);
  }

  /**
   * computeTasteProfile over the in-memory vectors of the user's rated movies: no round trip once
   * the vectors are cached, where computing the profile in SQL (tasteProfileInSql) costs two.
   */
  private async computeUserTaste(
    userId: number,
    history: RatedMovies,
    model: EmbeddingModel,
  ): Promise<UserTaste | null> {
    if (history.size === 0) {
      if (!(await this.store.userExists(userId)))
        throw new EngineInputError(`user ${userId} does not exist`, 'NOT_FOUND');
      return null;
    }
    const { movieIds, stars, ratedAt } = history;
    const vectorOf = await this.vectorLookup(movieIds, model.modelId);
    // Positions in the history, not an object per rated movie: only the latest MAX_VOTING_RATINGS and
    // the evidence pool are needed as objects. An object and a map entry per rating were ~13% of the
    // API thread for users with more than 1,500 ratings at 25M (CPU profile of 300 first HYBRID lists).
    const embedded: number[] = [];
    for (let n = 0; n < movieIds.length; n++) if (vectorOf(movieIds[n])) embedded.push(n);
    if (embedded.length === 0) return null;
    const userMean = history.starSum() / history.size;
    const ratedVector = (n: number): RatedVector => ({
      movieId: movieIds[n],
      rating: stars[n],
      vector: vectorOf(movieIds[n]) as Float32Array,
    });
    const latest = firstK(
      embedded,
      MAX_VOTING_RATINGS,
      (a, b) => ratedAt[b] - ratedAt[a] || movieIds[a] - movieIds[b],
    );
    const voters = packRatedNeighbours(latest.map(ratedVector), userMean);
    const voterIds = Int32Array.from(latest, (n) => movieIds[n]);
    const best = firstK(
      embedded,
      this.evidencePoolSize,
      (a, b) => stars[b] - stars[a] || ratedAt[b] - ratedAt[a] || movieIds[a] - movieIds[b],
    ).map(ratedVector);
    // Movies above the user's own mean are the ones they liked.
    const liked = best.filter((movie) => movie.rating > userMean);
    let profile: Promise<TasteProfile | null> | null = null;
    return {
      profile: () => (profile ??= this.tasteProfileOf(history, userMean, model.modelId)),
      rated: history,
      evidencePool: liked.length > 0 ? liked : best,
      neighbours: new ShapeMemory(this.cacheCounts.neighbours),
      voters,
      voterIds,
      tableVotes: null,
      votes: new VoteTable(),
    };
  }

  /**
   * Where the vectors of the given movies are: the in-process index when current (no copy, no map),
   * else the vector cache, filled from PostgreSQL for those missing.
   */
  private async vectorLookup(
    movieIds: ArrayLike<number>,
    modelId: string,
  ): Promise<(movieId: number) => Float32Array | undefined> {
    if (this.memoryIsCurrent(modelId)) {
      const { index } = this.memory!;
      return (movieId) => vectorInIndex(index, movieId);
    }
    const vectors = await this.cachedVectors(Array.from(movieIds), modelId);
    return (movieId) => vectors.get(movieId);
  }

  /** computeTasteProfile over the user's embedded rated movies. */
  private async tasteProfileOf(
    history: RatedMovies,
    userMean: number,
    modelId: string,
  ): Promise<TasteProfile | null> {
    const vectorOf = await this.vectorLookup(history.movieIds, modelId);
    const rated: RatedVector[] = [];
    for (let n = 0; n < history.size; n++) {
      const vector = vectorOf(history.movieIds[n]);
      if (vector) rated.push({ movieId: history.movieIds[n], rating: history.stars[n], vector });
    }
    return computeTasteProfile(rated, userMean);
  }

  /**
   * `ids` and, where the engine ranks alone with its popularity prior and no genre is asked for,
   * the POPULAR_CANDIDATES most rated movies the user has not rated nor excluded.
   */
  private async withPopular(
    ids: readonly number[],
    role: EngineRole | undefined,
    genres: readonly string[],
    rated: RatedMovieIds,
    extraExclusions: readonly number[],
  ): Promise<readonly number[]> {
    if (scoringFor(role ?? 'alone').popularityWeight <= 0 || genres.length > 0) return ids;
    const { mostRated } = await this.popularityCounts();
    const excluded = new Set(extraExclusions);
    const chosen = new Set(ids);
    let added = 0;
    for (let i = 0; i < mostRated.length && added < POPULAR_CANDIDATES; i++) {
      const movieId = mostRated[i];
      if (rated.has(movieId) || excluded.has(movieId)) continue;
      added++;
      chosen.add(movieId);
    }
    return chosen.size === ids.length ? ids : [...chosen];
  }

  /**
   * Per-movie rating counts, their maximum and ranking, re-read in the background once older than
   * POPULARITY_TTL_MS.
   */
  private popularityCounts(): Promise<PopularityCounts> {
    return this.popularity.getOrLoad(
      'all',
      0,
      async () => {
        const votes = await this.store.ratingCounts();
        let max = 0;
        for (const count of votes.values()) if (count > max) max = count;
        const mostRated = Int32Array.from(
          [...votes].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([movieId]) => movieId),
        );
        return { votes, max, mostRated };
      },
      { staleWhileRevalidate: true },
    );
  }

  /**
   * The candidate's score from its vote: plus the popularity prior when the engine ranks alone
   * (CONTENT_SCORING); the vote only as one of HYBRID's engines (MERGED_CONTENT_SCORING), where the
   * statistical engine brings popularity.
   */
  private scoreWithVote(
    movieId: number,
    vote: number,
    popularity: PopularityCounts | null,
    role: EngineRole,
  ): number {
    const { popularityWeight } = scoringFor(role);
    return popularityWeight > 0 && popularity
      ? vote + popularityWeight * popularityPrior(popularity.votes.get(movieId) ?? 0, popularity.max)
      : vote;
  }

  /** The user's liked movies most similar to the candidate, most similar first. */
  private evidenceFor(candidate: Float32Array, pool: readonly RatedVector[]): Evidence[] {
    return pool
      .map((movie) => ({
        movieId: movie.movieId,
        rating: movie.rating,
        weight: dot(candidate, movie.vector),
      }))
      .filter((evidence) => evidence.weight > 0)
      .sort((a, b) => b.weight - a.weight || a.movieId - b.movieId)
      .slice(0, this.maxEvidence);
  }

  private scored(movieId: number, score: number, vector: Float32Array, taste: UserTaste): ScoredMovie {
    return withLazyDetails({ movieId, score }, () => {
      const evidence = this.evidenceFor(vector, taste.evidencePool);
      return {
        evidence,
        reason:
          evidence.length > 0
            ? 'similar in content to movies you rated highly'
            : 'close to the overall content of your ratings',
      };
    });
  }

  /**
   * CANDIDATES_PER_RESULT candidates per wanted movie, without movies the user rated or `exclude`,
   * ranked by CONTENT_SCORING (the vote of the user's rated movies plus the popularity prior), or in
   * HYBRID by MERGED_CONTENT_SCORING (the vote alone). The candidates: those the vote reaches
   * highest through the neighbour table, where one is built and no genre is asked for; otherwise
   * the nearest neighbours of the user's taste profile (in memory, or pgvector's HNSW).
   */
  async recommend(request: RecommendationRequest): Promise<ScoredMovie[]> {
    validateId('user', request.userId);
    validateLimit(request.limit);
    const { model } = this.requireReady();
    const taste = await this.userTaste(request.userId, model);
    if (!taste) return [];
    const genres = cleanGenres(request.genres);
    const { key, extraExclusions } = requestShape(request, genres, taste.rated);
    let found = taste.neighbours.get(key);
    const limit = Math.min(MAX_LIMIT, request.limit * CANDIDATES_PER_RESULT);
    const fromTable =
      found || genres.length > 0 ? null : this.tableCandidates(model.modelId, taste, limit, extraExclusions);
    if (fromTable) {
      found = Promise.resolve(fromTable);
      taste.neighbours.set(key, found);
    } else if (!found) {
      const memory = this.memoryIndex(model.modelId);
      // Their order and distances are not needed: the vote scores each of them. Vectors are not
      // shipped back from PostgreSQL: the in-memory cache has them, and they are 2 kB a movie.
      // In memory, on the vote pool's worker (the same hits; off the API thread).
      found = taste.profile().then(async (profile) => {
        if (!profile) return [];
        const excludeIds = [...taste.rated.movieIds, ...extraExclusions];
        if (!memory)
          return this.store.nearestIds(
            { model, vector: profile.vector, limit, genres, excludeIds },
            this.tuning,
          );
        const hits = await this.voter.nearest(memory, profile.vector, limit, {
          ...this.memoryFilter('taste', genres),
          exclude: new Set(excludeIds),
        });
        return hits.map((hit) => hit.movieId);
      });
      taste.neighbours.set(key, found);
      found.catch(() => taste.neighbours.delete(key));
    }
    const ids = await this.withPopular(await found, request.role, genres, taste.rated, extraExclusions);
    const scores = await this.scoreMovies(request.userId, ids, request.role);
    const scored: ScoredMovie[] = [];
    for (const id of ids) {
      const movie = scores.get(id);
      if (movie) scored.push(movie);
    }
    return scored.sort((a, b) => b.score - a.score || a.movieId - b.movieId).slice(0, request.limit);
  }

  /**
   * Scores given movies for the user, by CONTENT_SCORING alone and by MERGED_CONTENT_SCORING in
   * HYBRID; movies without an embedding are left out.
   */
  async scoreMovies(
    userId: number,
    movieIds: readonly number[],
    role: EngineRole = 'alone',
  ): Promise<Map<number, ScoredMovie>> {
    validateId('user', userId);
    const { model } = this.requireReady();
    const scores = new Map<number, ScoredMovie>();
    if (movieIds.length === 0) return scores;
    const taste = await this.userTaste(userId, model);
    if (!taste) return scores;
    const popularity = scoringFor(role).popularityWeight > 0 ? await this.popularityCounts() : null;
    const through = this.votesThroughTable(model.modelId, taste);
    if (through) {
      // Through the neighbour table: a lookup per movie, no dot products (NEIGHBOURS_PER_MOVIE).
      const { index, votes } = through;
      for (const movieId of movieIds) {
        const position = index.positionOf.get(movieId);
        if (position === undefined || scores.has(movieId)) continue;
        const score = this.scoreWithVote(movieId, tableVoteOf(votes, position), popularity, role);
        scores.set(movieId, this.scored(movieId, score, index.rows[position], taste));
      }
      return scores;
    }
    // The vectors come back once per movie, so a repeated id is scored once. Walked with forEach:
    // spreading the Map into [id, vector] pairs and filtering them was, with the iterator's objects,
    // the largest allocation of a first HYBRID list at 25M (heap sampling).
    const vectors = await this.cachedVectors(movieIds, model.modelId);
    const unvotedIds: number[] = [];
    const unvotedVectors: Float32Array[] = [];
    vectors.forEach((vector, movieId) => {
      if (taste.votes.has(movieId)) return;
      unvotedIds.push(movieId);
      unvotedVectors.push(vector);
    });
    if (taste.voters && unvotedIds.length > 0) {
      const votes = await this.voter.votesOf(unvotedVectors, taste.voters, CONTENT_SCORING);
      for (let i = 0; i < unvotedIds.length; i++) taste.votes.set(unvotedIds[i], votes[i]);
    }
    vectors.forEach((vector, movieId) =>
      scores.set(
        movieId,
        this.scored(
          movieId,
          this.scoreWithVote(movieId, taste.votes.get(movieId) ?? 0, popularity, role),
          vector,
          taste,
        ),
      ),
    );
    return scores;
  }
}
