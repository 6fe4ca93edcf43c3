import type { EaseOptions } from './ease';
import type { BiasedMfOptions } from './biased-mf';
import type { IalsOptions } from './ials';
import type { ItemPriorOptions } from './item-prior';
import type { PureSvdOptions } from './top-n';

/**
 * Defaults of the trainer flags: the best settings found by random search on ml-100k u1..u5 and the
 * temporal split of ml-latest-small together. Many factors from a tiny initialisation with a high,
 * geometrically decaying learning rate converge without early stopping (the implicit low-rank bias of
 * small initialisation does the regularising), slow bias learning keeps the biases from overfitting,
 * and the 90-day recency refit of the user biases follows each user's current generosity.
 */
export const DEFAULT_BIASED_MF_OPTIONS: BiasedMfOptions = {
  factors: 300,
  epochs: 60,
  lrBias: 0.003,
  regBias: 0.02,
  lrFactor: 0.03,
  regFactor: 0.05,
  regExponent: 0,
  recencyHalfLifeDays: 90,
  decay: 0.92,
  initStd: 0.005,
  biasInit: 'zero',
  seed: 42,
  threads: 1,
  strata: 'auto',
  validationFraction: 0,
  patience: 0,
  restarts: 1,
  kernel: 'auto',
};

export const DEFAULT_PURE_SVD_OPTIONS: PureSvdOptions = {
  rank: 50,
  encoding: 'rating',
  popularityExponent: -0.5,
  oversampling: 10,
  powerIterations: 4,
  seed: 42,
};

/**
 * Chosen on a validation split of the temporal protocol's TRAINING ratings (each user's last 20% of
 * train), never on its test set: λ 25 and 100 for the attribute effects were within 0.0001, genres
 * plus decade beat genres alone, and adding a rating-count attribute hurt unrated items.
 */
export const DEFAULT_ITEM_PRIOR_OPTIONS: ItemPriorOptions = {
  regAttribute: 25,
  regUser: 5,
  iterations: 15,
  factorShrinkage: 5,
};

/**
 * iALS (see kernels/ials.ts), chosen on validation splits carved from the TRAINING data only (ml-100k
 * u1.base minus a seeded random 10%; the temporal protocol's train minus each user's latest 20%),
 * never on a test set. Validation NDCG@10 (PureSVD defaults on the same splits: u1 0.2215, temporal
 * 0.1157), rank 64 unless said:
 * - α0 × λ at ν = 1 (u1): α0 0.5 λ 0.01 → 0.2217; α0 0.5 λ 0.005 → 0.1972, λ 0.02 → 0.1924, λ 0.05 →
 *   0.1377; α0 1 λ 0.005 → 0.2155; α0 0.1 λ 0.05 → 0.1796; α0 0.01 → ≤ 0.1496; α0 3 → ≤ 0.1871.
 * - ν = 0 (plain λ) was worse at every α0 tried (α0 1: 0.1704 / 0.1698 vs 0.2155 / 0.1732 at ν = 1).
 * - rank (α0 0.5, λ 0.01, u1): 64 → 0.2217, 128 → 0.2248, 256 → 0.2245; λ 0.007 at 128 → 0.2058.
 * - more solving (u1, rank 128): 20 epochs × 6 CG steps → 0.2250 vs 12 × 3 → 0.2248: converged.
 * - confidence 1 + β·r (u1, rank 64): β 0.3 → 0.2133, 1 → 0.2019, 3 → 0.1845: being rated matters
 *   more than the rating; β = 0.
 * - temporal, rank 128: α0 0.5 λ 0.01 → 0.1055, λ 0.005 → 0.1089; α0 1 λ 0.003 → 0.1096, λ 0.005 →
 *   0.1059; α0 2 λ 0.003 → 0.1080. No setting reached PureSVD's 0.1157 on this split.
 * - recency-weighted confidence (temporal, rank 64, α0 1 λ 0.005): half-life 30 d → 0.1062, 365 d →
 *   0.1070, off → 0.1064: off.
 * - popularity-shaped unobserved weights (α0·count^η, He et al. 2016; u1, rank 64): η 0.5 → 0.1961,
 *   −0.5 → 0.2132, 0 → 0.2217: uniform (the experiment was not kept in the code).
 * Kept: rank 128, α0 0.5, λ 0.01 (the best on u1; on temporal PureSVD wins and is what training
 * serves there, see TopNSelection).
 */
export const DEFAULT_IALS_OPTIONS: IalsOptions = {
  rank: 128,
  epochs: 12,
  cgSteps: 3,
  regularization: 0.01,
  regExponent: 1,
  unobservedWeight: 0.5,
  confidenceScale: 0,
  recencyHalfLifeDays: 0,
  initScale: 0.1,
  seed: 42,
};

/**
 * EASE, chosen on validation splits carved from the TRAINING data only (scripts/tune-ials.ts
 * --model ease; ml100k-u1: a seeded random 10%, temporal: each user's latest 20%); never on a test
 * set. Validation NDCG@10, u1 / temporal (PureSVD 0.2215 / 0.1157):
 * - lambdaScale × minRatings: 2 × 10 → 0.2257 / 0.1269; 5 × 10 → 0.2299 / 0.1294; 10 × 10 → 0.2292 /
 *   0.1308; 20 × 10 → 0.2213 / 0.1288; 5 × 1 → 0.2301 (u1); 5 × 5 → 0.1276, 5 × 20 → 0.1295 (temporal).
 *   Kept 10 × 10: the larger mean gain over PureSVD across the two (+3.5% / +13.0%).
 * - Encoding (u1, absolute λ): ratings beat binary (best 0.2306 against 0.2164), and r², r − 2, and
 *   an extra dropout-style ridge on the diagonal (EDLAE) did not beat plain ratings (≤ 0.2309).
 * - maxColumns is a cost bound, not a quality choice: 1,534 movies qualify on ml-latest-small's
 *   temporal split (fit 2.7–4.7 s), 1,250–1,650 on ml-100k. Past that the inversion dominates:
 *   1,500 columns 2.3 s, 4,000 columns 54 s here (load 1.2; columns³/2 multiply-adds; the sweep
 *   before it was blocked and threaded, training/ease-sweep.ts), and a
 *   selection fits twice, so catalogs at ML-25M scale keep their 3,000 most rated movies (~23 s a
 *   fit, 108 MB at peak, 36 MB served); which of PureSVD and EASE serves there is again validation's
 *   choice.
 */
export const DEFAULT_EASE_OPTIONS: EaseOptions = {
  encoding: 'rating',
  lambdaScale: 10,
  minRatings: 10,
  maxColumns: 3000,
};
