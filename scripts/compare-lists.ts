/**
 * Lists of many users from one build, written to a file, so two builds can be compared list for list:
 * a change meant to make lists cheaper must leave every movie, rank, score, engine score and
 * explanation as it was.
 *
 * Starts the server at --server (src/main.ts of this checkout by default; another checkout's to
 * compare) on the benchmark database (see bench-serve), waits until every engine is ready, asks for
 * each imported user's first list per strategy, 4 at a time, then for what the content index answers
 * besides (similarMovies of the first movies, the same movies' `similar` a page at a time, a few
 * searches), and writes the answers as JSON lines (list ids left out: they are random). With
 * --against FILE it then reports which answers differ from FILE's.
 *
 *   MOVIELENS_DIR=<ml-latest-small> node -r @swc-node/register scripts/compare-lists.ts \
 *     --server ../old/src/main.ts --out /tmp/old.jsonl
 *   MOVIELENS_DIR=<ml-latest-small> node -r @swc-node/register scripts/compare-lists.ts \
 *     --out /tmp/new.jsonl --against /tmp/old.jsonl
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { answerHelp } from '../src/cli-help';
import { ensureBenchDatabase } from './bench-database';
import { BENCH_SEARCHES, SERVER_NODE_FLAGS, waitUntilReady } from './bench-load';

answerHelp(`Usage: MOVIELENS_DIR=<ml-latest-small> node -r @swc-node/register scripts/compare-lists.ts [options]

Writes the first list of every imported user (per strategy) served by one build, and what the content
index answers (similarMovies of the first movies, their pages' similar movies, a few searches), as
JSON lines, and optionally compares them with another build's file.

  --server FILE         the server's entry point (default: this checkout's src/main.ts)
  --out FILE            where to write the lists (required)
  --against FILE        a file written by another build: report every list that differs
  --strategies LIST     comma-separated (default HYBRID,CONTENT,COLLABORATIVE)
  --users N             the first N imported users by id (default: all)
  --first N             list length (default 20)
  --similar-movies N    the first N movies by id asked for their similar movies (default 200)
  --port N              the server's port (default 4610)
  --database NAME       the benchmark database (default cinegraph_bench)
  -h, --help            print this text`);

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const SERVER = path.resolve(flag('server', path.resolve(__dirname, '../src/main.ts')));
const OUT = flag('out', '');
const AGAINST = flag('against', '');
const STRATEGIES = flag('strategies', 'HYBRID,CONTENT,COLLABORATIVE').split(',');
const USERS = Number(flag('users', '0'));
const FIRST = Number(flag('first', '20'));
const PORT = Number(flag('port', '4610'));
const DATABASE = flag('database', 'cinegraph_bench');
const DATA = process.env.MOVIELENS_DIR ?? '';

/** Content queries that search the index too: one movie's neighbours, a page's (one batched statement), free text. */
const SIMILAR_MOVIES = Number(flag('similar-movies', '200'));

const QUERY = `query ($u: Int!, $s: Strategy!, $f: Int!) {
  recommendations(userId: $u, strategy: $s, first: $f) {
    rank score strategyUsed movie { id }
    engineScores { collaborative content statistical }
    explanation { text basedOn { id } }
  }
}`;

async function main(): Promise<void> {
  if (!OUT) throw new Error('--out FILE is required');
  if (!DATA) throw new Error('set MOVIELENS_DIR to the release the benchmark database holds');
  const databaseUrl = await ensureBenchDatabase(DATABASE);
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, '-r', '@swc-node/register', SERVER], {
    // The server's own checkout resolves its modules and worker files.
    cwd: path.resolve(path.dirname(SERVER), '..'),
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      MOVIELENS_DIR: path.resolve(DATA),
      PORT: String(PORT),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      MAX_QUERY_COST: '1000000',
      RATE_LIMIT_RPS: '0',
      RETRAIN_MIN_NEW_RATINGS: '0',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const db = new Client({ connectionString: databaseUrl });
  try {
    const base = `http://127.0.0.1:${PORT}`;
    await waitUntilReady(base, child, { pollMilliseconds: 1000, nameServer: false });
    await db.connect();
    let users: number[] = (
      await db.query(`SELECT id FROM users WHERE token_hash IS NULL ORDER BY id`)
    ).rows.map((r: { id: number }) => r.id);
    if (USERS > 0) users = users.slice(0, USERS);
    const movieIds: number[] = (
      await db.query(`SELECT id FROM movies ORDER BY id LIMIT $1`, [SIMILAR_MOVIES])
    ).rows.map((r: { id: number }) => r.id);
    const ask = async (body: object): Promise<{ data?: unknown; errors?: unknown }> => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return (await response.json()) as { data?: unknown; errors?: unknown };
    };
    const jobs: {
      strategy: string;
      userId: number;
      run: () => Promise<{ data?: unknown; errors?: unknown }>;
    }[] = [
      ...STRATEGIES.flatMap((strategy) =>
        users.map((userId) => ({
          strategy,
          userId,
          run: () => ask({ query: QUERY, variables: { u: userId, s: strategy, f: FIRST } }),
        })),
      ),
      ...movieIds.map((movieId) => ({
        strategy: 'similarMovies',
        userId: movieId,
        run: () =>
          ask({
            query: 'query ($m: Int!) { similarMovies(movieId: $m, first: 20) { score movie { id } } }',
            variables: { m: movieId },
          }),
      })),
      // Pages of 20 movies with their similar movies (one batched, lateral statement per page), in order.
      {
        strategy: 'movies.similar',
        userId: 0,
        run: async () => {
          const pages: unknown[] = [];
          let after: string | null = null;
          for (let seen = 0; seen < movieIds.length; seen += 20) {
            const page = (await ask({
              query:
                'query ($a: String) { movies(first: 20, after: $a) { edges { node { id similar(first: 10) { score movie { id } } } } pageInfo { endCursor } } }',
              variables: { a: after },
            })) as { data?: { movies: { pageInfo: { endCursor: string | null } } }; errors?: unknown };
            if (page.errors || !page.data) return page;
            pages.push(page.data);
            after = page.data.movies.pageInfo.endCursor;
          }
          return { data: pages };
        },
      },
      ...BENCH_SEARCHES.map((text, i) => ({
        strategy: 'search',
        userId: i,
        run: () =>
          ask({
            query: 'query ($q: String!) { search(query: $q, first: 20) { score movie { id } } }',
            variables: { q: text },
          }),
      })),
    ];
    const lines: string[] = new Array(jobs.length);
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const index = next++;
        const { strategy, userId, run } = jobs[index];
        const json = await run();
        lines[index] = JSON.stringify({
          strategy,
          userId,
          list: json.data ?? null,
          errors: json.errors ?? null,
        });
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    writeFileSync(OUT, `${lines.join('\n')}\n`);
    process.stderr.write(`wrote ${lines.length} lists to ${OUT}\n`);
    if (AGAINST) {
      const theirs = readFileSync(AGAINST, 'utf8').trim().split('\n');
      const byKey = new Map(
        theirs.map((line) => {
          const { strategy, userId } = JSON.parse(line) as { strategy: string; userId: number };
          return [`${strategy}|${userId}`, line];
        }),
      );
      let same = 0;
      const differing: string[] = [];
      for (const line of lines) {
        const { strategy, userId, errors } = JSON.parse(line) as {
          strategy: string;
          userId: number;
          errors: unknown;
        };
        if (errors) throw new Error(`${strategy} list of user ${userId} failed: ${JSON.stringify(errors)}`);
        if (byKey.get(`${strategy}|${userId}`) === line) same++;
        else differing.push(`${strategy} ${userId}`);
      }
      process.stdout.write(
        `${same} of ${lines.length} lists identical to ${AGAINST}` +
          (differing.length > 0 ? `; differing: ${differing.slice(0, 20).join(', ')}` : '') +
          '\n',
      );
      if (differing.length > 0) process.exitCode = 1;
    }
  } finally {
    child.kill('SIGTERM');
    await db.end().catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
