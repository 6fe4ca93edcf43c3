import { GraphQLError } from 'graphql';
import { EngineInputError, EngineNotReadyError } from '../engines/engine';
import { RecommendationInputError } from '../orchestrator/orchestrator';
import { InvalidWeightsError } from '../orchestrator/weights';
import { ServiceError } from '../services/errors';
import { clientError } from './errors';

/**
 * Turns the domain's own errors into GraphQL errors with a stable extensions.code; anything else is
 * returned as it is (and masked by the server's formatError).
 */
export function toClientError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof ServiceError) return clientError(error.code, error.message);
  if (error instanceof EngineInputError) return clientError(error.code, error.message);
  if (error instanceof InvalidWeightsError || error instanceof RecommendationInputError)
    return clientError('BAD_USER_INPUT', error.message);
  if (error instanceof EngineNotReadyError)
    return clientError('SERVICE_UNAVAILABLE', `${error.engine} engine not ready: ${error.reason}`, {
      engine: error.engine,
      progress: error.progress ?? null,
    });
  return error;
}
