/**
 * Approximate against exact top-N retrieval of the collaborative engine, at catalog sizes of
 * ml-latest-small (9.7K), ML-25M (62K) and ML-32M (87K): recall, build time, memory and CPU per query.
 *
 *   node -r @swc-node/register scripts/bench-ann.ts [--sizes 9742,62423,87585 --users 300]
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { mipsCatalog } from '../fixtures/mips-catalog';
import { answerHelp } from '../src/cli-help';
import { factorScores, topK } from '../src/engines/collaborative/kernels';
import { buildMipsIndexNow, searchMipsIndex } from '../src/engines/collaborative/kernels/mips-index';

answerHelp(`Usage: node -r @swc-node/register scripts/bench-ann.ts [options]

For each catalog size: samples planted ratings in memory (Zipf-like popularity, users with planted
tastes; the ratings are fewer than a real release's, the item count is the real one), fits PureSVD
(rank 50, the served default), builds the approximate index (IVF over the MIPS transform, as serving
does) and answers the users' top-N both ways, each excluding the movies the user rated. Prints
recall@10 and recall@candidates of the approximate lists against the exact ones, the index's build
time and bytes per movie, and µs of CPU per query, exact (score every movie, top-k) against
approximate.

  --sizes <list>        catalog sizes (default 9742,62423,87585: ml-latest-small, ML-25M, ML-32M)
  --users <n>           query users per size (default 300)
  --candidates <n>      the long list (default 100: what the orchestrator asks for first: 20 with diversity)
  --rank <n>            PureSVD rank (default 50)
  --seed <n>            default 1
  -h, --help            print this text`);

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '9742,62423,87585' },
    users: { type: 'string', default: '300' },
    candidates: { type: 'string', default: '100' },
    rank: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const queryUsers = Number(values.users);
const candidates = Number(values.candidates);
const rank = Number(values.rank);
const seed = Number(values.seed);

function recall(exact: Int32Array, approximate: Int32Array): number {
  if (exact.length === 0) return 1;
  const found = new Set(approximate);
  let hits = 0;
  for (const item of exact) if (found.has(item)) hits++;
  return hits / exact.length;
}

/** CPU (user + system) since `from`, in µs: on a shared machine wall time counts other processes' work. */
function cpuMicros(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return used.user + used.system;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const items of sizes) {
    // About 2 users per 3 movies and 60 ratings each: every movie of the tail gets a few ratings.
    const users = Math.max(2000, Math.round(items * 0.6));
    process.stderr.write(`${items} movies: sampling ${users} users' ratings, fitting PureSVD rank ${rank}\n`);
    const catalog = mipsCatalog({ items, users, rank, seed });
    const factors = catalog.model.itemFactors;
    const buildCpu = process.cpuUsage();
    const index = buildMipsIndexNow(factors, rank, { seed, calibrationN: candidates });
    const buildMs = cpuMicros(buildCpu) / 1000;

    const scores = new Float32Array(items);
    const picked = Array.from({ length: Math.min(queryUsers, users) }, (_, n) =>
      Math.floor((n * users) / Math.min(queryUsers, users)),
    );
    const queries = picked.map((user) => ({
      vector: catalog.userVector(user),
      rated: catalog.userRatings(user).items,
    }));
    const exactLists: Int32Array[] = [];
    const exactList = (query: (typeof queries)[number], k: number) => {
      factorScores(factors, rank, query.vector, scores);
      for (const item of query.rated) scores[item] = -Infinity;
      return topK(scores, k);
    };
    // Timed passes run twice; the second is reported (the first compiles and warms caches).
    let exactUs = 0;
    for (let pass = 0; pass < 2; pass++) {
      const cpu = process.cpuUsage();
      exactLists.length = 0;
      for (const query of queries) exactLists.push(exactList(query, candidates));
      exactUs = cpuMicros(cpu) / queries.length;
    }
    const approximate = (k: number) => {
      let result: Int32Array[] = [];
      let us = 0;
      let scanned = 0;
      for (let pass = 0; pass < 2; pass++) {
        const cpu = process.cpuUsage();
        scanned = 0;
        result = queries.map((query) => {
          const rated = new Set(query.rated);
          const found = searchMipsIndex(index, query.vector, k, (item) => !rated.has(item));
          scanned += found.scanned;
          return found.items;
        });
        us = cpuMicros(cpu) / queries.length;
      }
      return { lists: result, us, scanned: scanned / queries.length };
    };
    const long = approximate(candidates);
    const short = approximate(10);
    const meanRecall = (lists: Int32Array[], k: number) =>
      lists.reduce((sum, list, n) => sum + recall(exactLists[n].subarray(0, k), list.subarray(0, k)), 0) /
      lists.length;
    rows.push(
      `| ${items.toLocaleString('en-US')} | ${index.numLists} | ${(buildMs / 1000).toFixed(2)} | ` +
        `${(index.bytes / index.numItems).toFixed(0)} | ${meanRecall(short.lists, 10).toFixed(3)} | ` +
        `${meanRecall(long.lists, candidates).toFixed(3)} | ${exactUs.toFixed(0)} | ${short.us.toFixed(0)} | ` +
        `${long.us.toFixed(0)} | ${Math.round(long.scanned).toLocaleString('en-US')} |`,
    );
    process.stderr.write(`${rows[rows.length - 1]}\n`);
  }
  const lines = [
    '',
    `PureSVD rank ${rank}, ${queryUsers} users per size, candidates = ${candidates}; ` +
      `${os.cpus().length} cores, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    '',
    `| movies | lists | build CPU s | index B/movie | recall@10 | recall@${candidates} | exact µs/query | approx µs (top 10) | approx µs (top ${candidates}) | movies scored (top ${candidates}) |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
