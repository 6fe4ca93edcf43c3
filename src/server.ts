import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ApolloServer, BaseContext, HeaderMap } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import {
  playgroundAsset,
  playgroundHtml,
  PLAYGROUND_ASSET_PREFIX,
  wantsPlayground,
} from './graphql/playground';
import { toClientError } from './graphql/error-mapping';
import { queryLimitsPlugin, QueryLimits } from './graphql/plugins/query-limits';
import { Logger, StructuredLogger, structured } from './logger';
import type { ServiceMetrics } from './observability/metrics';
import type { ReadinessReport } from './observability/readiness';
import { RequestRecord, requestIdFrom, RequestTracker } from './observability/request-tracking';

export interface HttpServerOptions<TContext extends BaseContext> {
  schema: GraphQLSchema;
  host: string;
  port: number;
  introspection: boolean;
  maxRequestBytes: number;
  corsOrigins: string[] | true;
  /** Serve GraphiQL to browsers at /graphql. */
  playground: boolean;
  limits: QueryLimits;
  logger: Logger;
  /** Builds the per-request context (loaders, viewer) from the request headers. */
  context(request: IncomingMessage): Promise<TContext>;
  /** Extra details for /health (database kind, model version, …). */
  health?(): Promise<Record<string, unknown>>;
  /** Database ping and engine readiness for /readyz and /health; without it the service counts as ready. */
  readiness?(): Promise<ReadinessReport>;
  /** Counted into, and served at /metrics; null switches metrics off (METRICS=false). */
  metrics?: ServiceMetrics | null;
  /**
   * How long stop() lets requests in flight finish before closing their connections. Shorter than
   * the process's shutdown deadline, so the pool and the database still get closed in time.
   */
  drainMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  /** Stops taking connections, lets requests in flight finish, then resolves; safe to call twice. */
  stop(): Promise<void>;
}

/** Route label for metrics and logs: the known routes, everything else as "other". */
function routeOf(pathname: string): string {
  if (pathname.startsWith(PLAYGROUND_ASSET_PREFIX)) return PLAYGROUND_ASSET_PREFIX;
  switch (pathname) {
    case '/graphql':
    case '/livez':
    case '/readyz':
    case '/health':
    case '/metrics':
      return pathname;
    default:
      return 'other';
  }
}

/** Probes and scrapes arrive every few seconds: their lines are debug, not info. */
const QUIET_ROUTES = new Set(['/livez', '/readyz', '/health', '/metrics']);

class RequestTooLargeError extends Error {}

async function readBody(request: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > limit) throw new RequestTooLargeError();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RequestTooLargeError();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

/**
 * Client-facing errors keep their message and code, the domain's own errors (bad input, engine not
 * ready, …) get theirs (toClientError); anything unexpected is logged and masked.
 */
export function maskInternalErrors(logger: Logger, loggerForError?: (error: unknown) => Logger | undefined) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const internal = code === undefined || code === 'INTERNAL_SERVER_ERROR';
    if (!internal) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    const mapped = toClientError(unwrapResolverError(error));
    if (mapped instanceof GraphQLError && typeof mapped.extensions.code === 'string')
      return {
        message: mapped.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: mapped.extensions,
      };
    (loggerForError?.(error) ?? logger).error('internal error while resolving a request', error);
    return {
      message: 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}

export async function startHttpServer<TContext extends BaseContext>(
  options: HttpServerOptions<TContext>,
): Promise<RunningServer> {
  const httpServer = http.createServer();
  const metrics = options.metrics ?? null;
  const requestLogger: StructuredLogger | null = structured(options.logger);
  const tracker = new RequestTracker(metrics, requestLogger);
  const apollo = new ApolloServer<TContext>({
    schema: options.schema,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    formatError: maskInternalErrors(options.logger, (error) => tracker.loggerForError(error)),
    // The process owns its signals (main.ts): Apollo's own handlers raced ours to stop() and
    // re-raised the signal, and the process never exited.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: options.drainMs ?? 3000 }),
      tracker.plugin<TContext>(),
      queryLimitsPlugin<TContext>(options.limits),
      // No cache hints are served (answers are personal), and it wraps every field resolver.
      ApolloServerPluginCacheControlDisabled(),
    ],
  });
  await apollo.start();

  const corsHeaders = (request: IncomingMessage): Record<string, string> => {
    const origin = request.headers.origin;
    if (!origin) return {};
    const allowed = options.corsOrigins === true || options.corsOrigins.includes(origin);
    if (!allowed) return {};
    return {
      'access-control-allow-origin': options.corsOrigins === true ? '*' : origin,
      'access-control-allow-headers': 'content-type, authorization, apollo-require-preflight',
      'access-control-allow-methods': 'GET, POST, OPTIONS',
      vary: 'origin',
    };
  };

  const handleGraphQL = async (
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    record: RequestRecord,
  ) => {
    const cors = corsHeaders(request);
    let body: unknown = undefined;
    if (request.method === 'POST') {
      const text = await readBody(request, options.maxRequestBytes);
      const contentType = request.headers['content-type'] ?? '';
      if (contentType.includes('application/json')) {
        try {
          body = text.length ? JSON.parse(text) : undefined;
        } catch {
          return sendJson(response, 400, { errors: [{ message: 'request body is not valid JSON' }] }, cors);
        }
      } else body = text;
    }
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    headers.set('x-request-id', record.id);
    const httpGraphQLRequest = { method: request.method ?? 'GET', headers, search: url.search, body };
    tracker.attach(httpGraphQLRequest, record);
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => options.context(request),
    });
    const outHeaders: Record<string, string> = { ...cors };
    for (const [name, value] of result.headers) outHeaders[name] = value;
    response.writeHead(result.status ?? 200, outHeaders);
    if (result.body.kind === 'complete') response.end(result.body.string);
    else {
      for await (const chunk of result.body.asyncIterator) response.write(chunk);
      response.end();
    }
  };

  let stopping = false;
  /** Connections accepted after stop() began; requests on earlier ones are in flight and served. */
  const lateSockets = new WeakSet<object>();
  httpServer.on('connection', (socket) => {
    if (stopping) lateSockets.add(socket);
  });
  const readiness = async (): Promise<ReadinessReport | null> =>
    options.readiness ? options.readiness() : null;

  /** One line per request: id, route, operation, strategy, outcome, status and duration. */
  const finish = (
    request: IncomingMessage,
    response: ServerResponse,
    route: string,
    record: RequestRecord,
  ) => {
    const seconds = (performance.now() - record.started) / 1000;
    const status = response.writableFinished ? response.statusCode : 0;
    if (metrics) {
      metrics.httpInFlight.dec();
      metrics.httpRequests.inc({ route, status: status === 0 ? 'aborted' : String(status) });
    }
    if (!requestLogger) return;
    const level = QUIET_ROUTES.has(route) ? 'debug' : status >= 500 || status === 0 ? 'warn' : 'info';
    if (!requestLogger.enabled(level)) return;
    requestLogger.event(
      level,
      {
        reqId: record.id,
        method: request.method,
        route,
        status: status === 0 ? 'aborted' : status,
        durationMs: Math.round(seconds * 1e6) / 1e3,
        ...(record.operation !== undefined
          ? { operation: record.operation, strategy: record.strategy, outcome: record.outcome }
          : {}),
        ...(record.errorCodes ? { errorCodes: record.errorCodes } : {}),
      },
      'request',
    );
  };

  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const record = tracker.open(requestIdFrom(request.headers['x-request-id']));
    const routeLabel = routeOf(url.pathname);
    response.setHeader('x-request-id', record.id);
    metrics?.httpInFlight.inc();
    response.once('close', () => finish(request, response, routeLabel, record));
    if (requestLogger?.enabled('debug'))
      requestLogger.event(
        'debug',
        {
          reqId: record.id,
          method: request.method,
          url: request.url,
          userAgent: request.headers['user-agent'],
        },
        'request received',
      );
    const route = async () => {
      if (stopping && lateSockets.has(request.socket)) {
        // Connected after shutdown began (before the listener closed): refused, as new connections are.
        return sendJson(
          response,
          503,
          {
            errors: [{ message: 'the server is shutting down', extensions: { code: 'SERVICE_UNAVAILABLE' } }],
          },
          { connection: 'close' },
        );
      }
      if (request.method === 'OPTIONS') {
        response.writeHead(204, corsHeaders(request));
        return response.end();
      }
      if (url.pathname === '/livez' && request.method === 'GET') {
        return sendJson(response, 200, { status: 'ok' });
      }
      if (url.pathname === '/readyz' && request.method === 'GET') {
        if (stopping) return sendJson(response, 503, { status: 'unavailable', reason: 'shutting down' });
        const report = await readiness();
        if (!report) return sendJson(response, 200, { status: 'ready' });
        return sendJson(response, report.ready ? 200 : 503, {
          status: report.ready ? 'ready' : 'unavailable',
          ...(report.reason ? { reason: report.reason } : {}),
          database: report.database,
          building: report.building,
        });
      }
      if (url.pathname === '/health' && request.method === 'GET') {
        const report = stopping ? null : await readiness();
        const ready = !stopping && (report?.ready ?? true);
        return sendJson(response, ready ? 200 : 503, {
          status: ready ? 'ok' : 'unavailable',
          ...(stopping ? { reason: 'shutting down' } : report?.reason ? { reason: report.reason } : {}),
          ...(report ? { databasePing: report.database, building: report.building } : {}),
          ...(options.health ? await options.health() : {}),
        });
      }
      if (url.pathname === '/metrics' && request.method === 'GET' && metrics) {
        const text = await metrics.registry.metrics();
        response.writeHead(200, { 'content-type': metrics.registry.contentType });
        return response.end(text);
      }
      if (
        options.playground &&
        url.pathname.startsWith(PLAYGROUND_ASSET_PREFIX) &&
        request.method === 'GET'
      ) {
        const asset = await playgroundAsset(url.pathname.slice(PLAYGROUND_ASSET_PREFIX.length));
        if (!asset) return sendJson(response, 404, { error: 'no such playground asset' });
        response.writeHead(200, { 'content-type': asset.type, 'cache-control': 'public, max-age=86400' });
        return response.end(asset.body);
      }
      if (url.pathname === '/graphql') {
        if (options.playground && wantsPlayground(request.method, request.headers.accept, url.search)) {
          response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return response.end(playgroundHtml('/graphql'));
        }
        return handleGraphQL(request, response, url, record);
      }
      sendJson(response, 404, { error: 'not found; the API lives at /graphql' });
    };
    route().catch((error: unknown) => {
      if (error instanceof RequestTooLargeError) {
        sendJson(response, 413, {
          errors: [{ message: `request body over ${options.maxRequestBytes} bytes` }],
        });
        request.resume();
        return;
      }
      (requestLogger?.child({ reqId: record.id }) ?? options.logger).error(
        'unhandled error serving a request',
        error,
      );
      if (!response.headersSent) sendJson(response, 500, { errors: [{ message: 'Internal server error' }] });
      else response.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  let stopped: Promise<void> | null = null;
  return {
    port,
    url: `http://${options.host}:${port}/graphql`,
    stop() {
      // Every caller waits for the same stop: a second call must not start (or wait on) another.
      stopped ??= (async () => {
        stopping = true;
        await apollo.stop();
      })();
      return stopped;
    },
  };
}
