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
  strata: 2,
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

/** iALS (see kernels/ials.ts). Provisional: being tuned on validation splits. */
export const DEFAULT_IALS_OPTIONS: IalsOptions = {
  rank: 64,
  epochs: 12,
  cgSteps: 3,
  regularization: 0.005,
  regExponent: 1,
  unobservedWeight: 0.05,
  confidenceScale: 0,
  recencyHalfLifeDays: 0,
  initScale: 0.1,
  seed: 42,
};
