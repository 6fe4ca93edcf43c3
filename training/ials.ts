import { performance } from 'node:perf_hooks';
import {
  CgScratch,
  ialsConfidences,
  gramian,
  solveIalsRow,
  type IalsModel,
  type IalsParameters,
} from '../src/engines/collaborative/kernels/ials';
import { fillGaussian, Mulberry32 } from '../src/engines/collaborative/kernels/prng';
import { buildCsr, type CsrMatrix } from '../src/engines/collaborative/kernels/sparse';
import { TrainingOptionsError } from './biased-mf';
import type { RatingsDataset } from './dataset';

export interface IalsOptions extends IalsParameters {
  readonly rank: number;
  /** Alternations (a user half-step, then an item half-step). */
  readonly epochs: number;
  /** Conjugate-gradient steps per row and half-step, warm-started from the row's previous factors. */
  readonly cgSteps: number;
  /** Initial factors ~ N(0, (initScale/√rank)²), as in Rendle et al. 2021. */
  readonly initScale: number;
  readonly seed: number;
}

export interface IalsResult {
  readonly model: IalsModel;
  /**
   * numUsers × rank: each training user's exact solve against the final item factors (conjugate
   * gradients run to convergence), i.e. what serving's fold-in computes for the same ratings. Null
   * when not asked for: serving folds users in from their ratings and never reads them.
   */
  readonly userFactors: Float32Array | null;
  readonly trainSeconds: number;
  readonly epochSeconds: number[];
}

/** Conjugate gradients to convergence: what the final user pass and the tests use. */
export const CONVERGED_SOLVE = { steps: 1000, tolerance: 1e-7 } as const;

export function validateIalsOptions(options: IalsOptions): void {
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new TrainingOptionsError(message);
  };
  check(Number.isInteger(options.rank) && options.rank >= 1, 'ials rank must be ≥ 1');
  check(Number.isInteger(options.epochs) && options.epochs >= 1, 'ials epochs must be ≥ 1');
  check(Number.isInteger(options.cgSteps) && options.cgSteps >= 1, 'ials cgSteps must be ≥ 1');
  check(options.regularization >= 0 && Number.isFinite(options.regularization), 'ials λ must be ≥ 0');
  check(Number.isFinite(options.regExponent), 'ials regExponent must be finite');
  check(options.unobservedWeight >= 0 && Number.isFinite(options.unobservedWeight), 'ials α0 must be ≥ 0');
  check(options.confidenceScale >= 0 && Number.isFinite(options.confidenceScale), 'ials β must be ≥ 0');
  check(
    options.recencyHalfLifeDays >= 0 && Number.isFinite(options.recencyHalfLifeDays),
    'ials recencyHalfLifeDays must be ≥ 0',
  );
  check(options.initScale > 0 && Number.isFinite(options.initScale), 'ials initScale must be > 0');
}

/** One side of the alternation: rows of `csr` solved against the fixed `other` factors. */
export interface IalsHalf {
  readonly csr: CsrMatrix;
  readonly confidences: Float32Array;
}

export function ialsHalves(
  dataset: RatingsDataset,
  parameters: IalsParameters,
): {
  users: IalsHalf;
  items: IalsHalf;
} {
  // Each rating's confidence depends on its user's latest timestamp: computed user by user, then
  // carried as the CSR values of both halves.
  const byRating = buildCsr(
    dataset.users,
    Int32Array.from({ length: dataset.size }, (_, n) => n),
    new Float32Array(dataset.size),
    dataset.numUsers,
    dataset.size,
  );
  const confidence = new Float32Array(dataset.size);
  for (let user = 0; user < dataset.numUsers; user++) {
    const positions = byRating.columns.subarray(byRating.offsets[user], byRating.offsets[user + 1]);
    const values = ialsConfidences(
      parameters,
      Array.from(positions, (n) => dataset.ratings[n]),
      Array.from(positions, (n) => dataset.timestamps[n]),
    );
    positions.forEach((n, at) => (confidence[n] = values[at]));
  }
  const byUser = buildCsr(dataset.users, dataset.items, confidence, dataset.numUsers, dataset.numItems);
  const byItem = buildCsr(dataset.items, dataset.users, confidence, dataset.numItems, dataset.numUsers);
  return {
    users: { csr: byUser, confidences: byUser.values },
    items: { csr: byItem, confidences: byItem.values },
  };
}

/** Solves every row of one half against `other` (Gramian computed here), in place in `solved`. */
export function solveHalf(
  half: IalsHalf,
  other: Float32Array,
  solved: Float32Array,
  rank: number,
  parameters: IalsParameters,
  solve: { steps: number; tolerance: number },
  scratch = new CgScratch(rank),
): void {
  const scaled = gramian(other, rank, new Float64Array(rank * rank));
  for (let n = 0; n < scaled.length; n++) scaled[n] *= parameters.unobservedWeight;
  const otherSide = other.length / rank;
  for (let row = 0; row < half.csr.numRows; row++) {
    solveIalsRow(
      half.csr,
      row,
      other,
      solved,
      rank,
      scaled,
      parameters,
      otherSide,
      half.confidences,
      scratch,
      solve,
    );
  }
}

/**
 * Trains iALS by alternating least squares with warm-started conjugate-gradient solves (Takács,
 * Pilászy & Tikk 2011): each half-step costs O(nnz·k·s + rows·k²·s) for s CG steps, plus the k²
 * Gramian of the fixed side.
 */
export function trainIals(
  dataset: RatingsDataset,
  options: IalsOptions,
  onEpoch?: (epoch: number, seconds: number) => void,
  { solveUsers = true }: { solveUsers?: boolean } = {},
): IalsResult {
  validateIalsOptions(options);
  const started = performance.now();
  const { rank } = options;
  const { users, items } = ialsHalves(dataset, options);
  const rng = new Mulberry32(options.seed);
  const userFactors = new Float32Array(dataset.numUsers * rank);
  const itemFactors = new Float32Array(dataset.numItems * rank);
  fillGaussian(userFactors, rng, options.initScale / Math.sqrt(rank));
  fillGaussian(itemFactors, rng, options.initScale / Math.sqrt(rank));
  const scratch = new CgScratch(rank);
  const step = { steps: options.cgSteps, tolerance: 0 };
  const epochSeconds: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const epochStarted = performance.now();
    solveHalf(users, itemFactors, userFactors, rank, options, step, scratch);
    solveHalf(items, userFactors, itemFactors, rank, options, step, scratch);
    epochSeconds.push((performance.now() - epochStarted) / 1000);
    onEpoch?.(epoch, epochSeconds[epoch]);
  }
  // The converged user pass cost a quarter of the whole fit at ML-25M shape (bench-topn.ts): only
  // evaluation, which scores training users from stored vectors, needs it.
  if (solveUsers) solveHalf(users, itemFactors, userFactors, rank, options, CONVERGED_SOLVE, scratch);
  return {
    model: {
      rank,
      itemFactors,
      regularization: options.regularization,
      regExponent: options.regExponent,
      unobservedWeight: options.unobservedWeight,
      confidenceScale: options.confidenceScale,
      recencyHalfLifeDays: options.recencyHalfLifeDays,
    },
    userFactors: solveUsers ? userFactors : null,
    trainSeconds: (performance.now() - started) / 1000,
    epochSeconds,
  };
}
