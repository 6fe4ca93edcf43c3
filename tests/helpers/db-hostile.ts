import { DataSource } from 'typeorm';
import { graphql, GraphQLResponse } from './api';

/** What a hostile request must not change: every table a client can write to, by row count and content sum. */
export async function writableState(dataSource: DataSource): Promise<Record<string, string>> {
  const [row] = await dataSource.query(`
    SELECT (SELECT count(*) FROM users)::text AS users,
           (SELECT coalesce(max(id), 0) FROM users)::text AS max_user_id,
           (SELECT count(*) FROM ratings)::text AS ratings,
           (SELECT coalesce(sum(rating), 0) FROM ratings)::text AS rating_sum,
           (SELECT coalesce(sum(votes), 0) FROM movie_rating_stats)::text AS votes`);
  return row as Record<string, string>;
}

/** The code of the first error, or 'none'. */
export function codeOf(response: GraphQLResponse<unknown>): string {
  return response.errors?.[0]?.extensions?.code ?? 'none';
}

/**
 * A generous bound for "another client is still served": a health query normally answers in a few
 * milliseconds; this only catches a server that is blocked or stuck, it measures no speed.
 */
export const PROMPT_ANSWER_MS = 3000;

/**
 * Asks `{ health { ok } }` and resolves to whether it answered within PROMPT_ANSWER_MS. Whether the
 * answer is ok is not asked: while the database is down `health` truthfully says it is not.
 */
export async function answersPromptly(url: string): Promise<boolean> {
  const answer = graphql<{ health: { ok: boolean } }>(
    url,
    `
      {
        health {
          ok
        }
      }
    `,
  ).then(
    (r) => typeof r.data?.health.ok === 'boolean',
    () => false,
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), PROMPT_ANSWER_MS);
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends a hostile request while another client asks for health, and checks the three things every
 * hostile case must hold: a coded error, nothing written, the other client answered promptly.
 */
export async function expectRefused(
  dataSource: DataSource,
  url: string,
  request: { query: string; variables?: Record<string, unknown>; headers?: Record<string, string> },
  code: string,
): Promise<GraphQLResponse<unknown>> {
  const before = await writableState(dataSource);
  const [response, prompt] = await Promise.all([
    graphql(url, request.query, request.variables ?? {}, request.headers ?? {}),
    answersPromptly(url),
  ]);
  expect({ code: codeOf(response), message: response.errors?.[0]?.message }).toEqual({
    code,
    message: expect.any(String),
  });
  expect(await writableState(dataSource)).toEqual(before);
  expect(prompt).toBe(true);
  return response;
}
