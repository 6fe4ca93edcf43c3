import type { RatingRow } from './movielens/formats';

const MAX_INT4 = 2147483647;

/** Digits only, at most 15 of them (exact as a double); -1 otherwise. */
function unsignedAt(text: string, start: number, end: number): number {
  if (start >= end || end - start > 15) return -1;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** "4", "4.0", "3.5", "3.50": whole or half stars; -1 for anything else. */
function halfStarsAt(text: string, start: number, end: number): number {
  const dot = text.indexOf('.', start);
  if (dot < 0 || dot >= end) return unsignedAt(text, start, end);
  const whole = unsignedAt(text, start, dot);
  if (whole < 0 || dot + 1 >= end) return -1;
  const half = text.charCodeAt(dot + 1);
  if (half !== 48 && half !== 53) return -1;
  for (let i = dot + 2; i < end; i++) if (text.charCodeAt(i) !== 48) return -1;
  return half === 53 ? whole + 0.5 : whole;
}

/**
 * The hot loop of every import: validates "userId SEP movieId SEP rating SEP timestamp" by scanning
 * character codes into a reused row, with no splitting or regular expressions. Returns false for
 * anything it does not accept outright (also harmless oddities such as spaces); the caller then
 * asks the full line parser, which either accepts the line or explains what is wrong with it.
 */
export function scanRatingLine(text: string, separator: string, into: RatingRow): boolean {
  const width = separator.length;
  const first = text.indexOf(separator);
  if (first < 0) return false;
  const second = text.indexOf(separator, first + width);
  if (second < 0) return false;
  const third = text.indexOf(separator, second + width);
  if (third < 0 || text.indexOf(separator, third + width) >= 0) return false;
  const userId = unsignedAt(text, 0, first);
  const movieId = unsignedAt(text, first + width, second);
  const rating = halfStarsAt(text, second + width, third);
  const timestamp = unsignedAt(text, third + width, text.length);
  if (userId < 1 || userId > MAX_INT4 || movieId < 1 || movieId > MAX_INT4) return false;
  if (rating < 0.5 || rating > 5 || timestamp < 0) return false;
  into.userId = userId;
  into.movieId = movieId;
  into.rating = rating;
  into.timestamp = timestamp;
  return true;
}
