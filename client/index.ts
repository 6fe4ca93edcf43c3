import type { TypedDocument } from './document.js';
import type { CinegraphErrorCode } from './errors.js';

export * from './generated/graphql.js';
export * from './errors.js';
export type { ResultOf, TypedDocument, VariablesOf } from './document.js';

/**
 * What the client needs of fetch; the global fetch (Node 18+, browsers) fits. Spelled out rather
 * than `typeof fetch` so the types do not depend on the DOM library or @types/node.
 */
export type FetchLike = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string },
) => Promise<{ readonly status: number; text(): Promise<string> }>;

export interface CinegraphClientOptions {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** The token onboard returned, sent as "Authorization: Bearer <token>" (mutations, private reads). */
  token?: string;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** Defaults to the global fetch. */
  fetch?: FetchLike;
}

/** One entry of a GraphQL response's `errors`. */
export interface CinegraphGraphQLError {
  readonly message: string;
  readonly path?: readonly (string | number)[];
  readonly extensions?: { readonly code?: CinegraphErrorCode; readonly [key: string]: unknown };
}

/** The server answered with errors (or not with GraphQL at all: then `errors` holds one without a code). */
export class CinegraphRequestError extends Error {
  readonly errors: readonly CinegraphGraphQLError[];
  /** The HTTP status of the answer. */
  readonly status: number;
  /** Whatever data came with the errors (null fields where they failed), when any did. */
  readonly data: unknown;

  constructor(errors: readonly CinegraphGraphQLError[], status: number, data: unknown = undefined) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'CinegraphRequestError';
    this.errors = errors;
    this.status = status;
    this.data = data;
  }

  /** The first error's code: what to branch on. */
  get code(): CinegraphErrorCode | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** Variables may be left out when the operation has none or every one is optional. */
export type VariablesArgument<TVariables> =
  Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

interface GraphQLResponseBody<TResult> {
  data?: TResult | null;
  errors?: CinegraphGraphQLError[];
}

/** A minimal typed client over fetch: results and variables are typed by the generated documents. */
export class CinegraphClient {
  private readonly options: CinegraphClientOptions;

  constructor(options: CinegraphClientOptions) {
    this.options = options;
  }

  /** The same client acting as the user the token belongs to. */
  withToken(token: string): CinegraphClient {
    return new CinegraphClient({ ...this.options, token });
  }

  async request<TResult, TVariables>(
    document: TypedDocument<TResult, TVariables>,
    ...[variables]: VariablesArgument<TVariables>
  ): Promise<TResult> {
    const doFetch = this.options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
    if (!doFetch) throw new Error('no fetch: pass one in CinegraphClientOptions.fetch');
    const response = await doFetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...this.options.headers,
        ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      },
      body: JSON.stringify({
        query: document.query,
        operationName: document.operationName,
        variables: variables ?? {},
      }),
    });
    const text = await response.text();
    let body: GraphQLResponseBody<TResult>;
    try {
      body = JSON.parse(text) as GraphQLResponseBody<TResult>;
    } catch {
      throw new CinegraphRequestError(
        [{ message: `HTTP ${response.status}: not a GraphQL response: ${text.slice(0, 200)}` }],
        response.status,
      );
    }
    if (body.errors?.length) throw new CinegraphRequestError(body.errors, response.status, body.data);
    if (!body.data)
      throw new CinegraphRequestError([{ message: 'no data in the response' }], response.status);
    return body.data;
  }
}
