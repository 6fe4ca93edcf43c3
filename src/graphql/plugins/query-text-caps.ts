import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';

/** Hard caps checked on the query text itself, before it is parsed or validated. */
export interface QueryTextCaps {
  maxTokens: number;
  maxAliases: number;
  maxFragments: number;
  /** Brackets of any kind ({ [ () open at once: selection sets, list and object values. */
  maxNesting: number;
}

export interface QueryTextMeasure {
  tokens: number;
  aliases: number;
  fragments: number;
  nesting: number;
}

export type QueryLimitName = 'tokens' | 'aliases' | 'fragments' | 'nesting' | 'depth' | 'cost';

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
 * - a fragment definition is the keyword `fragment` at the top level (outside any bracket).
 *
 * A text the lexer rejects is left for the parser to report as the usual syntax error.
 */
export function checkQueryText(text: string, caps: QueryTextCaps): QueryTextMeasure {
  const lexer = new Lexer(new Source(text));
  const measure: QueryTextMeasure = { tokens: 0, aliases: 0, fragments: 0, nesting: 0 };
  let open = 0;
  let parens = 0;
  let previous: TokenKind | null = null;
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
    }
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'QUERY_TOO_COMPLEX') throw error;
    // A lexical error: the parser reports it with its location.
  }
  return measure;
}
