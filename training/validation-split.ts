import { DatasetError, selectRatings, splitHoldout, type RatingsDataset } from './dataset';

/**
 * How a validation split is carved from TRAINING data for model choices: 'temporal' holds out each
 * user's latest ratings (the temporal protocol, and production, where the future is what is served);
 * 'random' a seeded random share of all ratings (the random-split protocols such as ml-100k u1).
 */
export type ValidationSplitKind = 'temporal' | 'random';

export const VALIDATION_FRACTIONS: Record<ValidationSplitKind, number> = { temporal: 0.2, random: 0.1 };

export function isValidationSplitKind(value: string): value is ValidationSplitKind {
  return value === 'temporal' || value === 'random';
}

/**
 * Per user, ratings sorted by (timestamp, item) and the last ceil(fraction·n) held out, but every
 * user keeps at least one rating to fit on (a user with a single rating stays whole in `fit`).
 */
export function temporalHoldout(
  dataset: RatingsDataset,
  fraction: number,
): { fit: RatingsDataset; validation: RatingsDataset } {
  if (!(fraction > 0 && fraction < 1)) throw new DatasetError(`fraction must be in (0, 1), got ${fraction}`);
  const byUser: number[][] = Array.from({ length: dataset.numUsers }, () => []);
  for (let n = 0; n < dataset.size; n++) byUser[dataset.users[n]].push(n);
  const fit: number[] = [];
  const validation: number[] = [];
  for (const positions of byUser) {
    positions.sort(
      (a, b) => dataset.timestamps[a] - dataset.timestamps[b] || dataset.items[a] - dataset.items[b],
    );
    const held = Math.min(Math.ceil(fraction * positions.length), positions.length - 1);
    const cut = positions.length - Math.max(0, held);
    fit.push(...positions.slice(0, cut));
    validation.push(...positions.slice(cut));
  }
  const sorted = (positions: number[]) => Int32Array.from(positions).sort();
  return { fit: selectRatings(dataset, sorted(fit)), validation: selectRatings(dataset, sorted(validation)) };
}

/** The fit/validation pair of `kind` (fractions from VALIDATION_FRACTIONS unless given). */
export function carveValidation(
  dataset: RatingsDataset,
  kind: ValidationSplitKind,
  seed: number,
  fraction = VALIDATION_FRACTIONS[kind],
): { fit: RatingsDataset; validation: RatingsDataset } {
  if (kind === 'temporal') return temporalHoldout(dataset, fraction);
  const { train, holdout } = splitHoldout(dataset, fraction, seed);
  return { fit: train, validation: holdout };
}
