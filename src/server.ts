import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ApolloServer, BaseContext, HeaderMap } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
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
import { ClientIdentities, TokenVerifier } from './http/client-identity';
import { TokenBucketLimiter } from './http/rate-limit';
import { HttpRequestError, readRequestBody } from './http/request-body';
import { refuseOversizedQueryText } from './http/query-text-gate';
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
  /** Per-client token bucket; ratePerSecond 0 = off. */
  rateLimit: { ratePerSecond: number; burst: number };
  /** Who a bearer token belongs to, for rate limiting per client (else clients are their IP). */
  verifyToken?: TokenVerifier;
  /** Production: error messages do not suggest field or type names ("Did you mean …?"). */
  hideSuggestions: boolean;
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

/** How much of an oversized body is read and dropped so the 413 arrives on a usable connection. */
const BODY_DRAIN = { drainBytes: 1_000_000, drainMs: 2_000 };

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
export function maskInternalErrors(
  logger: Logger,
  options: { hideSuggestions?: boolean; loggerForError?: (error: unknown) => Logger | undefined } = {},
) {
  const mask = maskErrors(logger, options.loggerForError);
  if (!options.hideSuggestions) return mask;
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const masked = mask(formatted, error);
    return { ...masked, message: withoutSuggestions(masked.message) };
  };
}

/**
 * graphql-js appends schema names to validation and coercion errors ('Did you mean "title"?');
 * with introspection off in production they would still reveal the schema piece by piece.
 */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean [^?]*\?/g, '');
}

function maskErrors(logger: Logger, loggerForError?: (error: unknown) => Logger | undefined) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    const internal = code === undefined || code === 'INTERNAL_SERVER_ERROR';
    if (!internal) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    const mapped = toClientError(unwrapResolverError(error));
    if (mapped instanceof GraphQLError && typeof mapped.extensions.code === 'string') {
      // The client is told to retry; the operator needs to hear that the database is in trouble.
      if (mapped.extensions.retryable === true)
        (loggerForError?.(error) ?? logger).warn(`${mapped.message} (${String(error)})`);
      return {
        message: mapped.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: mapped.extensions,
      };
    }
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
    formatError: maskInternalErrors(options.logger, {
      hideSuggestions: options.hideSuggestions,
      loggerForError: (error) => tracker.loggerForError(error),
    }),
    // Caps the parser too; the HTTP edge (query-text-gate.ts) refuses longer texts before this.
    parseOptions: { maxTokens: options.limits.maxTokens },
    // The process owns its signals (main.ts): Apollo's own handlers raced ours to stop() and
    // re-raised the signal, and the process never exited.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: options.drainMs ?? 3000 }),
      tracker.plugin<TContext>(),
      queryLimitsPlugin<TContext>(options.limits),
      // No cache hints are served (answers are personal), and it wraps every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      // GraphiQL is ours (playground.ts); without it browsers get plain GraphQL over HTTP, not
      // Apollo's landing page loading scripts from a CDN.
      ApolloServerPluginLandingPageDisabled(),
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

  const limiter = new TokenBucketLimiter(options.rateLimit);
  const identities = new ClientIdentities(options.verifyToken ?? (async () => null));

  const handleGraphQL = async (
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    record: RequestRecord,
  ) => {
    const cors = corsHeaders(request);
    if (limiter.enabled) {
      const client = identities.identify(request);
      const decision = limiter.take(client.key);
      if (!decision.allowed)
        throw new HttpRequestError(
          429,
          'RATE_LIMITED',
          `too many requests: retry in ${decision.retryAfterSeconds} s`,
          false,
          { 'retry-after': String(decision.retryAfterSeconds) },
          { retryAfterSeconds: decision.retryAfterSeconds },
        );
      client.verifyToken?.();
    }
    let body: unknown = undefined;
    if (request.method === 'POST') {
      const text = await readRequestBody(request, { maxBytes: options.maxRequestBytes, ...BODY_DRAIN });
      const contentType = request.headers['content-type'] ?? '';
      if (contentType.includes('application/json')) {
        try {
          body = text.length ? JSON.parse(text) : undefined;
        } catch {
          throw new HttpRequestError(400, 'BAD_REQUEST', 'request body is not valid JSON');
        }
      } else body = text;
    }
    refuseOversizedQueryText(body, url.search, options.limits);
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
          ...(report.jobs ? { jobs: report.jobs } : {}),
        });
      }
      if (url.pathname === '/health' && request.method === 'GET') {
        const report = stopping ? null : await readiness();
        const ready = !stopping && (report?.ready ?? true);
        return sendJson(response, ready ? 200 : 503, {
          status: ready ? 'ok' : 'unavailable',
          ...(stopping ? { reason: 'shutting down' } : report?.reason ? { reason: report.reason } : {}),
          ...(report ? { databasePing: report.database, building: report.building } : {}),
          ...(report?.jobs ? { jobs: report.jobs } : {}),
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
      if (error instanceof HttpRequestError) {
        if (response.headersSent) return void response.end();
        sendJson(
          response,
          error.status,
          { errors: [{ message: error.message, extensions: { code: error.code, ...error.extensions } }] },
          {
            ...corsHeaders(request),
            ...error.headers,
            ...(error.closeConnection ? { connection: 'close' } : {}),
          },
        );
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
