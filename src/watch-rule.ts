/**
 * A WATCH of at least this fraction counts as the user having seen and liked the movie: it leaves
 * their lists like a rating, and training counts it as a positive (training/implicit-feedback.ts).
 * Below it nothing is inferred: stopping halfway says little (interrupted, or disliked). The partial
 * index feedback_events_excluded_idx repeats the value.
 */
export const WATCH_POSITIVE_FRACTION = 0.8;
