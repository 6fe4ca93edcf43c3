import { Mulberry32 } from '../src/engines/collaborative/kernels/prng';
import {
  countPerIndex,
  DatasetError,
  sampleWithoutReplacement,
  selectRatings,
  type RatingsDataset,
} from './dataset';

/**
 * How a validation split is carved from TRAINING data for model choices: 'temporal' holds out each
 * user's latest ratings (the temporal protocol, and production, where the future is what is served);
 * 'random' a seeded random share of all ratings (the random-split protocols such as ml-100k u1).
 */
export type ValidationSplitKind = 'temporal' | 'random';

/** The top-N model choice's fractions (calibration.ts passes its own). */
export const VALIDATION_FRACTIONS: Record<ValidationSplitKind, number> = { temporal: 0.2, random: 0.1 };

export function isValidationSplitKind(value: string): value is ValidationSplitKind {
  return value === 'temporal' || value === 'random';
}

/**
 * How a 'random' split draws its ratings.
 * - 'exact-share': exactly round(fraction · eligible) ratings, a uniform sample of the eligible
 *   rating positions in dataset order (a partial Fisher–Yates, as splitHoldout).
 * - 'per-rating': every eligible rating held out independently with probability `fraction`, drawn
 *   user by user (user index, then dataset order): the share is only about `fraction`, and a user may,
 *   rarely, lose every rating to validation.
 */
export type RandomValidationDraw = 'exact-share' | 'per-rating';

/**
 * The parameters in which model choices differ; the defaults are the top-N model choice's. The same
 * options, dataset and seed always give the same split.
 */
export interface ValidationSplitOptions {
  /** Default VALIDATION_FRACTIONS[kind]. */
  readonly fraction?: number;
  /** Users with fewer ratings stay whole in `fit` (a validation answer needs a history). Default 1. */
  readonly minUserRatings?: number;
  /** Only for 'random'. Default 'exact-share'. */
  readonly randomDraw?: RandomValidationDraw;
  /**
   * Only for the 'per-rating' draw: which of the floor(1/fraction) disjoint validation parts one seed
   * carves. Each rating draws one uniform u; part k holds the ratings with k·fraction ≤ u <
   * (k+1)·fraction, so part 0 is the split this draw always carved and the parts of one seed never
   * share a rating. Default 0.
   */
  readonly part?: number;
}

export interface ValidationSplit {
  readonly fit: RatingsDataset;
  readonly validation: RatingsDataset;
}

/**
 * The fit/validation pair of `kind`; both keep the dataset's order. 'temporal': per user, ratings
 * sorted by (timestamp, item), ties in dataset order, and the last ceil(fraction·n) held out, but a
 * user always keeps at least one rating to fit on. 'random': as `randomDraw` says, seeded by `seed`.
 */
export function carveValidation(
  dataset: RatingsDataset,
  kind: ValidationSplitKind,
  seed: number,
  options: ValidationSplitOptions = {},
): ValidationSplit {
  const fraction = options.fraction ?? VALIDATION_FRACTIONS[kind];
  const minUserRatings = options.minUserRatings ?? 1;
  if (!(fraction > 0 && fraction < 1)) throw new DatasetError(`fraction must be in (0, 1), got ${fraction}`);
  if (!(Number.isInteger(minUserRatings) && minUserRatings >= 1))
    throw new DatasetError(`minUserRatings must be a positive integer, got ${minUserRatings}`);
  const part = options.part ?? 0;
  if (part !== 0 && (kind !== 'random' || options.randomDraw !== 'per-rating'))
    throw new DatasetError(`only the random per-rating draw carves validation parts, got part ${part}`);
  if (!(Number.isInteger(part) && part >= 0 && part < validationParts(fraction)))
    throw new DatasetError(
      `part must be a whole number below ${validationParts(fraction)} for fraction ${fraction}, got ${part}`,
    );
  if (kind === 'temporal') return temporalHoldout(dataset, fraction, minUserRatings);
  if ((options.randomDraw ?? 'exact-share') === 'per-rating')
    return perRatingHoldout(dataset, fraction, minUserRatings, seed, part);
  return exactShareHoldout(dataset, fraction, minUserRatings, seed);
}

/** carveValidation's 'temporal' split. */
export function temporalHoldout(
  dataset: RatingsDataset,
  fraction: number,
  minUserRatings = 1,
): ValidationSplit {
  if (!(fraction > 0 && fraction < 1)) throw new DatasetError(`fraction must be in (0, 1), got ${fraction}`);
  const { offsets, grouped } = positionsByUser(dataset);
  const held = new Uint8Array(dataset.size);
  for (let user = 0; user < dataset.numUsers; user++) {
    const count = offsets[user + 1] - offsets[user];
    if (count < minUserRatings) continue;
    // Array.sort is stable, so ratings tied on (timestamp, item) stay in dataset order.
    const positions = Array.from(grouped.subarray(offsets[user], offsets[user + 1])).sort(
      (a, b) => dataset.timestamps[a] - dataset.timestamps[b] || dataset.items[a] - dataset.items[b],
    );
    const heldCount = Math.min(Math.ceil(fraction * count), count - 1);
    for (let n = count - heldCount; n < count; n++) held[positions[n]] = 1;
  }
  return byMask(dataset, held);
}

/** How many disjoint validation parts of `fraction` the per-rating draw can carve from one seed. */
export function validationParts(fraction: number): number {
  return Math.floor(1 / fraction);
}

function perRatingHoldout(
  dataset: RatingsDataset,
  fraction: number,
  minUserRatings: number,
  seed: number,
  part: number,
): ValidationSplit {
  const low = part * fraction;
  const high = (part + 1) * fraction;
  const { offsets, grouped } = positionsByUser(dataset);
  const held = new Uint8Array(dataset.size);
  const rng = new Mulberry32(seed);
  for (let user = 0; user < dataset.numUsers; user++) {
    // A user left out draws nothing, so the draws of the others do not depend on them.
    if (offsets[user + 1] - offsets[user] < minUserRatings) continue;
    for (let e = offsets[user]; e < offsets[user + 1]; e++) {
      const draw = rng.nextFloat();
      if (draw >= low && draw < high) held[grouped[e]] = 1;
    }
  }
  return byMask(dataset, held);
}

function exactShareHoldout(
  dataset: RatingsDataset,
  fraction: number,
  minUserRatings: number,
  seed: number,
): ValidationSplit {
  const ratingsPerUser = countPerIndex(dataset.users, dataset.numUsers);
  const isEligible = (n: number) => ratingsPerUser[dataset.users[n]] >= minUserRatings;
  let eligibleCount = 0;
  for (let n = 0; n < dataset.size; n++) if (isEligible(n)) eligibleCount++;
  // Typed, not number[]: at 25M ratings every position may be eligible.
  const eligible = new Int32Array(eligibleCount);
  for (let n = 0, e = 0; n < dataset.size; n++) if (isEligible(n)) eligible[e++] = n;
  const { sample } = sampleWithoutReplacement(
    eligible,
    Math.round(fraction * eligible.length),
    new Mulberry32(seed),
  );
  const held = new Uint8Array(dataset.size);
  for (const n of sample) held[n] = 1;
  return byMask(dataset, held);
}

/** Rating positions grouped by user, each group in dataset order (a counting sort). */
function positionsByUser(dataset: RatingsDataset): { offsets: Int32Array; grouped: Int32Array } {
  const offsets = new Int32Array(dataset.numUsers + 1);
  for (const user of dataset.users) offsets[user + 1]++;
  for (let user = 0; user < dataset.numUsers; user++) offsets[user + 1] += offsets[user];
  const grouped = new Int32Array(dataset.size);
  const cursor = offsets.slice(0, dataset.numUsers);
  for (let n = 0; n < dataset.size; n++) grouped[cursor[dataset.users[n]]++] = n;
  return { offsets, grouped };
}

function byMask(dataset: RatingsDataset, held: Uint8Array): ValidationSplit {
  let heldCount = 0;
  for (const flag of held) heldCount += flag;
  const fit = new Int32Array(dataset.size - heldCount);
  const validation = new Int32Array(heldCount);
  let f = 0;
  let v = 0;
  for (let n = 0; n < dataset.size; n++) {
    if (held[n]) validation[v++] = n;
    else fit[f++] = n;
  }
  return { fit: selectRatings(dataset, fit), validation: selectRatings(dataset, validation) };
}
