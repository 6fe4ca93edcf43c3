import { DomainError, ServiceUnavailableError } from '../errors';

/**
 * SQLSTATEs that mean the database cannot serve right now, whatever the request: connection
 * exceptions (class 08), insufficient resources (class 53: 53100 disk full, 53200 out of memory,
 * 53300 too many connections), shutdown or start-up (57P01–57P03), a statement cancelled by
 * statement_timeout (57014), I/O errors (58030), and serialization failures and deadlocks that
 * survived their retries (40001, 40P01).
 */
const UNAVAILABLE_STATES = /^(08|53)|^(57P01|57P02|57P03|57014|58030|40001|40P01)$/;

/** Node and pg failures below SQL: the server is unreachable, went away, or the disk is full. */
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOSPC',
  'EDQUOT',
]);
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout)/;

/** SQLSTATEs a client's text causes: a NUL byte (22021) or a character the encoding lacks (22P05). */
const BAD_TEXT_STATES = new Set(['22021', '22P05']);

function causes(error: unknown): { code?: unknown; message?: unknown }[] {
  const chain: { code?: unknown; message?: unknown }[] = [];
  let current: unknown = error;
  // TypeORM wraps pg's error as driverError, ours wrap theirs as cause, and graphql-js wraps what is
  // not an Error of its realm as thrownValue. A few levels is all there is.
  for (let depth = 0; depth < 5 && current && typeof current === 'object'; depth++) {
    chain.push(current as { code?: unknown; message?: unknown });
    const next = current as { driverError?: unknown; cause?: unknown; thrownValue?: unknown };
    current = next.driverError ?? next.cause ?? next.thrownValue;
  }
  return chain;
}

/** The SQLSTATE (or errno) of a database error, looking through TypeORM's and our wrappers. */
export function errorCode(error: unknown): string | null {
  for (const link of causes(error)) if (typeof link.code === 'string') return link.code;
  return null;
}

function describe(code: string, message: string): string {
  if (code === '53100' || code === 'ENOSPC' || code === 'EDQUOT') return 'the database is out of disk space';
  if (code === '57014') return 'the database did not finish the statement in time';
  if (code === '40001' || code === '40P01') return 'the write collided with concurrent writes';
  if (code.startsWith('53')) return 'the database is out of resources';
  if (/timeout|did not answer/i.test(message)) return 'the database did not answer in time';
  return 'the database is unreachable';
}

/**
 * A database failure as the domain error a client should see: SERVICE_UNAVAILABLE (retryable)
 * while the database is unreachable, stalled or out of disk; BAD_USER_INPUT for text PostgreSQL
 * cannot store; null for anything else (a bug, left to be logged and masked).
 */
export function databaseFailure(error: unknown): DomainError | null {
  for (const link of causes(error)) {
    if (link instanceof DomainError) return link;
    const code = typeof link.code === 'string' ? link.code : '';
    const message = typeof link.message === 'string' ? link.message : '';
    if (BAD_TEXT_STATES.has(code))
      return new DomainError('BAD_USER_INPUT', 'text must be valid UTF-8 without NUL characters');
    if (UNAVAILABLE_STATES.test(code) || UNAVAILABLE_ERRNOS.has(code) || UNAVAILABLE_MESSAGES.test(message))
      return new ServiceUnavailableError(`${describe(code, message)}: try again shortly`, { cause: error });
  }
  return null;
}
