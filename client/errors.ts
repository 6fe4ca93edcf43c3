/**
 * Every extensions.code the Cinegraph server answers with, as values and as a union. Each list
 * mirrors one definition of the server's; tests/client/error-codes.test.ts fails when they differ.
 */

/** Errors the domain raises on purpose (the server's ERROR_CODES, src/errors.ts). */
export const DOMAIN_ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'SERVICE_UNAVAILABLE',
] as const;

/** Refusals at the HTTP edge and by the query limits (the server's HTTP_ERROR_CODES, src/http/request-body.ts). */
export const HTTP_ERROR_CODES = [
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
] as const;

/**
 * What Apollo Server itself answers: unparsable or invalid operations (introspection when switched
 * off is one: GRAPHQL_VALIDATION_FAILED), persisted-query misses, and INTERNAL_SERVER_ERROR for every
 * unexpected failure (masked).
 */
export const GRAPHQL_SERVER_ERROR_CODES = [
  'INTERNAL_SERVER_ERROR',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'BAD_USER_INPUT',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
] as const;

export type CinegraphErrorCode =
  | (typeof DOMAIN_ERROR_CODES)[number]
  | (typeof HTTP_ERROR_CODES)[number]
  | (typeof GRAPHQL_SERVER_ERROR_CODES)[number];

/** Every code, each once. */
export const ERROR_CODES: readonly CinegraphErrorCode[] = [
  ...new Set<CinegraphErrorCode>([...DOMAIN_ERROR_CODES, ...HTTP_ERROR_CODES, ...GRAPHQL_SERVER_ERROR_CODES]),
];

/** Whether the same request may succeed after a moment: the service was unavailable or rate-limited. */
export function isRetryable(code: CinegraphErrorCode | undefined): boolean {
  return code === 'SERVICE_UNAVAILABLE' || code === 'RATE_LIMITED';
}

export function isCinegraphErrorCode(value: unknown): value is CinegraphErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
