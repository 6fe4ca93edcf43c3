import { randomUUID } from 'node:crypto';
import { DomainError } from '../errors';
import {
  EngineName,
  EngineNotReadyError,
  RecommendationEngine,
  RecommendationRequest,
  ScoredMovie,
} from '../engines/engine';
import { CacheCounts, Versions, VersionedCache } from '../cache';
import type { RatedLookup } from '../engines/rating-history';
import { genreSimilarity, mmrRerank } from './diversity';
import { explain, Explanation, leadingEngine } from './explain';
import { EngineScores, MergedCandidate, mergeScored } from './merge';
import { PackedList, packList, unpackList } from './packed-list';
import {
  DEFAULT_WEIGHTS,
  EngineWeights,
  ENGINE_NAMES,
  resolveWeights,
  weightsInForce,
  WeightsInForce,
} from './weights';

export type Strategy = 'HYBRID' | 'COLLABORATIVE' | 'CONTENT' | 'STATISTICAL';

const ENGINE_OF: Record<Exclude<Strategy, 'HYBRID'>, EngineName> = {
  COLLABORATIVE: 'collaborative',
  CONTENT: 'content',
  STATISTICAL: 'statistical',
};

/** The movies a user rated and their version: one version is one set of ratings. */
export interface UserRatings {
  version: number;
  ratings: RatedLookup;
  /**
   * The movies to leave out beyond the rated ones as of this version, when they were read with the
   * ratings; absent: the orchestrator asks OrchestratorCatalog.excludedOf.
   */
  excluded?: ReadonlySet<number>;
}

/** What the orchestrator needs to know about users and movies; it never writes SQL itself. */
export interface OrchestratorCatalog {
  /** The user's ratings; a list is reused only for the same version (see OrchestratorOptions.listTtlMs). */
  ratingsOf(userId: number): Promise<UserRatings>;
  moviesByIds(ids: readonly number[]): Promise<{ id: number; title: string; genres: string[] }[]>;
  /**
   * Movies to leave out of the user's lists beyond the rated ones (not interested, watched), as of
   * the user's ratings version `version` (recording an exclusion bumps it); none when absent.
   */
  excludedOf?(userId: number, version: number): Promise<ReadonlySet<number>>;
}

/** A list as served, for attribution of later feedback (ListRecorder writes them in batches). */
export interface ServedList {
  listId: string;
  userId: number;
  strategyRequested: Strategy;
  strategyUsed: Strategy;
  experiment: string | null;
  variant: string | null;
  /** In rank order. */
  movieIds: number[];
  servedAt: Date;
}

/** Where built lists go; record() must not wait on anything (it runs on the request path). */
export interface ServedListSink {
  record(list: ServedList): void;
}

/** The experiment and variant a request was assigned to, carried on its list and its record. */
export interface ListAttribution {
  experiment: string;
  variant: string;
}

export interface RecommendOptions {
  userId: number;
  strategy: Strategy;
  first: number;
  genres?: readonly string[];
  weights?: Partial<Record<EngineName, number | null>>;
  /** 0 keeps relevance order; up to 1 trades relevance for variety (MMR over genres). */
  diversity?: number;
  /** Set when an experiment chose this request's parameters; part of the list's identity. */
  attribution?: ListAttribution | null;
}

export interface Recommendation {
  movieId: number;
  rank: number;
  score: number;
  strategyUsed: Strategy;
  engineScores: EngineScores;
  explanation: Explanation;
}

export interface RecommendationList {
  /**
   * A UUID naming this list for feedback (recordEvents' listId). A list reused from the cache is
   * the same list and keeps its id.
   */
  listId: string;
  experiment: string | null;
  variant: string | null;
  strategyUsed: Strategy;
  items: Recommendation[];
  /** Engines a HYBRID request wanted but had to do without, with the reason ("index building: 40%"). */
  skippedEngines: { engine: EngineName; reason: string }[];
}

export interface OrchestratorOptions {
  /** Users with fewer ratings get STATISTICAL whatever they asked for. */
  coldStartThreshold: number;
  /**
   * How long a finished list is reused for the same request while the user's ratings version, the
   * engines' serving versions (model, index) and their readiness are the same: between this and
   * twice this, at random, so lists first built together (a burst of traffic) are not all rebuilt
   * together; 0 never reuses. The user's ratings and a newly activated model always show at once
   * (new versions); this bounds how late what other users rate shows.
   */
  listTtlMs?: number;
  /** The versions this instance knows (the catalog version lists depend on). */
  versions?: Versions;
  /** Lists remembered at most, across users and request shapes. */
  maxRememberedLists?: number;
  /**
   * The weights HYBRID uses when a request sends none (HYBRID_WEIGHTS); the specified defaults
   * when absent.
   */
  weightsInForce?: () => WeightsInForce;
  /** Told of every list built (not of a cached list served again: it is the same list). */
  servedLists?: ServedListSink;
  now?: () => number;
}

/**
 * 30–60 s: other users' ratings move a list by little and slowly; a rebuild costs a few ms of the
 * event loop, which at 10–20 s kept a warm server busy rebuilding (HYBRID p99 at 64 connections
 * 110 ms against 71 ms, `npm run bench:serve`).
 */
export const LIST_TTL_MS = 30_000;

const NOTHING_EXCLUDED: ReadonlySet<number> = new Set();

export class RecommendationInputError extends DomainError {
  constructor(message: string) {
    super('BAD_USER_INPUT', message);
  }
}

export class Orchestrator {
  private readonly engines: Map<EngineName, RecommendationEngine>;
  /** Packed (packed-list.ts says why): each reuse unpacks a list of its own. */
  private readonly remembered: VersionedCache<string, PackedList> | null;

  constructor(
    engines: readonly RecommendationEngine[],
    private readonly catalog: OrchestratorCatalog,
    private readonly options: OrchestratorOptions = { coldStartThreshold: 5 },
  ) {
    this.engines = new Map(engines.map((e) => [e.name, e]));
    const ttl = options.listTtlMs ?? 0;
    this.remembered =
      ttl > 0
        ? new VersionedCache({
            max: options.maxRememberedLists ?? 20_000,
            versions: options.versions,
            maxAgeMs: ttl,
            now: options.now,
            // Lists past their age are never answered; with distinct users most of 20,000 would be.
            forgetAged: true,
          })
        : null;
  }

  /** Hits and misses of the finished lists it reuses, for /metrics (null when lists are not reused). */
  listCacheCounts(): CacheCounts | null {
    return this.remembered?.counts ?? null;
  }

  engine(name: EngineName): RecommendationEngine | undefined {
    return this.engines.get(name);
  }

  /** The weights a HYBRID request without weights is merged with, and where they come from. */
  weightsInForce(): WeightsInForce {
    return this.options.weightsInForce?.() ?? weightsInForce('default', null, null);
  }

  routeStrategy(requested: Strategy, ratingsCount: number): Strategy {
    return ratingsCount < this.options.coldStartThreshold ? 'STATISTICAL' : requested;
  }

  async recommend(options: RecommendOptions): Promise<RecommendationList> {
    const diversity = options.diversity ?? 0;
    if (!Number.isFinite(diversity) || diversity < 0 || diversity > 1)
      throw new RecommendationInputError(`diversity must be between 0 and 1, got ${diversity}`);
    const catalogVersion = this.remembered?.catalog() ?? 0;
    const user = await this.catalog.ratingsOf(options.userId);
    const { version: ratingsVersion, ratings: history } = user;
    // An exclusion is written with a new version of the user's ratings (recordEvents bumps it), so
    // the exclusions are read for that version and the list's version below covers them too.
    const excluded =
      user.excluded ?? (await this.catalog.excludedOf?.(options.userId, ratingsVersion)) ?? NOTHING_EXCLUDED;
    const routed = this.routeStrategy(options.strategy, history.size);
    // While the first collaborative model trains (a cold start), COLLABORATIVE is answered by
    // STATISTICAL and says so, rather than failing every request for the whole training.
    const collaborative =
      routed === 'COLLABORATIVE' ? this.engines.get('collaborative')?.status() : undefined;
    const waiting =
      collaborative && !collaborative.ready
        ? { engine: 'collaborative' as const, reason: collaborative.reason }
        : null;
    const strategyUsed: Strategy = waiting ? 'STATISTICAL' : routed;
    const requested: EngineName[] = strategyUsed === 'HYBRID' ? [...ENGINE_NAMES] : [ENGINE_OF[strategyUsed]];
    const build = () =>
      this.buildList(options, diversity, history, excluded, strategyUsed, requested, waiting);
    let list: RecommendationList;
    if (!this.remembered) list = await build();
    else {
      // Everything a list is computed from besides everybody's ratings, as versions.
      let version = `${ratingsVersion}|${waiting ? 'w' : ''}`;
      for (const name of requested) {
        const engine = this.engines.get(name);
        version += engine?.status().ready ? `|${engine.servingVersion?.() ?? ''}` : '|-';
      }
      const key = `${listKey(options, diversity)}|${this.baseWeightsKey(strategyUsed)}`;
      const remembered = this.remembered.get(key, version);
      if (remembered) return unpackList(remembered);
      list = await build();
      const ttl = this.options.listTtlMs ?? 0;
      this.remembered.set(key, packList(list), version, {
        catalog: catalogVersion,
        maxAgeMs: ttl * (1 + Math.random()),
      });
    }
    if (list.items.length > 0)
      this.options.servedLists?.record({
        listId: list.listId,
        userId: options.userId,
        strategyRequested: options.strategy,
        strategyUsed: list.strategyUsed,
        experiment: list.experiment,
        variant: list.variant,
        movieIds: list.items.map((item) => item.movieId),
        servedAt: new Date(),
      });
    return list;
  }

  /** A newly activated model's calibrated weights must not be masked by a list merged with the old ones. */
  private baseWeightsKey(strategyUsed: Strategy): string {
    if (strategyUsed !== 'HYBRID' || !this.options.weightsInForce) return '';
    const { weights } = this.weightsInForce();
    return ENGINE_NAMES.map((name) => weights[name]).join(',');
  }

  private async buildList(
    options: RecommendOptions,
    diversity: number,
    history: RatedLookup,
    excluded: ReadonlySet<number>,
    strategyUsed: Strategy,
    requested: readonly EngineName[],
    waiting: { engine: EngineName; reason: string } | null = null,
  ): Promise<RecommendationList> {
    const skippedEngines: { engine: EngineName; reason: string }[] = waiting ? [waiting] : [];
    const active: RecommendationEngine[] = [];
    for (const name of requested) {
      const engine = this.engines.get(name);
      const status = engine?.status() ?? {
        ready: false as const,
        reason: `${name} engine is not configured`,
      };
      if (engine && status.ready) active.push(engine);
      else if (strategyUsed !== 'HYBRID')
        throw status.ready
          ? new EngineNotReadyError(name, 'not configured')
          : new EngineNotReadyError(name, status.reason, status.progress);
      else skippedEngines.push({ engine: name, reason: status.ready ? 'not configured' : status.reason });
    }
    // A HYBRID list that only the statistical engine could answer is a STATISTICAL list: say so.
    if (strategyUsed === 'HYBRID' && active.length === 1 && active[0].name === 'statistical')
      strategyUsed = 'STATISTICAL';
    const weights = resolveWeights(
      options.weights,
      active.map((e) => e.name),
      this.options.weightsInForce ? this.weightsInForce().weights : DEFAULT_WEIGHTS,
    );

    // Extra candidates leave room for the genre filter, dedup and diversity re-ranking.
    const pool = Math.min(500, Math.max(50, options.first * (diversity > 0 ? 5 : 3)));
    const request: RecommendationRequest = {
      userId: options.userId,
      role: active.length > 1 ? 'merged' : 'alone',
      limit: pool,
      genres: options.genres,
      // Every engine leaves the user's rated movies out itself (RecommendationRequest.exclude); a set
      // of them per request was a large share of a first list for users with thousands of ratings.
      exclude: excluded,
    };
    const found = await Promise.all(active.map((engine) => engine.recommend(request)));
    const scored = new Map<EngineName, Map<number, ScoredMovie>>();
    // An engine that returned a rated or excluded movie anyway must not stretch the normalisation.
    active.forEach((engine, i) => {
      const movies = new Map<number, ScoredMovie>();
      for (const movie of found[i])
        if (!history.has(movie.movieId) && !excluded.has(movie.movieId)) movies.set(movie.movieId, movie);
      scored.set(engine.name, movies);
    });

    if (active.length > 1) await this.scoreAcrossEngines(options.userId, active, scored);

    const merged = mergeScored(Object.fromEntries(scored), weights);
    const chosen =
      diversity > 0 || options.genres?.length
        ? await this.rerankByGenres(merged, options, diversity)
        : await this.firstInCatalog(merged, options.first);

    // Each item is explained by the engine that contributed most to it; only that engine's
    // evidence is worked out (engines compute it on first read).
    const leads = chosen.map((candidate) => {
      const engine = leadingEngine(candidate.engineScores, weights);
      return { engine, scored: engine ? scored.get(engine)?.get(candidate.movieId) : undefined };
    });
    const evidenceIds = new Set<number>();
    for (const lead of leads) for (const e of lead.scored?.evidence ?? []) evidenceIds.add(e.movieId);
    const titles = new Map(
      (await this.catalog.moviesByIds([...evidenceIds])).map((m) => [m.id, m.title] as [number, string]),
    );
    const coldStart =
      history.size < this.options.coldStartThreshold
        ? { ratingsCount: history.size, threshold: this.options.coldStartThreshold }
        : null;

    const items = chosen.map((candidate, index): Recommendation => ({
      movieId: candidate.movieId,
      rank: index + 1,
      score: candidate.score,
      strategyUsed,
      engineScores: candidate.engineScores,
      explanation: explain(leads[index].engine, leads[index].scored, titles, coldStart),
    }));
    return {
      listId: randomUUID(),
      experiment: options.attribution?.experiment ?? null,
      variant: options.attribution?.variant ?? null,
      strategyUsed,
      items,
      skippedEngines,
    };
  }

  /**
   * The genre filter and the diversity re-ranking read every candidate's genres; movies missing
   * from the catalog (deleted since the engines last loaded) are left out.
   */
  private async rerankByGenres(
    merged: readonly MergedCandidate[],
    options: RecommendOptions,
    diversity: number,
  ): Promise<MergedCandidate[]> {
    const movies = await this.catalog.moviesByIds(merged.map((c) => c.movieId));
    const genresOf = new Map(movies.map((m) => [m.id, m.genres]));
    let kept = merged.filter((c) => genresOf.has(c.movieId));
    if (options.genres?.length) {
      const wanted = new Set(options.genres);
      kept = kept.filter((c) => (genresOf.get(c.movieId) as string[]).some((g) => wanted.has(g)));
    }
    return mmrRerank(kept, options.first, diversity, genreSimilarity(genresOf));
  }

  /**
   * The first `count` candidates in merged order that the catalog still has: what rerankByGenres
   * gives without genres or diversity, reading the catalog for those candidates only. Reading all
   * of them (~150 for 20 items) was ~4% of the API thread per first HYBRID list at 25M (CPU
   * profile: the catalog's cache lookups and copies).
   */
  private async firstInCatalog(
    merged: readonly MergedCandidate[],
    count: number,
  ): Promise<MergedCandidate[]> {
    const chosen: MergedCandidate[] = [];
    let next = 0;
    while (chosen.length < count && next < merged.length) {
      const batch = merged.slice(next, next + count - chosen.length);
      next += batch.length;
      const inCatalog = new Set(
        (await this.catalog.moviesByIds(batch.map((c) => c.movieId))).map((m) => m.id),
      );
      for (const candidate of batch) if (inCatalog.has(candidate.movieId)) chosen.push(candidate);
    }
    return chosen;
  }

  /** Every engine scores the candidates the others found, so the merge compares like with like. */
  private async scoreAcrossEngines(
    userId: number,
    active: readonly RecommendationEngine[],
    scored: Map<EngineName, Map<number, ScoredMovie>>,
  ): Promise<void> {
    const union = new Set<number>();
    for (const movies of scored.values()) for (const id of movies.keys()) union.add(id);
    await Promise.all(
      active.map(async (engine) => {
        if (!engine.scoreMovies) return;
        const own = scored.get(engine.name) as Map<number, ScoredMovie>;
        const missing = [...union].filter((id) => !own.has(id));
        if (missing.length === 0) return;
        for (const [id, s] of await engine.scoreMovies(userId, missing, 'merged')) own.set(id, s);
      }),
    );
  }
}

export type { EngineWeights };

function listKey(options: RecommendOptions, diversity: number): string {
  const genres = options.genres?.length ? [...options.genres].sort().join('\u001f') : '';
  const weights = options.weights ? ENGINE_NAMES.map((name) => options.weights?.[name] ?? '').join(',') : '';
  const attribution = options.attribution
    ? `${options.attribution.experiment}\u001f${options.attribution.variant}`
    : '';
  return `${options.userId}|${options.strategy}|${options.first}|${genres}|${weights}|${diversity}|${attribution}`;
}
