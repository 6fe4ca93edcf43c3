/**
 * How a movie the user watched to the end without rating it (a WATCH ≥ WATCH_POSITIVE_FRACTION)
 * becomes a rating-like value for the top-N model. One rule for training (training/implicit-feedback.ts
 * adds the entries to the top-N model's data) and serving (the collaborative engine adds them to the
 * user's row): a user is scored from the same kind of row the model learned from.
 */
export interface ImplicitRatingRule {
  readonly offset: number;
}

/**
 * +1.5 over the user's mean (5★ for most users), chosen by NDCG@10 on a validation split of
 * ml-latest-small's training ratings among 0, +0.5, +1 and +1.5 (`npm run eval:watch`; +1 was within
 * 0.0001 of it, +0 and +0.5 0.005 below).
 */
export const DEFAULT_IMPLICIT_RULE: ImplicitRatingRule = { offset: 1.5 };

const MIN_RATING = 0.5;
const MAX_RATING = 5;

/**
 * The rating-like value of an implicit positive: the user's own mean star rating plus the rule's
 * offset, or the global mean plus it for a user without ratings, within the 0.5–5 scale.
 */
export function implicitRatingValue(
  userMean: number | null,
  globalMean: number,
  rule: ImplicitRatingRule = DEFAULT_IMPLICIT_RULE,
): number {
  return Math.min(MAX_RATING, Math.max(MIN_RATING, (userMean ?? globalMean) + rule.offset));
}
