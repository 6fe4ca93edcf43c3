import { IncomingMessage } from 'node:http';

/**
 * The codes of refusals at the HTTP edge, before GraphQL runs (QUERY_TOO_COMPLEX is also what the
 * query limits answer once the text is parsed).
 */
export const HTTP_ERROR_CODES = [
  'BAD_REQUEST',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'QUERY_TOO_COMPLEX',
] as const;
export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

/** An HTTP-level refusal, answered as a GraphQL-shaped error body with extensions.code. */
export class HttpRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode,
    message: string,
    /** When set, the connection is closed after the answer instead of kept alive. */
    readonly closeConnection = false,
    readonly headers: Record<string, string> = {},
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

export interface BodyLimits {
  /** Largest body accepted. */
  maxBytes: number;
  /**
   * How much more of an oversized body is read and thrown away so the connection can carry the
   * 413 and stay usable; past it the connection is closed after the answer.
   */
  drainBytes: number;
  /** How long an oversized body may take to arrive before the connection is closed. */
  drainMs: number;
}

/**
 * Reads a request body up to `maxBytes`. An oversized body is refused with 413
 * PAYLOAD_TOO_LARGE only after it has been read to its end (discarding it), within `drainBytes`
 * and `drainMs`: stopping midway (the old for-await that threw and destroyed the request) left
 * the rest of a chunked body on a kept-alive connection, so the client's next request on it
 * stalled ~6 s and was reset. A body declared (content-length) or found to be larger than the
 * drain allowance, or that arrives too slowly, is answered at once with `connection: close`.
 */
export function readRequestBody(request: IncomingMessage, limits: BodyLimits): Promise<string> {
  const tooLarge = (closeConnection: boolean) =>
    new HttpRequestError(
      413,
      'PAYLOAD_TOO_LARGE',
      `request body over ${limits.maxBytes} bytes`,
      closeConnection,
      {},
      { maxBytes: limits.maxBytes },
    );
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limits.maxBytes + limits.drainBytes) return Promise.reject(tooLarge(true));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let oversized = declared > limits.maxBytes;
    let timer: NodeJS.Timeout | null = null;
    const finish = (error: Error | null, body?: string) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onAborted);
      if (timer) clearTimeout(timer);
      if (error) reject(error);
      else resolve(body ?? '');
    };
    const startDrainClock = () => {
      timer ??= setTimeout(() => finish(tooLarge(true)), limits.drainMs);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes + limits.drainBytes) return finish(tooLarge(true));
      if (size > limits.maxBytes) oversized = true;
      if (oversized) {
        chunks.length = 0;
        startDrainClock();
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      if (oversized) finish(tooLarge(false));
      else finish(null, Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => finish(error);
    const onAborted = () => finish(new HttpRequestError(400, 'BAD_REQUEST', 'request aborted', true));
    if (oversized) startDrainClock();
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onAborted);
  });
}
