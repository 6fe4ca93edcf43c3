import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import {
  CinegraphErrorCode,
  DOMAIN_ERROR_CODES,
  ERROR_CODES as CLIENT_CODES,
  GRAPHQL_SERVER_ERROR_CODES,
  HTTP_ERROR_CODES as CLIENT_HTTP_CODES,
} from '../../client/index';
import { ERROR_CODES, ErrorCode } from '../../src/errors';
import { HTTP_ERROR_CODES, HttpErrorCode } from '../../src/http/request-body';

/**
 * Every extensions.code the server answers with: its domain's, its HTTP edge's and Apollo Server's
 * own (its validation rules' codes, such as INTROSPECTION_DISABLED, come as validationErrorCode).
 */
type ServerCode = ErrorCode | HttpErrorCode | `${ApolloServerErrorCode}`;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// The typecheck (npm run typecheck) fails here when the client's union and the server's drift apart.
const unionsAgree: Same<CinegraphErrorCode, ServerCode> = true;

const sorted = (codes: Iterable<string>) => [...new Set(codes)].sort();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

describe("the client's error codes are the server's", () => {
  it('lists each of the server definitions exactly', () => {
    expect(unionsAgree).toBe(true);
    expect(sorted(DOMAIN_ERROR_CODES)).toEqual(sorted(ERROR_CODES));
    expect(sorted(CLIENT_HTTP_CODES)).toEqual(sorted(HTTP_ERROR_CODES));
    expect(sorted(GRAPHQL_SERVER_ERROR_CODES)).toEqual(sorted(Object.values(ApolloServerErrorCode)));
    expect(sorted(CLIENT_CODES)).toEqual(
      sorted([...ERROR_CODES, ...HTTP_ERROR_CODES, ...Object.values(ApolloServerErrorCode)]),
    );
    expect(CLIENT_CODES).toHaveLength(new Set(CLIENT_CODES).size);
  });

  it('covers every code the server spells out as a literal (`code: …`)', () => {
    const literal = /\bcode: '([A-Z][A-Z_]+)'/g;
    const found = new Set<string>();
    for (const file of sourceFiles(path.resolve(__dirname, '../../src')))
      for (const match of readFileSync(file, 'utf8').matchAll(literal)) found.add(match[1]);
    expect(found.size).toBeGreaterThan(0);
    expect([...found].filter((code) => !(CLIENT_CODES as readonly string[]).includes(code))).toEqual([]);
  });
});
