import http, { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
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
import { Logger } from './logger';
import { ClientIdentities, TokenVerifier } from './http/client-identity';
import { TokenBucketLimiter } from './http/rate-limit';
import { HttpRequestError, readRequestBody } from './http/request-body';
import { refuseOversizedQueryText } from './http/query-text-gate';

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
  /** Extra readiness details for /health. */
  health?(): Promise<Record<string, unknown>>;
}

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** How much of an oversized body is read and dropped so the 413 arrives on a usable connection. */
const BODY_DRAIN = { drainBytes: 1_000_000, drainMs: 2_000 };

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
export function maskInternalErrors(logger: Logger, options: { hideSuggestions?: boolean } = {}) {
  const mask = maskErrors(logger);
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

function maskErrors(logger: Logger) {
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
    logger.error('internal error while resolving a request', error);
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
  const apollo = new ApolloServer<TContext>({
    schema: options.schema,
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    formatError: maskInternalErrors(options.logger, { hideSuggestions: options.hideSuggestions }),
    // Caps the parser too; the HTTP edge (query-text-gate.ts) refuses longer texts before this.
    parseOptions: { maxTokens: options.limits.maxTokens },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
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

  const handleGraphQL = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
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
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: request.method ?? 'GET', headers, search: url.search, body },
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

  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const route = async () => {
      if (request.method === 'OPTIONS') {
        response.writeHead(204, corsHeaders(request));
        return response.end();
      }
      if (url.pathname === '/livez' && request.method === 'GET') {
        return sendJson(response, 200, { status: 'ok' });
      }
      if (url.pathname === '/health' && request.method === 'GET') {
        return sendJson(response, 200, { status: 'ok', ...(options.health ? await options.health() : {}) });
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
        return handleGraphQL(request, response, url);
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
      options.logger.error('unhandled error serving a request', error);
      if (!response.headersSent) sendJson(response, 500, { errors: [{ message: 'Internal server error' }] });
      else response.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  return {
    port,
    url: `http://${options.host}:${port}/graphql`,
    async stop() {
      await apollo.stop();
    },
  };
}
