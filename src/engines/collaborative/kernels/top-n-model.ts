/**
 * The ranking model a version serves is one of two kinds, chosen per model version by training on
 * a validation split: PureSVD (scores r_u V Vᵀ) or implicit ALS (scores H w_u, w_u folded in by an
 * exact rank × rank solve). Both score any user from their ratings alone, so a new rating changes
 * the user's list at once; this module hides the difference from the engine.
 */
import { foldInIalsUser, gramian, ialsContributions, type IalsModel } from './ials';
import { factorScores } from './linalg';
import { encodeRating, pureSvdScores, pureSvdUserVector, type PureSvdModel } from './pure-svd';

export const TOP_N_KINDS = ['puresvd', 'ials'] as const;
export type TopNKind = (typeof TOP_N_KINDS)[number];

export function isTopNKind(value: unknown): value is TopNKind {
  return (TOP_N_KINDS as readonly unknown[]).includes(value);
}

export type TopNModel =
  (PureSvdModel & { readonly kind: 'puresvd' }) | (IalsModel & { readonly kind: 'ials' });

/** One user's scores for every item, and how their ratings add up to any one of them. */
export interface TopNUserScores {
  readonly scores: Float32Array;
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
    const scores = new Float32Array(this.numItems);
    if (model.kind === 'ials') {
      const system = foldInIalsUser(model, this.itemGramian as Float64Array, items, ratings, timestamps);
      factorScores(model.itemFactors, model.rank, system.vector, scores);
      return { scores, contributions: (item) => ialsContributions(model, system, items, item) };
    }
    const vector = new Float64Array(model.rank);
    pureSvdUserVector(model, items, ratings, vector);
    pureSvdScores(model, vector, scores);
    let mean = 0;
    for (let n = 0; n < ratings.length; n++) mean += ratings[n] / ratings.length;
    return {
      scores,
      // score(i) = Σ_j e(r_j)·(v_j·v_i): one term per rated item.
      contributions: (item) => {
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
    };
  }
}
