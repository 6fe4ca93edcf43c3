/**
 * A GraphQL operation's text, typed by its result and its variables (client/generated/graphql.ts
 * has one per operation). `__apiType` is never set: it only carries the types, in the shape of
 * @graphql-typed-document-node/core's DocumentTypeDecoration, so tools that read that shape (its
 * ResultOf / VariablesOf, typed GraphQL clients) see the same types without this package needing it.
 */
export interface TypedDocument<TResult, TVariables> {
  readonly operationName: string;
  readonly operationType: 'query' | 'mutation' | 'subscription';
  readonly query: string;
  readonly __apiType?: (variables: TVariables) => TResult;
}

/** The result type of a typed document. */
export type ResultOf<TDocument> = TDocument extends TypedDocument<infer TResult, never> ? TResult : never;

/** The variables type of a typed document. */
export type VariablesOf<TDocument> =
  TDocument extends TypedDocument<unknown, infer TVariables> ? TVariables : never;
