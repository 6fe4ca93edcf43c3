import { GraphQLError } from 'graphql';

export type ErrorCode =
  'BAD_USER_INPUT' | 'NOT_FOUND' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'SERVICE_UNAVAILABLE';

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

export function checkPageSize(first: number, argument = 'first'): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE)
    throw clientError('BAD_USER_INPUT', `${argument} must be between 1 and ${MAX_PAGE_SIZE}, got ${first}`, {
      argument,
    });
  return first;
}
