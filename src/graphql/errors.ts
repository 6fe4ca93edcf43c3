import { GraphQLError } from 'graphql';
import { ErrorCode } from '../errors';

export type { ErrorCode };

export function clientError(
  code: ErrorCode,
  message: string,
  extensions: Record<string, unknown> = {},
): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

/**
 * What content queries answer when the service runs without the content engine (CONTENT_ENGINE=false): coded
 * and naming the engine like an engine that is not ready, so clients handle both alike and nothing is logged.
 */
export function contentEngineOff(): GraphQLError {
  return clientError('SERVICE_UNAVAILABLE', 'the content engine is switched off (CONTENT_ENGINE=false)', {
    engine: 'content',
    progress: null,
  });
}

export const MAX_PAGE_SIZE = 100;

/** The largest value of PostgreSQL's integer, the type of every id column. */
export const MAX_ID = 2_147_483_647;

/**
 * Text that reaches SQL must not hold NUL: PostgreSQL cannot store the character and rejects the
 * whole statement (SQLSTATE 22021), which would otherwise surface as an internal error.
 */
export function checkText<T extends string | readonly string[] | null | undefined>(
  value: T,
  argument: string,
): T {
  const values: readonly (string | null | undefined)[] = Array.isArray(value) ? value : [value as string];
  if (values.some((text) => typeof text === 'string' && text.includes('\u0000')))
    throw clientError('BAD_USER_INPUT', `${argument} must not contain NUL characters`, { argument });
  return value;
}

/** The description of a page-size argument (`first`), stating its limit. */
export function pageSize(defaultValue: number): string {
  return `How many, 1 to ${MAX_PAGE_SIZE} (default ${defaultValue}); BAD_USER_INPUT outside.`;
}

export function checkPageSize(first: number, argument = 'first'): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE)
    throw clientError('BAD_USER_INPUT', `${argument} must be between 1 and ${MAX_PAGE_SIZE}, got ${first}`, {
      argument,
    });
  return first;
}
