import { GraphQLError } from 'graphql';
import { QueryFailedError } from 'typeorm';
import { databaseFailure } from '../../src/db/errors';
import { Logger } from '../../src/logger';
import { maskInternalErrors } from '../../src/server';

function thrownInResolver(original: unknown) {
  const error = new GraphQLError('x', {
    path: ['rate'],
    originalError: original instanceof Error ? original : undefined,
  });
  return { formatted: error.toJSON(), error };
}

function recordingLogger(): Logger & { errors: unknown[]; warnings: string[] } {
  const errors: unknown[] = [];
  const warnings: string[] = [];
  return {
    errors,
    warnings,
    debug() {},
    info() {},
    warn: (message) => warnings.push(message),
    error: (_message, detail) => errors.push(detail),
  };
}

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('database failures as client errors', () => {
  it.each([
    ['a full disk on the server (53100)', pgError('53100', 'could not extend file: No space left on device')],
    [
      'a full local disk (ENOSPC)',
      Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    [
      'a server shutting down (57P01)',
      pgError('57P01', 'terminating connection due to administrator command'),
    ],
    ['a statement timeout (57014)', pgError('57014', 'canceling statement due to statement timeout')],
    ['too many connections (53300)', pgError('53300', 'sorry, too many clients already')],
    ['a connection that died', new Error('Connection terminated unexpectedly')],
    ['the pool giving up', new Error('timeout exceeded when trying to connect')],
    [
      'a deadlock that survived its retries, wrapped by TypeORM',
      new QueryFailedError('INSERT …', [], pgError('40P01', 'deadlock detected')),
    ],
  ])('answers %s with a retryable SERVICE_UNAVAILABLE, logged as a warning', (_label, failure) => {
    const logger = recordingLogger();
    const { formatted, error } = thrownInResolver(failure);
    const answer = maskInternalErrors(logger)(formatted, error);
    expect(answer).toMatchObject({
      path: ['rate'],
      extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true },
    });
    expect(answer.message).toMatch(/try again shortly/);
    expect(logger.errors).toEqual([]);
    expect(logger.warnings).toHaveLength(1);
  });

  it('answers text PostgreSQL cannot store with BAD_USER_INPUT', () => {
    const failure = new QueryFailedError(
      'SELECT …',
      [],
      pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
    );
    expect(databaseFailure(failure)).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('leaves bugs alone: they stay internal, masked and logged', () => {
    expect(databaseFailure(pgError('42P01', 'relation "movies" does not exist'))).toBeNull();
    expect(databaseFailure(pgError('22003', 'value out of range: underflow'))).toBeNull();
    expect(databaseFailure(new TypeError('x is undefined'))).toBeNull();
    const logger = recordingLogger();
    const { formatted, error } = thrownInResolver(pgError('42P01', 'relation "movies" does not exist'));
    expect(maskInternalErrors(logger)(formatted, error)).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(logger.errors).toHaveLength(1);
  });
});
