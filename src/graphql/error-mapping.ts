import { GraphQLError } from 'graphql';
import { databaseFailure } from '../db/errors';
import { DomainError } from '../errors';
import { clientError } from './errors';

/**
 * Turns the domain's own errors (one base, DomainError, carrying its code) and database failures
 * the client can act on (retry when unavailable, fix its text) into GraphQL errors with a stable
 * extensions.code; anything else is returned as it is (and masked by the server's formatError).
 */
export function toClientError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  const domain = error instanceof DomainError ? error : databaseFailure(error);
  if (domain) return clientError(domain.code, domain.message, domain.extensions);
  return error;
}
