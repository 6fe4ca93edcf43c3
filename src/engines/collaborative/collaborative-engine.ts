import { DataSource } from 'typeorm';
import { COLLABORATIVE_ANN_MIN_MOVIES_DEFAULT } from '../../config';
import { Logger, silentLogger } from '../../logger';
import {
  EngineNotReadyError,
  EngineStatus,
  Evidence,
  RatedMovieIds,
  RecommendationEngine,
  RecommendationRequest,
  ShapeMemory,
  requestShape,
  ScoredMovie,
  withLazyDetails,
} from '../engine';
import {
  clip,
  foldInBiasedUser,
  predictAllItemsFor,
  searchMipsIndex,
  topK,
  TopNScorer,
  userRecencyWeights,
  type TopNUserScores,
} from './kernels';
import { CacheCounts, newCacheCounts, Versions, VersionedCache } from '../../cache';
import { firstK } from '../first-k';
import { implicitRatingValue } from '../implicit-rating';
import {
  MAX_USER_STATES,
  RatedMovies,
  RatingHistory,
  RatingHistorySource,
  SqlRatingHistory,
  WatchedMovie,
} from '../rating-history';
import { ActiveModel, ModelStore, StoredHybridWeights } from './model-store';
import { CandidateIndex, type CandidateIndexOptions } from './candidate-index';
import { MoviePositions } from '../movie-positions';
import { ReusedMarks } from '../reused-marks';

/** How many of the user's best ratings are weighed as reasons for a recommendation. */
const EVIDENCE_POOL = 60;

/** A user's rating-model parameters: trained, or folded in from their current ratings. */
interface UserParameters {
  bias: number;
  factors: Float64Array;
}

interface Snapshot {
  model: ActiveModel;
  /** The version's ranking model (PureSVD or iALS), with what all users share precomputed. */
  topN: TopNScorer;
  /** Movie id → item index (a table by id where the ids allow: reading a user's ratings looks up each). */
  itemIndex: MoviePositions;
  userIndex: Map<number, number>;
  /** Genres by item index, for the genre filter without a round trip. */
  itemGenres: string[][];
  /**
   * Whether the top-N model knows the item (1) or it only has a rating-model row imputed from its
   * metadata because nobody had rated it at training time (0): such items are not ranked.
   */
  rankable: Uint8Array;
  /** Users folded in since this model was activated (rated again, or unknown to training). */
  folded: Map<number, UserParameters>;
  /** Users who rated through another instance since: folded in again before their next prediction. */
  refold: Set<number>;
  /** Top-N retrieval by factor norm over this version's factors (large catalogs). */
  candidates: CandidateIndex;
}

export interface CollaborativeEngineOptions {
  logger?: Logger;
  /** Evidence movies per recommendation ("because you rated …"). */
  maxEvidence?: number;
  /** Shared with the other engines so a request reads the user's ratings once. */
  history?: RatingHistorySource;
  /** The versions this instance knows (catalog); absent: a private, standalone set. */
  versions?: Versions;
  /** Top-N retrieval by the candidate index (COLLABORATIVE_ANN_MIN_MOVIES); its default threshold when absent. */
  candidates?: Omit<CandidateIndexOptions, 'logger'>;
}

/** The user's ratings mapped onto the model's item indices (unknown movies dropped). */
/** What one user's ratings imply under one model, computed once and reused while both stand. */
interface UserState {
  snapshot: Snapshot;
  user: UserRatings;
  ranking: TopNUserScores;
  /**
   * Top-N lists by query shape (page size, genres, extra exclusions) as item indices, not scored
   * movies: the state outlives young-generation collections (ShapeMemory says what that cost).
   */
  lists: ShapeMemory<Int32Array>;
}

/**
 * The user's row as a model reads it: their star ratings of movies the model knows, then (for the
 * top-N model only) one rating-like entry per movie they watched to the end without rating it.
 */
interface UserRatings {
  items: Int32Array;
  ratings: Float64Array;
  /** Unix seconds, for the recency weights training used. */
  timestamps: Float64Array;
  /** Mean of the star ratings. */
  mean: number;
  /** Positions of the user's best star ratings (at or above their mean, best first, capped): explanation candidates. */
  evidencePool: number[];
  /**
   * movieIds the user rated or watched to the end, including movies the model does not know: never
   * ranked. Their history's own lookup (a search of its ascending ids), plus a set of the movies only
   * watched: a Set of every rating was the largest part left of a user's state (1M ratings,
   * `--trace-gc-nvp`: without it 2.7 MB survived a young collection instead of 3.5, ~230 lists).
   */
  rated: RatedMovieIds;
}

/**
 * Personalised ranking from everyone's ratings. Rankings come from the version's top-N model,
 * PureSVD (scores r_u·V·Vᵀ) or iALS (scores H·w_u, w_u solved exactly from the user's ratings):
 * either way any user is scored from their ratings alone (plus the movies they watched to the end,
 * as training counts them: src/engines/implicit-rating.ts), so a new rating or watch counts at once;
 * predicted ratings come from the biased MF (stars only), whose user factors are folded in by least
 * squares when a user rates. Serving never trains: it reads a snapshot of the active version.
 */
export class CollaborativeEngine implements RecommendationEngine {
  readonly name = 'collaborative' as const;
  private snapshot: Snapshot | null = null;
  private notReadyReason = 'no trained model yet';
  private readonly logger: Logger;
  private readonly maxEvidence: number;
  /** By user, valid for one model version and one ratings version (userStateVersion). */
  private readonly recent: VersionedCache<number, UserState>;
  /** Hits and misses of its caches, for /metrics: per-user state, and the lists kept with it. */
  readonly cacheCounts: { userState: CacheCounts; lists: CacheCounts };
  private readonly history: RatingHistorySource;
  private scratch = new Float32Array(0);
  private readonly excludedMarks = new ReusedMarks();
  /** A reload in progress, and whether another notice asked for one meanwhile. */
  private reloading: Promise<boolean> | null = null;
  private reloadAgain = false;
  /**
   * Lists computed (not remembered) by each path: scoring every movie, the norm-ordered index, or
   * only the movies the model ranks (EASE's columns).
   */
  readonly retrievals = { fullPass: 0, indexed: 0, rankedOnly: 0 };
  private readonly candidateOptions: CandidateIndexOptions;

  constructor(
    private readonly db: DataSource,
    readonly store: ModelStore,
    options: CollaborativeEngineOptions = {},
  ) {
    this.logger = options.logger ?? silentLogger;
    this.maxEvidence = options.maxEvidence ?? 3;
    this.history = options.history ?? new SqlRatingHistory(db);
    this.recent = new VersionedCache({ max: MAX_USER_STATES, versions: options.versions });
    this.cacheCounts = { userState: this.recent.counts, lists: newCacheCounts() };
    this.candidateOptions = {
      minMovies: COLLABORATIVE_ANN_MIN_MOVIES_DEFAULT,
      ...options.candidates,
      logger: this.logger,
    };
  }

  status(): EngineStatus {
    return this.snapshot ? { ready: true } : { ready: false, reason: this.notReadyReason };
  }

  setNotReadyReason(reason: string): void {
    this.notReadyReason = reason;
  }

  /** Whether the active version serves lists from its candidate index; for tests and benchmarks. */
  candidateIndexBuilt(): boolean {
    return this.snapshot?.candidates.ready() != null;
  }

  activeVersionId(): number | null {
    return this.snapshot?.model.versionId ?? null;
  }

  /** What this engine's answers are computed from: the served model version (0: none yet). */
  servingVersion(): number {
    return this.snapshot?.model.versionId ?? 0;
  }

  /**
   * Follows the versions this instance hears of: a model activated anywhere is loaded (the
   * snapshot swaps once it is read whole; requests meanwhile get the old one), and a user who rated
   * through another instance is folded in again before their next prediction. Returns the unsubscribe.
   */
  followVersions(versions: Versions): () => void {
    return versions.subscribe((notice) => {
      if (notice.kind === 'model' && notice.version !== this.activeVersionId())
        this.reloadCoalesced().catch((error: unknown) =>
          this.logger.error(`loading model version ${notice.version} failed`, error),
        );
      else if (notice.kind === 'user' && this.snapshot) {
        this.snapshot.folded.delete(notice.userId);
        this.snapshot.refold.add(notice.userId);
      }
    });
  }

  /** reload(), at most one at a time; notices during one make one more run after it. */
  private reloadCoalesced(): Promise<boolean> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = this.reload().finally(() => {
      this.reloading = null;
      if (this.reloadAgain) {
        this.reloadAgain = false;
        void this.reloadCoalesced().catch(() => undefined);
      }
    });
    return this.reloading;
  }

  /** The served model version and when it was activated, for /metrics and /health. */
  activeModel(): { versionId: number; activatedAt: Date } | null {
    const model = this.snapshot?.model;
    return model ? { versionId: model.versionId, activatedAt: model.activatedAt } : null;
  }

  /** The hybrid weights the loaded version calibrated when it was trained; null when it has none. */
  calibratedWeights(): { versionId: number; calibration: StoredHybridWeights } | null {
    const model = this.snapshot?.model;
    return model?.hybridWeights ? { versionId: model.versionId, calibration: model.hybridWeights } : null;
  }

  /** Loads (or reloads) the active version; returns false when there is none. */
  async reload(): Promise<boolean> {
    const model = await this.store.loadActive();
    if (!model) return false;
    const genres: { id: number; genres: string[] }[] = await this.db.query(
      `SELECT id, genres FROM movies WHERE id = ANY($1::int[])`,
      [Array.from(model.biased.itemIds)],
    );
    const genresById = new Map(genres.map((g) => [g.id, g.genres]));
    const topN = new TopNScorer(model.topN);
    // Before the version serves, so its first lists do not wait for it (src/app.ts, where the server
    // starts, gives the measured reason).
    topN.prepareForServing();
    const rankable = topN.rankable();
    const rankableCount = rankable.reduce((sum, r) => sum + r, 0);
    this.snapshot = {
      model,
      topN,
      itemIndex: new MoviePositions(model.biased.itemIds),
      userIndex: new Map(Array.from(model.biased.userIds, (id, u) => [id, u])),
      itemGenres: Array.from(model.biased.itemIds, (id) => genresById.get(id) ?? []),
      rankable,
      folded: new Map(),
      refold: new Set(),
      candidates: new CandidateIndex(model.topN, model.versionId, rankableCount, this.candidateOptions),
    };
    this.logger.info(
      `collaborative model version ${model.versionId} loaded (${model.biased.itemIds.length} movies, ` +
        `top-N ${model.topN.kind} ${model.topN.kind === 'ease' ? `${model.topN.columns.length} columns` : `rank ${model.topN.rank}`})`,
    );
    return true;
  }

  private requireSnapshot(): Snapshot {
    if (!this.snapshot) throw new EngineNotReadyError('collaborative', this.notReadyReason);
    return this.snapshot;
  }

  /**
   * The user's row: `watched` is left empty for the rating model, which keeps to the stars. For the
   * top-N model each watched, unrated movie it knows is the value training gave such a watch
   * (implicitRatingValue: their star mean + the offset; the training ratings' mean without stars).
   * Those entries come after the stars and are never in the evidence pool: they are not ratings.
   */
  private userRatings(
    snapshot: Snapshot,
    history: RatedMovies,
    watched: readonly WatchedMovie[] = [],
  ): UserRatings {
    // Typed arrays of the most it can hold, cut to what was filled: JS arrays pushed to and copied
    // with TypedArray.from (an iterator per element) took ~8 ms of the API thread for a user with
    // 29,523 ratings (21% of the thread on such users' first HYBRID lists at 25M, CPU profile);
    // 0.1–0.6 ms so (node micro-benchmark of the loop, 29,523 movies).
    const { movieIds, stars: given, ratedAt } = history;
    const capacity = movieIds.length + watched.length;
    const items = new Int32Array(capacity);
    const ratings = new Float64Array(capacity);
    const timestamps = new Float64Array(capacity);
    let count = 0;
    const { itemIndex } = snapshot;
    for (let n = 0; n < movieIds.length; n++) {
      const item = itemIndex.get(movieIds[n]);
      if (item === undefined) continue;
      items[count] = item;
      ratings[count] = given[n];
      timestamps[count] = ratedAt[n];
      count++;
    }
    const stars = count;
    // Over every star rating, as training's mean was over the user's ratings in its data.
    const starMean = history.size ? history.starSum() / history.size : null;
    let rated: UserRatings['rated'] = history;
    if (watched.length > 0) {
      const value = implicitRatingValue(starMean, snapshot.model.biased.mu);
      const onlyWatched = new Set<number>();
      rated = { has: (movieId) => history.has(movieId) || onlyWatched.has(movieId) };
      for (const watch of watched) {
        if (rated.has(watch.movieId)) continue;
        onlyWatched.add(watch.movieId);
        const item = snapshot.itemIndex.get(watch.movieId);
        if (item === undefined) continue;
        items[count] = item;
        ratings[count] = value;
        timestamps[count] = watch.watchedAt;
        count++;
      }
    }
    let starTotal = 0;
    for (let n = 0; n < stars; n++) starTotal += ratings[n];
    const mean = stars ? starTotal / stars : 0;
    const atOrAboveMean: number[] = [];
    for (let n = 0; n < stars; n++) if (ratings[n] >= mean) atOrAboveMean.push(n);
    // Best first, earlier positions first among equal ratings (what a stable sort gave).
    const evidencePool = firstK(atOrAboveMean, EVIDENCE_POOL, (a, b) => ratings[b] - ratings[a] || a - b);
    return {
      items: items.slice(0, count),
      ratings: ratings.slice(0, count),
      timestamps: timestamps.slice(0, count),
      mean,
      evidencePool,
      rated,
    };
  }

  /** What the top-N model scores the user from: stars and watches, as in its training data. */
  private topNRow(snapshot: Snapshot, history: RatingHistory): UserRatings {
    return this.userRatings(snapshot, history.ratings, history.watched);
  }

  /**
   * The user's ratings and ranking scores, reused while the model version and their ratings version
   * are the same: one hybrid request asks for them twice (recommend, then scoreMovies for the other
   * engines' candidates), and a user paging through recommendations asks again.
   */
  private async userState(snapshot: Snapshot, userId: number): Promise<UserState> {
    const catalog = this.recent.catalog();
    const history = await this.history.historyOf(userId);
    const version = `${snapshot.model.versionId}:${history.version}`;
    const cached = this.recent.get(userId, version);
    if (cached) return cached;
    const user = this.topNRow(snapshot, history);
    const ranking = snapshot.topN.scoreUser(user.items, user.ratings, user.timestamps);
    const state: UserState = {
      snapshot,
      user,
      ranking,
      lists: new ShapeMemory(this.cacheCounts.lists),
    };
    this.recent.set(userId, state, version, { catalog });
    return state;
  }

  /**
   * Which of the user's ratings pushed `item` up most: every top-N model's scores are sums of one
   * term per rated movie (PureSVD: e(r_j)·(v_j·v_i); iALS: c_j·h_jᵀA⁻¹h_i; EASE: e(r_j)·B_ji). Only positive
   * contributions from movies rated at or above the user's mean count as reasons.
   */
  private evidenceFor(snapshot: Snapshot, state: UserState, item: number): Evidence[] {
    const user = state.user;
    const pool = user.evidencePool;
    if (pool.length === 0) return [];
    const { ranking } = state;
    // Only the pool's shares, and only the best few kept: a row of every rating's shares and an
    // object per positive one, sorted, per listed movie, were the largest single share of what a first
    // COLLABORATIVE list allocated (~0.14 of ~0.9 MB, heap sampling at 1M ratings).
    const atPositions = ranking.contributionsAt?.(item, pool);
    const all = atPositions ? null : ranking.contributions(item);
    const best: Evidence[] = [];
    for (let k = 0; k < pool.length; k++) {
      const n = pool[k];
      const weight = atPositions ? atPositions[k] : (all as Float64Array)[n];
      if (!(weight > 0)) continue;
      // A stable sort by weight, descending, cut to maxEvidence: equal weights keep the pool's order.
      let at = best.length;
      while (at > 0 && (best[at - 1].weight as number) < weight) at--;
      if (at >= this.maxEvidence) continue;
      best.splice(at, 0, {
        movieId: snapshot.model.biased.itemIds[user.items[n]],
        rating: user.ratings[n],
        weight,
      });
      if (best.length > this.maxEvidence) best.pop();
    }
    return best;
  }

  async recommend(request: RecommendationRequest): Promise<ScoredMovie[]> {
    const snapshot = this.requireSnapshot();
    const state = await this.userState(snapshot, request.userId);
    const user = state.user;
    if (user.items.length === 0) return [];
    const genres = [...new Set(request.genres ?? [])];
    const { key, extraExclusions } = requestShape(request, genres, user.rated);
    const remembered = state.lists.get(key);
    if (remembered) return this.scoredItems(state, remembered);
    const wanted = genres.length > 0 ? new Set(genres) : null;
    const picked =
      this.pickWithoutFullPass(snapshot, state, request.limit, extraExclusions, wanted) ??
      this.fullPass(snapshot, state, request.limit, extraExclusions, wanted);
    state.lists.set(key, picked);
    return this.scoredItems(state, picked);
  }

  /** Every rankable movie scored, the list's item indices picked from all of them. */
  private fullPass(
    snapshot: Snapshot,
    state: UserState,
    limit: number,
    extraExclusions: readonly number[],
    wanted: ReadonlySet<string> | null,
  ): Int32Array {
    this.retrievals.fullPass++;
    const { user } = state;

    // Reused between calls (filled and read with no await between): a fresh copy per request
    // was a large share of the garbage a recommendation made.
    const all = state.ranking.scores;
    if (this.scratch.length !== all.length) this.scratch = new Float32Array(all.length);
    const scores = this.scratch;
    scores.set(all);
    // Masks by index: testing every catalog movie against the sets cost more than the scoring.
    const { rankable, itemIndex, itemGenres } = snapshot;
    for (let i = 0; i < scores.length; i++) if (!rankable[i]) scores[i] = -Infinity;
    for (const item of user.items) scores[item] = -Infinity;
    for (const id of extraExclusions) {
      const item = itemIndex.get(id);
      if (item !== undefined) scores[item] = -Infinity;
    }
    if (wanted)
      for (let i = 0; i < scores.length; i++)
        if (scores[i] !== -Infinity && !itemGenres[i].some((g) => wanted.has(g))) scores[i] = -Infinity;
    return topK(scores, limit);
  }

  /**
   * The list's item indices without scoring the catalog, where the version allows it: from the
   * candidate index (a factor model over a large catalog) or from the few movies the model ranks
   * (EASE's columns). Null when only the full pass can tell.
   */
  private pickWithoutFullPass(
    snapshot: Snapshot,
    state: UserState,
    limit: number,
    extraExclusions: readonly number[],
    wanted: ReadonlySet<string> | null,
  ): Int32Array | null {
    const index = snapshot.candidates.ready();
    const { vector } = state.ranking;
    const ranked = state.ranking.rankedItems;
    if (!(index && vector) && !ranked) return null;
    const extra: number[] = [];
    for (const id of extraExclusions) {
      const item = snapshot.itemIndex.get(id);
      if (item !== undefined) extra.push(item);
    }
    const { itemGenres } = snapshot;
    // The user's items and exclusions marked in a mask kept between calls (ReusedMarks says why).
    return this.excludedMarks.within(snapshot.rankable.length, [state.user.items, extra], (marks) => {
      const eligible = (item: number) =>
        marks[item] === 0 && (!wanted || itemGenres[item].some((g) => wanted.has(g)));
      if (index && vector) {
        // Only the movies whose norm could still place them in the list are scored.
        this.retrievals.indexed++;
        return searchMipsIndex(index, vector, limit, eligible).items;
      }
      // The few movies the model ranks (ascending, so ties still go to the lower item index).
      const { items, scores } = ranked!;
      this.retrievals.rankedOnly++;
      return topK(scores, limit, (at) => eligible(items[at])).map((at) => items[at]);
    });
  }

  async scoreMovies(userId: number, movieIds: readonly number[]): Promise<Map<number, ScoredMovie>> {
    const snapshot = this.requireSnapshot();
    const state = await this.userState(snapshot, userId);
    const result = new Map<number, ScoredMovie>();
    if (state.user.items.length === 0) return result;
    for (const movieId of movieIds) {
      const item = snapshot.itemIndex.get(movieId);
      if (item === undefined || !snapshot.rankable[item] || state.user.rated.has(movieId)) continue;
      result.set(movieId, this.scoredItem(state, item));
    }
    return result;
  }

  private scoredItems(state: UserState, items: Int32Array): ScoredMovie[] {
    const list: ScoredMovie[] = [];
    for (const item of items) list.push(this.scoredItem(state, item));
    return list;
  }

  /** Made per call, never kept with the state (UserState.lists says why). */
  private scoredItem(state: UserState, item: number): ScoredMovie {
    return withLazyDetails(
      { movieId: state.snapshot.model.topN.itemIds[item], score: state.ranking.score(item) },
      () => ({ evidence: this.evidenceFor(state.snapshot, state, item) }),
    );
  }

  /** The biased model's rating predictions, clipped to the rating scale; unknown movies are left out. */
  async predictRatings(userId: number, movieIds: readonly number[]): Promise<Map<number, number>> {
    const snapshot = this.requireSnapshot();
    const parameters = await this.userParameters(snapshot, userId);
    const { biased } = snapshot.model;
    const result = new Map<number, number>();
    for (const movieId of movieIds) {
      const item = snapshot.itemIndex.get(movieId);
      if (item === undefined) continue;
      let value = biased.mu + biased.itemBias[item];
      if (parameters) {
        value += parameters.bias;
        for (let f = 0; f < biased.k; f++)
          value += parameters.factors[f] * biased.itemFactors[item * biased.k + f];
      }
      result.set(movieId, clip(value, biased.ratingScale));
    }
    return result;
  }

  private async userParameters(snapshot: Snapshot, userId: number): Promise<UserParameters | null> {
    if (snapshot.refold.has(userId)) return this.foldIn(userId);
    const folded = snapshot.folded.get(userId);
    if (folded) return folded;
    const row = snapshot.userIndex.get(userId);
    if (row !== undefined) {
      const { biased } = snapshot.model;
      return {
        bias: biased.userBias[row],
        factors: Float64Array.from(biased.userFactors.subarray(row * biased.k, (row + 1) * biased.k)),
      };
    }
    return this.foldIn(userId);
  }

  /**
   * Recomputes the user's bias and factors from their current ratings with the items fixed
   * (regularised least squares), keeps them for serving and stores them with the active version.
   * Null when the user has no rating the model knows.
   */
  async foldIn(userId: number): Promise<UserParameters | null> {
    const snapshot = this.snapshot;
    if (!snapshot) return null;
    this.recent.delete(userId);
    snapshot.refold.delete(userId);
    // Stars only: the rating model predicts ratings, and a watch is no rating.
    const user = this.userRatings(snapshot, (await this.history.historyOf(userId)).ratings);
    if (user.items.length === 0) {
      snapshot.folded.delete(userId);
      return null;
    }
    const { biased } = snapshot.model;
    const halfLife = biased.recencyHalfLifeDays ?? 0;
    // Fold in the way training fitted users, recency weights included, so folded and trained users agree.
    const weights = halfLife > 0 ? userRecencyWeights(user.timestamps, halfLife) : undefined;
    const parameters = foldInBiasedUser(biased, user.items, user.ratings, biased, weights);
    snapshot.folded.set(userId, parameters);
    await this.store.saveUserFactors(snapshot.model.versionId, userId, parameters.bias, parameters.factors);
    return parameters;
  }

  /** Predictions for every item, for tests and evaluation (rating model). */
  predictAll(parameters: UserParameters): Float32Array {
    const { biased } = this.requireSnapshot().model;
    const out = new Float32Array(biased.itemIds.length);
    predictAllItemsFor(biased, parameters.bias, parameters.factors, out);
    return out;
  }
}
