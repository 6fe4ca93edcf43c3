import { GraphQLError } from 'graphql';
import { EngineNotReadyError } from '../../src/engines/engine';
import { Logger } from '../../src/logger';
import { InvalidWeightsError } from '../../src/orchestrator/weights';
import { maskInternalErrors } from '../../src/server';

/** What graphql-js hands formatError for an error thrown in a resolver. */
function thrownInResolver(original: Error): { formatted: GraphQLError; error: GraphQLError } {
  const error = new GraphQLError(original.message, { path: ['recommendations'], originalError: original });
  return { formatted: error, error };
}

function recordingLogger(): Logger & { errors: unknown[] } {
  const errors: unknown[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (_message, detail) => errors.push(detail) };
}

describe('formatError', () => {
  it('gives domain errors thrown in resolvers their client code and extensions', () => {
    const logger = recordingLogger();
    const format = maskInternalErrors(logger);
    const notReady = thrownInResolver(new EngineNotReadyError('content', 'index building', 0.4));
    expect(format(notReady.formatted.toJSON(), notReady.error)).toEqual({
      message: 'content engine not ready: index building',
      path: ['recommendations'],
      extensions: { code: 'SERVICE_UNAVAILABLE', engine: 'content', progress: 0.4 },
    });
    const weights = thrownInResolver(new InvalidWeightsError('weights must not all be zero'));
    expect(format(weights.formatted.toJSON(), weights.error)).toMatchObject({
      message: 'weights must not all be zero',
      extensions: { code: 'BAD_USER_INPUT' },
    });
    expect(logger.errors).toEqual([]);
  });

  it('masks and logs anything else', () => {
    const logger = recordingLogger();
    const failure = thrownInResolver(new Error('relation "movies" does not exist'));
    expect(maskInternalErrors(logger)(failure.formatted.toJSON(), failure.error)).toEqual({
      message: 'Internal server error',
      path: ['recommendations'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(logger.errors).toEqual([failure.error]);
  });
});
