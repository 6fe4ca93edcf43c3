import type { CacheCounts } from '../cache';
import { DomainError } from '../errors';

/**
 * The narrow interface every recommendation engine implements. Engines know nothing of GraphQL or
 * HTTP: the orchestrator asks each for scored candidates and merges them.
 */
export type EngineName = 'collaborative' | 'statistical' | 'content';

/** A movie that an explanation rests on ("because you rated Heat 5★"). */
export interface Evidence {
  movieId: number;
  /** The user's own rating of that movie, when the evidence is one of their ratings. */
  rating?: number;
  /** How strongly it supports the candidate (similarity, contribution), engine-specific scale. */
  weight?: number;
}

export interface ScoredMovie {
  movieId: number;
  /** Higher is better; scales differ between engines (the orchestrator normalises). */
  score: number;
  /** A short reason in the engine's own words, e.g. "highly rated by 412 people". */
  reason?: string;
  evidence?: Evidence[];
}

/**
 * A scored movie whose reason and evidence are worked out on first read: a list shows a few of the
 * hundred or more candidates each engine scores, and explaining every candidate (weighing each
 * rated movie against it, formatting its reason) cost more than scoring it.
 */
export function withLazyDetails(
  movie: { movieId: number; score: number },
  details: () => { reason?: string; evidence?: Evidence[] },
): ScoredMovie {
  return new LazilyExplainedMovie(movie.movieId, movie.score, details);
}

/** Getters on the prototype: defining them per object made each one slow to create and to read. */
class LazilyExplainedMovie implements ScoredMovie {
  private worked: { reason?: string; evidence?: Evidence[] } | null = null;

  constructor(
    readonly movieId: number,
    readonly score: number,
    private readonly details: () => { reason?: string; evidence?: Evidence[] },
  ) {}

  get reason(): string | undefined {
    return (this.worked ??= this.details()).reason;
  }

  get evidence(): Evidence[] | undefined {
    return (this.worked ??= this.details()).evidence;
  }

  /** Plain data for logs and test comparisons, details included. */
  toJSON(): ScoredMovie {
    return { movieId: this.movieId, score: this.score, reason: this.reason, evidence: this.evidence };
  }
}

/**
 * What an engine's scores are for. `alone`: the engine's own list (strategy CONTENT, …), where it
 * must stand on its own. `merged`: one of HYBRID's engines, where each brings what only it knows
 * (the content engine drops its popularity prior there: the statistical engine brings popularity).
 */
export type EngineRole = 'alone' | 'merged';

export interface RecommendationRequest {
  userId: number;
  /** Absent: 'alone'. */
  role?: EngineRole;
  /** How many candidates to return at most. */
  limit: number;
  /** Only movies having any of these genres; empty or absent means all. */
  genres?: readonly string[];
  /** Movies never to return (the user's rated movies are excluded by every engine anyway). */
  exclude?: ReadonlySet<number>;
}

/** Request shapes whose results are remembered with one user's engine state. */
export const REMEMBERED_SHAPES_PER_USER = 8;

/**
 * Results by request shape kept with one user's engine state, the least recently asked forgotten
 * past REMEMBERED_SHAPES_PER_USER. A Map, not an LRU cache per state: states outlive young-generation
 * collections, so every object in them is copied and then promoted, and an LRU cache is a dozen
 * objects before it holds anything. With that cache and lists of scored movies (each with its
 * explanation's closure), users' states were most of what first COLLABORATIVE lists left for the
 * collector to copy (1M ratings, `--trace-gc-nvp`, MB surviving / promoted a collection: 8.3 / 7.8;
 * 7.5 / 7.0 without the orchestrator's remembered lists; 1.3 / 0.4 without them and with 16 states
 * instead of 1,000).
 */
export class ShapeMemory<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly counts: CacheCounts) {}

  get(key: string): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    // Asked again: the most recent (a Map iterates in insertion order).
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= REMEMBERED_SHAPES_PER_USER)
      this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** Whether a user rated (or watched) a movie: a Set, or a history searching its own ids. */
export interface RatedMovieIds {
  has(movieId: number): boolean;
}

/**
 * A request's shape as a key for the results kept with one user's engine state: page size, genres
 * (as the engine normalised them) and the exclusions beyond the user's own ratings, which every
 * engine leaves out anyway (the orchestrator excludes exactly those).
 */
export function requestShape(
  request: RecommendationRequest,
  genres: readonly string[],
  rated: RatedMovieIds,
): { key: string; extraExclusions: number[] } {
  const extraExclusions = [...(request.exclude ?? [])].filter((id) => !rated.has(id)).sort((a, b) => a - b);
  return {
    key: `${request.limit}|${[...genres].sort().join(',')}|${extraExclusions.join(',')}`,
    extraExclusions,
  };
}

export type EngineStatus = { ready: true } | { ready: false; reason: string; progress?: number };

export interface RecommendationEngine {
  readonly name: EngineName;
  status(): EngineStatus;
  recommend(request: RecommendationRequest): Promise<ScoredMovie[]>;
  /**
   * Scores given movies for the user: the hybrid merge asks every engine about the candidates the
   * others found. Movies the engine cannot score are left out of the map. `role` absent: 'alone'.
   */
  scoreMovies?(
    userId: number,
    movieIds: readonly number[],
    role?: EngineRole,
  ): Promise<Map<number, ScoredMovie>>;
  /**
   * The version of what the engine answers from besides the user's ratings (the model version,
   * the index generation): the orchestrator reuses a list only while it is unchanged. Absent: the
   * engine answers from everybody's ratings alone, which lists bound by age.
   */
  servingVersion?(): number | string;
}

/** Raised when an engine is asked to answer before it is ready (model training, index building). */
export class EngineNotReadyError extends DomainError {
  constructor(
    readonly engine: EngineName,
    readonly reason: string,
    readonly progress?: number,
  ) {
    super('SERVICE_UNAVAILABLE', `${engine} engine not ready: ${reason}`, {
      engine,
      progress: progress ?? null,
    });
  }
}

/** Bad arguments to an engine (unknown movie id, empty query, negative window …). */
export class EngineInputError extends DomainError {
  constructor(message: string, code: 'BAD_USER_INPUT' | 'NOT_FOUND' = 'BAD_USER_INPUT') {
    super(code, message);
  }
}
