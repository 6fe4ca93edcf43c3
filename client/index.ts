import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

export * from './generated/graphql';

export interface CinegraphClientOptions {
  /** e.g. http://127.0.0.1:4000/graphql */
  url: string;
  /** The token onboard returned, for mutations and private reads. */
  token?: string;
  fetch?: typeof fetch;
}

export class CinegraphRequestError extends Error {
  constructor(readonly errors: { message: string; extensions?: Record<string, unknown> }[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'CinegraphRequestError';
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.code as string | undefined;
  }
}

/** A minimal typed client: results and variables are typed by the generated documents. */
export class CinegraphClient {
  constructor(private options: CinegraphClientOptions) {}

  withToken(token: string): CinegraphClient {
    return new CinegraphClient({ ...this.options, token });
  }

  async request<TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...[variables]: TVariables extends Record<string, never> ? [] | [TVariables] : [TVariables]
  ): Promise<TResult> {
    const doFetch = this.options.fetch ?? fetch;
    const response = await doFetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(this.options.token ? { authorization: `Bearer ${this.options.token}` } : {}),
      },
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    const body = (await response.json()) as { data?: TResult; errors?: CinegraphRequestError['errors'] };
    if (body.errors?.length) throw new CinegraphRequestError(body.errors);
    if (!body.data) throw new Error(`no data in a ${response.status} response`);
    return body.data;
  }
}
