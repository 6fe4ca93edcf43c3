import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';

/** Hard caps checked on the query text itself, before it is parsed or validated. */
export interface QueryTextCaps {
  maxTokens: number;
  maxAliases: number;
  maxFragments: number;
  /** Brackets of any kind ({ [ () open at once: selection sets, list and object values. */
  maxNesting: number;
}

/**
 * How often one response name may occur in one selection set. graphql-js's validation compares
 * every pair of same-named fields (OverlappingFieldsCanBeMerged): 107 copies of
 * `similar(first: 100) { score }` in one selection (~1 000 tokens) held the event loop ~230 ms at
 * load 18 in `npm run bench:hostile`. Legitimate queries repeat a name at most a couple of
 * times (a client adding __typename next to the query's own).
 */
export const MAX_REPEATED_FIELD = 10;

export interface QueryTextMeasure {
  tokens: number;
  /** The most often one response name occurs in one selection set (outside fragments' spreads). */
  repeatedField: number;
  aliases: number;
  fragments: number;
  nesting: number;
}

export type QueryLimitName =
  'tokens' | 'aliases' | 'fragments' | 'nesting' | 'repeatedField' | 'depth' | 'cost';

export function queryTooComplex(limit: QueryLimitName, value: number, max: number, message: string) {
  return new GraphQLError(message, {
    extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 }, limit, value, max },
  });
}

const OPENERS = new Set<TokenKind>([TokenKind.BRACE_L, TokenKind.BRACKET_L, TokenKind.PAREN_L]);
const CLOSERS = new Set<TokenKind>([TokenKind.BRACE_R, TokenKind.BRACKET_R, TokenKind.PAREN_R]);

/**
 * One pass of graphql-js's own lexer over the text, stopping at the first cap exceeded, so the
 * work is bounded by the caps and never by what a hostile text holds after them. No tree is
 * built: parsing, validation and the depth/cost walk only ever see documents within the caps.
 *
 * - an alias is a name followed by `:` outside any parentheses (inside them a `:` belongs to an
 *   argument, a variable definition or an input object field);
 * - a fragment definition is the keyword `fragment` at the top level (outside any bracket);
 * - a `{` outside parentheses opens a selection set; in it a name is a response name (an alias,
 *   or a field without alias) unless it follows `...`, `... on` or `@`.
 *
 * A text the lexer rejects is left for the parser to report as the usual syntax error.
 */
export function checkQueryText(text: string, caps: QueryTextCaps): QueryTextMeasure {
  const lexer = new Lexer(new Source(text));
  const measure: QueryTextMeasure = { tokens: 0, repeatedField: 0, aliases: 0, fragments: 0, nesting: 0 };
  let open = 0;
  let parens = 0;
  let previous: TokenKind | null = null;
  let previousValue: string | undefined;
  /** Response-name counts of the selection sets open, innermost last. */
  const selections: Map<string, number>[] = [];
  /** A name that is a response name unless a `:` follows (then it is an alias, counted as such). */
  let pendingName: string | null = null;
  let afterAlias = false;
  const count = (name: string) => {
    const scope = selections[selections.length - 1];
    if (!scope) return;
    const seen = (scope.get(name) ?? 0) + 1;
    scope.set(name, seen);
    if (seen > measure.repeatedField) measure.repeatedField = seen;
    if (seen > MAX_REPEATED_FIELD)
      throw queryTooComplex(
        'repeatedField',
        seen,
        MAX_REPEATED_FIELD,
        `field "${name}" occurs more than ${MAX_REPEATED_FIELD} times in one selection`,
      );
  };
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if (++measure.tokens > caps.maxTokens)
        throw queryTooComplex(
          'tokens',
          measure.tokens,
          caps.maxTokens,
          `query has more than ${caps.maxTokens} tokens`,
        );
      const kind = token.kind;
      if (parens === 0 && selections.length > 0) {
        if (kind === TokenKind.COLON && pendingName !== null) {
          count(pendingName);
          pendingName = null;
          afterAlias = true;
        } else {
          if (pendingName !== null) count(pendingName);
          pendingName = null;
          const isResponseName =
            kind === TokenKind.NAME &&
            !afterAlias &&
            previous !== TokenKind.SPREAD &&
            previous !== TokenKind.AT &&
            !(previous === TokenKind.NAME && previousValue === 'on' && selections.length > 0);
          if (isResponseName) pendingName = token.value;
          afterAlias = false;
        }
      }
      if (kind === TokenKind.BRACE_L && parens === 0) selections.push(new Map());
      if (kind === TokenKind.BRACE_R && parens === 0) selections.pop();
      if (OPENERS.has(kind)) {
        if (kind === TokenKind.PAREN_L) parens++;
        if (++open > measure.nesting) measure.nesting = open;
        if (open > caps.maxNesting)
          throw queryTooComplex(
            'nesting',
            open,
            caps.maxNesting,
            `query nests brackets more than ${caps.maxNesting} deep`,
          );
      } else if (CLOSERS.has(kind)) {
        if (kind === TokenKind.PAREN_R && parens > 0) parens--;
        if (open > 0) open--;
      } else if (kind === TokenKind.COLON && parens === 0 && previous === TokenKind.NAME) {
        if (++measure.aliases > caps.maxAliases)
          throw queryTooComplex(
            'aliases',
            measure.aliases,
            caps.maxAliases,
            `query has more than ${caps.maxAliases} aliases`,
          );
      } else if (kind === TokenKind.NAME && open === 0 && token.value === 'fragment') {
        if (++measure.fragments > caps.maxFragments)
          throw queryTooComplex(
            'fragments',
            measure.fragments,
            caps.maxFragments,
            `query defines more than ${caps.maxFragments} fragments`,
          );
      }
      previous = kind;
      previousValue = token.value;
    }
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'QUERY_TOO_COMPLEX') throw error;
    // A lexical error: the parser reports it with its location.
  }
  return measure;
}
