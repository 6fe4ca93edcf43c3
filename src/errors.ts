/**
 * The codes a client sees in extensions.code for errors the domain raises on purpose. A value, not
 * only a type, so the typed client's union is checked against it (tests/client/error-codes.test.ts).
 */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SERVICE_UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The one base of every error the domain raises on purpose: it carries its client code (and any
 * extra extensions), so the API turns it into a coded GraphQL error without knowing each subclass.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure the client can simply retry after a moment (database unreachable, stalled or out of disk). */
export class ServiceUnavailableError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SERVICE_UNAVAILABLE', message, { retryable: true }, options);
  }
}
