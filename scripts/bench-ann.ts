/**
 * The collaborative engine's top-N retrieval: the norm-ordered index (kernels/mips-index.ts)
 * against the full pass (score every movie, top-k), at catalog sizes of ml-latest-small (9.7K),
 * ML-25M (62K) and ML-32M (87K), or on a database's active model and its users: movies scored per
 * query, CPU per query, build time and memory, and a check that both return the same lists.
 *
 *   node -r @swc-node/register scripts/bench-ann.ts [--sizes 9742,62423,87585 --users 300]
 *   node -r @swc-node/register scripts/bench-ann.ts --database postgres://…/db [--users 300]
 */
import 'reflect-metadata';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { mipsCatalog } from '../fixtures/mips-catalog';
import { answerHelp } from '../src/cli-help';
import { openDatabase } from '../src/db/datasource';
import { factorScores, isFactorModel, TopNScorer, topK } from '../src/engines/collaborative/kernels';
import { buildMipsIndex, searchMipsIndex } from '../src/engines/collaborative/kernels/mips-index';
import { ModelStore } from '../src/engines/collaborative/model-store';

answerHelp(`Usage: node -r @swc-node/register scripts/bench-ann.ts [options]

Without --database, for each catalog size: samples planted ratings in memory (Zipf-like popularity,
users with planted tastes; the ratings are fewer than a real release's, the item count is the real
one) and fits PureSVD (rank 50, the served default). With --database, reads the database's active
model (PureSVD or iALS) and the ratings of users spread over its id range. Then builds the
norm-ordered index as serving does and answers each user's top-N both ways, each excluding the movies
the user rated. Prints the share of lists equal to the full pass's (1.000 expected: the index is
exact), movies scored per query (mean, p50, p90, p99), µs of CPU per query for both, and the index's
build time and bytes per movie.

  --sizes <list>        catalog sizes (default 9742,62423,87585: ml-latest-small, ML-25M, ML-32M)
  --database <url>      measure the active model of this database instead
  --users <n>           query users per size (default 300)
  --candidates <n>      the long list (default 100: what the orchestrator asks for first: 20 with diversity)
  --rank <n>            PureSVD rank of the planted catalogs (default 50)
  --seed <n>            default 1
  -h, --help            print this text`);

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '9742,62423,87585' },
    database: { type: 'string' },
    users: { type: 'string', default: '300' },
    candidates: { type: 'string', default: '100' },
    rank: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
  },
});
const queryUsers = Number(values.users);
const candidates = Number(values.candidates);

interface Query {
  vector: Float64Array;
  rated: Int32Array;
}

interface Case {
  label: string;
  factors: Float32Array;
  rank: number;
  queries: Query[];
}

/** CPU (user + system) since `from`, in µs: on a shared machine wall time counts other processes' work. */
function cpuMicros(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return used.user + used.system;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function plantedCase(items: number, rank: number, seed: number): Case {
  // About 2 users per 3 movies and 60 ratings each: every movie of the tail gets a few ratings.
  const users = Math.max(2000, Math.round(items * 0.6));
  process.stderr.write(`${items} movies: sampling ${users} users' ratings, fitting PureSVD rank ${rank}\n`);
  const catalog = mipsCatalog({ items, users, rank, seed });
  const picked = Array.from({ length: Math.min(queryUsers, users) }, (_, n) =>
    Math.floor((n * users) / Math.min(queryUsers, users)),
  );
  return {
    label: `${items.toLocaleString('en-US')} planted`,
    factors: catalog.model.itemFactors,
    rank,
    queries: picked.map((user) => ({
      vector: catalog.userVector(user),
      rated: catalog.userRatings(user).items,
    })),
  };
}

async function databaseCase(url: string): Promise<Case> {
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    const model = await new ModelStore(db).loadActive();
    if (!model) throw new Error(`${url} has no active model`);
    if (!isFactorModel(model.topN))
      throw new Error(`the active top-N model is ${model.topN.kind}: no factors`);
    const scorer = new TopNScorer(model.topN);
    const itemIndex = new Map(Array.from(model.biased.itemIds, (id, item) => [id, item]));
    const [{ max }]: { max: number }[] = await db.query(`SELECT max(id)::int AS max FROM users`);
    const queries: Query[] = [];
    // Users spread evenly over the id range (light and heavy raters alike), as they come.
    for (let n = 0; queries.length < queryUsers && n < queryUsers * 4; n++) {
      const userId = 1 + Math.floor((n * max) / (queryUsers * 4)) * 4;
      const rows: { movie_id: number; rating: number }[] = await db.query(
        `SELECT movie_id, rating FROM ratings WHERE user_id = $1`,
        [userId],
      );
      const items: number[] = [];
      const ratings: number[] = [];
      for (const row of rows) {
        const item = itemIndex.get(row.movie_id);
        if (item === undefined) continue;
        items.push(item);
        ratings.push(Number(row.rating));
      }
      const vector = items.length > 0 ? scorer.scoreUser(items, ratings).vector : undefined;
      if (vector) queries.push({ vector, rated: Int32Array.from(items) });
    }
    return {
      label: `${url.replace(/^.*\//, '')} (${model.topN.kind} v${model.versionId})`,
      factors: model.topN.itemFactors,
      rank: model.topN.rank,
      queries,
    };
  } finally {
    await db.destroy();
  }
}

function measure(c: Case): string {
  const { factors, rank, queries } = c;
  const items = factors.length / rank;
  const buildCpu = process.cpuUsage();
  const index = buildMipsIndex(factors, rank);
  const buildMs = cpuMicros(buildCpu) / 1000;
  const scores = new Float32Array(items);
  // Movies with an all-zero row are never ranked (the index leaves them out; the engine masks them).
  const zeroRows: number[] = [];
  for (let item = 0; item < items; item++)
    if (factors.subarray(item * rank, (item + 1) * rank).every((v) => v === 0)) zeroRows.push(item);
  const fullPass = (query: Query, k: number) => {
    factorScores(factors, rank, query.vector, scores);
    for (const item of query.rated) scores[item] = -Infinity;
    for (const item of zeroRows) scores[item] = -Infinity;
    return topK(scores, k);
  };
  // Timed passes run twice; the second is reported (the first compiles and warms caches).
  const timed = <T>(run: () => T): { result: T; us: number } => {
    run();
    const cpu = process.cpuUsage();
    const result = run();
    return { result, us: cpuMicros(cpu) / queries.length };
  };
  // The full pass's masking of unrated rows is part of this benchmark's reference, not of serving's
  // cost (the engine keeps a mask): it is timed without it.
  const exactUs = timed(() =>
    queries.map((query) => {
      factorScores(factors, rank, query.vector, scores);
      for (const item of query.rated) scores[item] = -Infinity;
      return topK(scores, candidates);
    }),
  ).us;
  const reference = queries.map((query) => fullPass(query, candidates));
  const indexed = (k: number) =>
    timed(() =>
      queries.map((query) => {
        const rated = new Set(query.rated);
        return searchMipsIndex(index, query.vector, k, (item) => !rated.has(item));
      }),
    );
  const long = indexed(candidates);
  const short = indexed(10);
  const equal = long.result.filter(
    (found, n) =>
      found.items.length === reference[n].length && found.items.every((item, i) => item === reference[n][i]),
  ).length;
  const scanned = long.result.map((found) => found.scanned).sort((a, b) => a - b);
  const mean = scanned.reduce((sum, s) => sum + s, 0) / scanned.length;
  const count = (n: number) => Math.round(n).toLocaleString('en-US');
  return (
    `| ${c.label} | ${index.numItems.toLocaleString('en-US')} | ${queries.length} | ${(equal / queries.length).toFixed(3)} | ` +
    `${count(mean)} / ${count(percentile(scanned, 0.5))} / ${count(percentile(scanned, 0.9))} / ${count(percentile(scanned, 0.99))} | ` +
    `${exactUs.toFixed(0)} | ${short.us.toFixed(0)} | ${long.us.toFixed(0)} | ${buildMs.toFixed(0)} | ` +
    `${(index.bytes / index.numItems).toFixed(0)} |`
  );
}

async function main(): Promise<void> {
  const cases = values.database
    ? [await databaseCase(values.database)]
    : values.sizes
        .split(',')
        .map((size) => plantedCase(Number(size), Number(values.rank), Number(values.seed)));
  const rows = cases.map((c) => {
    const row = measure(c);
    process.stderr.write(`${row}\n`);
    return row;
  });
  const lines = [
    '',
    `candidates = ${candidates}; ${os.cpus().length} cores, load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
    '',
    `| model | movies indexed | users | lists equal to the full pass | movies scored (top ${candidates}): mean / p50 / p90 / p99 | full pass µs/query | index µs (top 10) | index µs (top ${candidates}) | build ms | index B/movie |`,
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
