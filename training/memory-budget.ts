import os from 'node:os';
import type { TrainOptions } from './train';

/**
 * What a training run holds at its peak, so a first start can refuse a run it cannot finish instead
 * of dying of an uncatchable out-of-memory and trying again on every restart (issue 12).
 *
 * Per rating: the dataset (user, item, rating 4 B each; timestamp 8 B), the SGD copy in WebAssembly
 * memory (12 B) with its shuffled order (4 B), the ratings minus the item prior (4 B) and PureSVD's
 * encoded CSR matrix and its transpose (2 × 12 B): ~68 B. Per user and per item: factors in the
 * model, the SGD arena and the averaged copy (3 × 4 B per factor), the top-N factors and the SVD's
 * work matrices (≈ 3 × 8 B per rank, plus oversampling). EASE adds 12 B per entry of its
 * columns × columns matrix. Plus the runtime itself.
 * Calibrated against `npm run bench:scale` (peak RSS of the training child at 1M and 5M ratings).
 */
export const BYTES_PER_RATING = 68;
export const RUNTIME_BYTES = 300 * 2 ** 20;

export interface TrainingShape {
  readonly ratings: number;
  readonly users: number;
  readonly items: number;
}

export function estimateTrainingBytes(shape: TrainingShape, options: TrainOptions): number {
  const factors = options.biased.factors * options.biased.restarts;
  const rank = options.topN.rank + options.topN.oversampling;
  const perRow = 3 * 4 * factors;
  // EASE, when a candidate: its Gram matrix (8 B per entry) and the weights made from it (4 B).
  const easeColumns = options.ease ? Math.min(options.ease.maxColumns, shape.items) : 0;
  return (
    RUNTIME_BYTES +
    shape.ratings * BYTES_PER_RATING +
    (shape.users + shape.items) * perRow +
    (shape.users + shape.items) * 3 * 8 * rank +
    easeColumns * easeColumns * 12
  );
}

/**
 * What a training run may use: 60% of the memory this process may have (its cgroup limit when there
 * is one, otherwise the machine's), leaving the rest to the server that serves meanwhile and the database.
 */
export function trainingMemoryBudget(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const available = constrained > 0 ? Math.min(constrained, os.totalmem()) : os.totalmem();
  return Math.floor(available * 0.6);
}

export class TrainingMemoryError extends Error {
  readonly code = 'TRAINING_MEMORY';
  constructor(
    readonly neededBytes: number,
    readonly budgetBytes: number,
  ) {
    super(
      `training needs about ${gib(neededBytes)} GiB, more than its budget of ${gib(budgetBytes)} GiB ` +
        `(60% of this machine's memory): train on a larger machine with 'npm run train' and load the model`,
    );
    this.name = 'TrainingMemoryError';
  }
}

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
