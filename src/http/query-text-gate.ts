import { GraphQLError } from 'graphql';
import { checkQueryText, QueryTextCaps } from '../graphql/plugins/query-text-caps';
import { HttpRequestError } from './request-body';

/**
 * The query text caps, applied at the HTTP edge to the text a request carries (a POST body's
 * `query`, or GET's `?query=`), before Apollo creates a context, parses or validates anything.
 * Apollo Server has no hook that may refuse a request before parsing (an error thrown from
 * didResolveSource or parsingDidStart is answered as a masked 500), hence here.
 */
export function refuseOversizedQueryText(body: unknown, search: string, caps: QueryTextCaps): void {
  const fromBody =
    body !== null && typeof body === 'object' && 'query' in body
      ? (body as { query: unknown }).query
      : undefined;
  const text = typeof fromBody === 'string' ? fromBody : new URLSearchParams(search).get('query');
  if (!text) return;
  try {
    checkQueryText(text, caps);
  } catch (error) {
    if (!(error instanceof GraphQLError)) throw error;
    const { code: _code, http: _http, ...details } = error.extensions;
    throw new HttpRequestError(400, 'QUERY_TOO_COMPLEX', error.message, false, {}, details);
  }
}
