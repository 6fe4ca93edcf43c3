/**
 * How much of the content engine's own best movies its lists hold: for users spread over a
 * database's id range, the engine's list (as the orchestrator asks for it) against the top of its
 * own score over every unrated embedded movie, with the neighbour table (served: candidates and
 * votes through it) and without it (the taste profile's neighbours voted on exactly), side by side.
 *
 *   node -r @swc-node/register scripts/content-recall.ts --database postgres://…/db [--users 60]
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { embedderFor } from '../src/app';
import { answerHelp } from '../src/cli-help';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/datasource';
import { ContentEngine } from '../src/engines/content/content-engine';
import { ContentIndexer } from '../src/engines/content/indexer';
import { createVotePool } from '../src/engines/content/vote-pool';
import type { EngineRole } from '../src/engines/engine';
import { createLogger } from '../src/logger';

answerHelp(`Usage: node -r @swc-node/register scripts/content-recall.ts --database <url> [options]

For users spread over the database's id range (at least 5 ratings each), asks the content engine for
a list as the orchestrator does (no genres) in each role, and compares it with the top of the
engine's own score over every unrated embedded movie (scoreMovies in the same role): the share of
that top the list holds (recall), with the neighbour table (what is served: the candidates the vote
through it reaches highest, scored by that vote) and without it (the taste profile's neighbours,
scored by the exact vote: the engine before the table), and the CPU per list of each. The content
index must be complete; the in-process index and the table are built first.

  --database <url>   the database (required)
  --users <n>        users (default 60)
  --limit <n>        list length (default 50: what the orchestrator asks an engine for)
  --roles <list>     merged (HYBRID's), alone (CONTENT's); default both
  --per-movie <n>    the table's neighbours a movie (default the engine's, NEIGHBOURS_PER_MOVIE)
  -h, --help         print this text`);

const { values } = parseArgs({
  options: {
    database: { type: 'string' },
    users: { type: 'string', default: '60' },
    limit: { type: 'string', default: '50' },
    roles: { type: 'string', default: 'merged,alone' },
    'per-movie': { type: 'string' },
  },
});

function cpuMs(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
}

async function main(): Promise<void> {
  if (!values.database) throw new Error('--database is required');
  const users = Number(values.users);
  const limit = Number(values.limit);
  const roles = values.roles.split(',') as EngineRole[];
  const config = loadConfig({ ...process.env, DATABASE_URL: values.database, EMBEDDINGS: 'use-lite' });
  const logger = createLogger('warn');
  const dataSource = await openDatabase({ url: values.database, poolSize: 4 });
  const embedder = await embedderFor(config, logger);
  const voter = createVotePool({ workers: 1 });
  try {
    const indexer = new ContentIndexer({ dataSource, embedder, logger });
    const indexed = await indexer.run();
    if (indexed.embedded > 0) console.log(`embedded ${indexed.embedded} movies first`);
    const engines = {
      table: new ContentEngine({
        dataSource,
        indexer,
        memorySearch: true,
        voter,
        neighboursPerMovie: values['per-movie'] ? Number(values['per-movie']) : undefined,
      }),
      taste: new ContentEngine({ dataSource, indexer, memorySearch: true, voter, neighbourTable: false }),
    };
    const started = Date.now();
    await engines.table.prepareMemoryIndex();
    await engines.table.neighbourTableBuilt();
    await engines.taste.prepareMemoryIndex();
    const state = engines.table.searchState().index;
    console.log(
      `in-process index and neighbour table: ${state?.movies} movies, table ${state?.neighbourTable?.buildSeconds} s ` +
        `(${((Date.now() - started) / 1000).toFixed(1)} s for both engines' indexes and the table)`,
    );
    const movieIds: number[] = (
      await dataSource.query(`SELECT movie_id FROM movie_embeddings WHERE model_id = $1`, [embedder.modelId])
    ).map((row: { movie_id: number }) => row.movie_id);
    const candidates: { user_id: number }[] = await dataSource.query(
      `SELECT user_id FROM ratings GROUP BY user_id HAVING count(*) >= 5 ORDER BY user_id`,
    );
    const picked = Array.from(
      { length: Math.min(users, candidates.length) },
      (_, n) => candidates[Math.floor((n * candidates.length) / Math.min(users, candidates.length))].user_id,
    );
    for (const role of roles) {
      const held = { table: 0, taste: 0 };
      const cpu = { table: 0, taste: 0 };
      for (const userId of picked) {
        const rated = new Set(
          (await dataSource.query(`SELECT movie_id FROM ratings WHERE user_id = $1`, [userId])).map(
            (row: { movie_id: number }) => row.movie_id,
          ),
        );
        const lists: Record<'table' | 'taste', Set<number>> = { table: new Set(), taste: new Set() };
        for (const source of ['table', 'taste'] as const) {
          const from = process.cpuUsage();
          const list = await engines[source].recommend({ userId, limit, role });
          cpu[source] += cpuMs(from);
          lists[source] = new Set(list.map((movie) => movie.movieId));
        }
        const unrated = movieIds.filter((movieId) => !rated.has(movieId));
        for (const source of ['table', 'taste'] as const) {
          const all = await engines[source].scoreMovies(userId, unrated, role);
          const best = [...all.values()]
            .sort((a, b) => b.score - a.score || a.movieId - b.movieId)
            .slice(0, limit);
          held[source] += best.filter((movie) => lists[source].has(movie.movieId)).length / best.length;
        }
      }
      console.log(
        `${role}: ${picked.length} users, lists of ${limit}: recall of the engine's own top ${limit}: ` +
          `neighbour table ${(held.table / picked.length).toFixed(3)}, taste profile ${(held.taste / picked.length).toFixed(3)}; ` +
          `CPU per first list (the process, both threads) ${(cpu.table / picked.length).toFixed(2)} ms, ${(cpu.taste / picked.length).toFixed(2)} ms`,
      );
    }
  } finally {
    await voter.dispose();
    await embedder.dispose?.();
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
