/**
 * The ranking model a version serves is one of three kinds, chosen per model version by training on
 * a validation split: PureSVD (scores r_u V Vᵀ), implicit ALS (scores H w_u, w_u folded in by an
 * exact rank × rank solve) or EASE (scores x_u B, an item-item matrix over the most rated movies).
 * All score any user from their ratings alone, so a new rating changes the user's list at once;
 * this module hides the difference from the engine.
 */
import { LRUCache } from 'lru-cache';
import {
  easeColumnOf,
  easeColumnScores,
  easeContributions,
  easeScore,
  type EaseUserRow,
  easeContributionsAt,
  type EaseModel,
} from './ease';
import { foldInIalsUser, gramian, ialsContributions, type IalsModel } from './ials';
import { factorScores, itemScore } from './linalg';
import { encodeRating, encodingMean, pureSvdUserVector, type PureSvdModel } from './pure-svd';
import { WasmEaseScorer } from './wasm-ease';

export const TOP_N_KINDS = ['puresvd', 'ials', 'ease'] as const;
export type TopNKind = (typeof TOP_N_KINDS)[number];

export function isTopNKind(value: unknown): value is TopNKind {
  return (TOP_N_KINDS as readonly unknown[]).includes(value);
}

export type FactorTopNModel =
  (PureSvdModel & { readonly kind: 'puresvd' }) | (IalsModel & { readonly kind: 'ials' });
export type TopNModel = FactorTopNModel | (EaseModel & { readonly kind: 'ease' });

/** PureSVD and iALS score by inner products of factors, which approximate retrieval can index. */
export function isFactorModel(model: TopNModel): model is FactorTopNModel {
  return model.kind !== 'ease';
}

/** One user's scores, and how their ratings add up to any one of them. */
export interface TopNUserScores {
  /**
   * w_u: the factor kinds score item i as w_u · h_i (h_i the top-N model's item row); null for EASE,
   * which has no user vector (and no approximate retrieval: its cost is bounded by its columns).
   */
  readonly vector: Float64Array | null;
  /**
   * Every item's score, computed on first read (items × rank multiply-adds: the cost that grows with
   * the catalog, which approximate retrieval avoids).
   */
  readonly scores: Float32Array;
  /**
   * Every item the model ranks, ascending, with the very scores `scores` holds for them; present
   * when those are a small part of the catalog (EASE's columns: 3,000 of 62,423 movies at 25M), so
   * a list is picked from them without a catalog-sized array per user.
   */
  readonly rankedItems?: { readonly items: Int32Array; readonly scores: Float32Array };
  /** One item's score, the very value `scores[item]` holds. */
  score(item: number): number;
  /** Per rating (in the order given), its additive share of `item`'s score. */
  contributions(item: number): Float64Array;
  /**
   * The shares of the ratings at `positions` only, in that order: the very values `contributions`
   * holds there. Explaining a list asks for a user's best ratings (at most 60) per listed movie;
   * every share was an array the length of all their ratings per movie, most of it unread. Absent
   * for iALS, whose shares come from one solve for all ratings.
   */
  contributionsAt?(item: number, positions: readonly number[]): Float64Array;
}

/**
 * Users whose column scores stay at hand: enough for the requests in flight (a HYBRID request ranks,
 * then scores the other engines' candidates), few enough that they die young (32 lists take ~45 ms
 * at 700 first lists/s; a young collection comes every ~0.3 s).
 */
const RECENTLY_RANKED_USERS = 32;

interface RankedColumns {
  items: Int32Array;
  scores: Float32Array;
}

/** Scores users under one top-N model; precomputes what every user shares (iALS's Gramian). */
export class TopNScorer {
  private readonly itemGramian: Float64Array | null;
  private readonly easeColumns: Int32Array | null;
  /**
   * Made by prepareForServing or on the first user scored (a copy of the weights), so models that
   * only train never hold it.
   */
  private easeScorer: WasmEaseScorer | null | undefined;
  /** EASE's column scores of the last users ranked, by their items array (scoreEaseUser says why). */
  private readonly recentlyRanked = new LRUCache<object, RankedColumns>({ max: RECENTLY_RANKED_USERS });

  constructor(readonly model: TopNModel) {
    this.itemGramian =
      model.kind === 'ials'
        ? gramian(model.itemFactors, model.rank, new Float64Array(model.rank * model.rank))
        : null;
    this.easeColumns = model.kind === 'ease' ? easeColumnOf(model) : null;
  }

  get numItems(): number {
    const model = this.model;
    return model.kind === 'ease' ? model.numItems : model.itemFactors.length / model.rank;
  }

  /**
   * 1 for the items this model ranks: EASE's columns; for the factor kinds, items with a non-zero
   * row (an item without ratings has an all-zero row: its column of the rating matrix is empty).
   */
  rankable(): Uint8Array {
    const model = this.model;
    const rankable = new Uint8Array(this.numItems);
    if (model.kind === 'ease') {
      for (const item of model.columns) rankable[item] = 1;
      return rankable;
    }
    const { rank, itemFactors } = model;
    for (let item = 0; item < rankable.length; item++) {
      for (let f = item * rank; f < (item + 1) * rank; f++) {
        if (itemFactors[f] !== 0) {
          rankable[item] = 1;
          break;
        }
      }
    }
    return rankable;
  }

  /** `items` are item indices of the model; ratings on the model's scale; timestamps in unix seconds. */
  scoreUser(
    items: ArrayLike<number>,
    ratings: ArrayLike<number>,
    timestamps?: ArrayLike<number>,
  ): TopNUserScores {
    const model = this.model;
    const numItems = this.numItems;
    if (model.kind === 'ease') return this.scoreEaseUser(model, items, ratings);
    const lazyScores = (vector: Float64Array) => {
      let all: Float32Array | null = null;
      return {
        get scores(): Float32Array {
          if (!all) {
            all = new Float32Array(numItems);
            factorScores(model.itemFactors, model.rank, vector, all);
          }
          return all;
        },
        score: (item: number) =>
          all ? all[item] : itemScore(vector, model.itemFactors, item * model.rank, model.rank),
      };
    };
    if (model.kind === 'ials') {
      const system = foldInIalsUser(model, this.itemGramian as Float64Array, items, ratings, timestamps);
      const vector = system.vector;
      return Object.assign(lazyScores(vector), {
        vector,
        contributions: (item: number) => ialsContributions(model, system, items, item),
      });
    }
    const vector = new Float64Array(model.rank);
    pureSvdUserVector(model, items, ratings, vector);
    const mean = encodingMean(model.encoding, ratings);
    // score(i) = Σ_j e(r_j)·(v_j·v_i): one term per rated item.
    const share = (item: number, n: number) => {
      const { rank, itemFactors } = model;
      let similarity = 0;
      for (let f = 0; f < rank; f++)
        similarity += itemFactors[items[n] * rank + f] * itemFactors[item * rank + f];
      return encodeRating(model.encoding, ratings[n], mean) * similarity;
    };
    return Object.assign(lazyScores(vector), {
      vector,
      contributions: (item: number) => {
        const out = new Float64Array(items.length);
        for (let n = 0; n < items.length; n++) out[n] = share(item, n);
        return out;
      },
      contributionsAt: (item: number, positions: readonly number[]) =>
        sharesAt(positions, (n) => share(item, n)),
    });
  }

  /** What serving needs that training does not, made now rather than on the first user scored. */
  prepareForServing(): void {
    this.wasmEase();
  }

  private wasmEase(): WasmEaseScorer | null {
    if (this.easeScorer === undefined)
      this.easeScorer = this.model.kind === 'ease' ? WasmEaseScorer.of(this.model) : null;
    return this.easeScorer;
  }

  private scoreEaseUser(
    model: EaseModel,
    items: ArrayLike<number>,
    ratings: ArrayLike<number>,
  ): TopNUserScores {
    const columnOf = this.easeColumns as Int32Array;
    const wasmEase = () => this.wasmEase();
    let all: Float32Array | null = null;
    let row: EaseUserRow | undefined;
    const userRow = () => (row ??= { items, ratings, mean: encodingMean(model.encoding, ratings) });
    // Kept only among the last few users ranked (recentlyRanked), not with the user's state: the
    // state lives for up to MAX_USER_STATES users, and V8 starts a full collection each time 64 MB
    // more of ArrayBuffers outlive young collections. Kept with it (12 kB a user at 3,000 columns),
    // first COLLABORATIVE lists at 25M ratings set one off every ~3.4 s for "external memory
    // pressure" (`--trace-incremental-marking`). A HYBRID request scores the other engines'
    // candidates within milliseconds of ranking, so they are still there; later, a movie's score is
    // its term per rated movie (easeScore), the same value.
    const rankedItems = () => {
      const recent = this.recentlyRanked.get(items);
      if (recent) return recent;
      const columnScores = new Float64Array(model.columns.length);
      const scorer = wasmEase();
      if (!scorer?.columnScores(columnOf, items, ratings, columnScores))
        easeColumnScores(model, columnOf, items, ratings, columnScores);
      const ranked = { items: model.columns, scores: new Float32Array(columnScores) };
      this.recentlyRanked.set(items, ranked);
      return ranked;
    };
    return {
      vector: null,
      get rankedItems() {
        return rankedItems();
      },
      get scores(): Float32Array {
        if (!all) {
          const { items: columns, scores } = rankedItems();
          all = new Float32Array(model.numItems);
          for (let column = 0; column < columns.length; column++) all[columns[column]] = scores[column];
        }
        return all;
      },
      // One item: a term per rated movie, without scoring every column.
      score: (item: number) => {
        const recent = this.recentlyRanked.get(items);
        if (recent) return columnOf[item] < 0 ? 0 : recent.scores[columnOf[item]];
        return Math.fround(easeScore(model, columnOf, userRow(), item));
      },
      contributions: (item: number) => easeContributions(model, columnOf, items, ratings, item),
      contributionsAt: (item: number, positions: readonly number[]) =>
        easeContributionsAt(model, columnOf, items, ratings, userRow().mean, item, positions),
    };
  }
}

/**
 * Each position's share, by index: Float64Array.from over an array walks it with the iterator
 * protocol, an object per element (a third of what explaining a first COLLABORATIVE list's items
 * allocated at 25M, heap sampling).
 */
function sharesAt(positions: readonly number[], share: (n: number) => number): Float64Array {
  const out = new Float64Array(positions.length);
  for (let k = 0; k < positions.length; k++) out[k] = share(positions[k]);
  return out;
}
