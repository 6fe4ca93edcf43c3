import type { BiasedMfOptions } from './biased-mf';
import type { PureSvdOptions } from './top-n';

/** Defaults of the trainer flags: the best settings found (see the training report for the search). */
export const DEFAULT_BIASED_MF_OPTIONS: BiasedMfOptions = {
  factors: 100,
  epochs: 20,
  lrBias: 0.005,
  regBias: 0.02,
  lrFactor: 0.005,
  regFactor: 0.02,
  regExponent: 0,
  recencyHalfLifeDays: 0,
  decay: 1,
  initStd: 0.1,
  biasInit: 'zero',
  seed: 42,
  threads: 1,
  strata: 2,
  validationFraction: 0,
  patience: 0,
  restarts: 1,
};

export const DEFAULT_PURE_SVD_OPTIONS: PureSvdOptions = {
  rank: 50,
  encoding: 'rating',
  popularityExponent: -0.5,
  oversampling: 10,
  powerIterations: 4,
  seed: 42,
};
