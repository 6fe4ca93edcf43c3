/**
 * The ranking model a version serves is one of two kinds, chosen per model version by training on
 * a validation split: PureSVD (scores r_u V Vᵀ) or implicit ALS (scores H w_u, w_u folded in by an
 * exact rank × rank solve). Both score any user from their ratings alone, so a new rating changes
 * the user's list at once; this module hides the difference from the engine.
 */
import { foldInIalsUser, gramian, ialsContributions, type IalsModel } from './ials';
import { factorScores, itemScore } from './linalg';
import { encodeRating, pureSvdUserVector, type PureSvdModel } from './pure-svd';

export const TOP_N_KINDS = ['puresvd', 'ials'] as const;
export type TopNKind = (typeof TOP_N_KINDS)[number];

export function isTopNKind(value: unknown): value is TopNKind {
  return (TOP_N_KINDS as readonly unknown[]).includes(value);
}

export type TopNModel =
  (PureSvdModel & { readonly kind: 'puresvd' }) | (IalsModel & { readonly kind: 'ials' });

/** One user's scores, and how their ratings add up to any one of them. */
export interface TopNUserScores {
  /** w_u: both kinds score item i as w_u · h_i (h_i the top-N model's item row). */
  readonly vector: Float64Array;
  /**
   * Every item's score, computed on first read (items × rank multiply-adds: the cost that grows with
   * the catalog, which approximate retrieval avoids).
   */
  readonly scores: Float32Array;
  /** One item's score, the very value `scores[item]` holds. */
  score(item: number): number;
  /** Per rating (in the order given), its additive share of `item`'s score. */
  contributions(item: number): Float64Array;
}

/** Scores users under one top-N model; precomputes what every user shares (iALS's Gramian). */
export class TopNScorer {
  private readonly itemGramian: Float64Array | null;

  constructor(readonly model: TopNModel) {
    this.itemGramian =
      model.kind === 'ials'
        ? gramian(model.itemFactors, model.rank, new Float64Array(model.rank * model.rank))
        : null;
  }

  get numItems(): number {
    return this.model.itemFactors.length / this.model.rank;
  }

  /** `items` are item indices of the model; ratings on the model's scale; timestamps in unix seconds. */
  scoreUser(
    items: ArrayLike<number>,
    ratings: ArrayLike<number>,
    timestamps?: ArrayLike<number>,
  ): TopNUserScores {
    const model = this.model;
    const numItems = this.numItems;
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
    let mean = 0;
    for (let n = 0; n < ratings.length; n++) mean += ratings[n] / ratings.length;
    return Object.assign(lazyScores(vector), {
      vector,
      // score(i) = Σ_j e(r_j)·(v_j·v_i): one term per rated item.
      contributions: (item: number) => {
        const { rank, itemFactors } = model;
        const out = new Float64Array(items.length);
        for (let n = 0; n < items.length; n++) {
          let similarity = 0;
          for (let f = 0; f < rank; f++)
            similarity += itemFactors[items[n] * rank + f] * itemFactors[item * rank + f];
          out[n] = encodeRating(model.encoding, ratings[n], mean) * similarity;
        }
        return out;
      },
    });
  }
}
