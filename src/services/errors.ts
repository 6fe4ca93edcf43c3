import { DomainError, ErrorCode } from '../errors';

/** Errors services raise for the API to turn into client errors (the code maps to extensions.code). */
export class ServiceError extends DomainError {
  constructor(code: Exclude<ErrorCode, 'SERVICE_UNAVAILABLE'>, message: string) {
    super(code, message);
  }
}

export function checkRatingValue(rating: number): number {
  if (!Number.isFinite(rating) || rating < 0.5 || rating > 5 || Math.round(rating * 2) !== rating * 2)
    throw new ServiceError('BAD_USER_INPUT', `rating must be between 0.5 and 5 in half steps, got ${rating}`);
  return rating;
}
