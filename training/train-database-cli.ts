import 'reflect-metadata';
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import type { FirstModelResult } from '../src/composition/trainer';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/datasource';
import { ModelStore } from '../src/engines/collaborative/model-store';
import { trainFromDatabase } from './database';
import {
  estimateTrainingBytes,
  trainingMemoryBudget,
  TrainingMemoryError,
  type TrainingShape,
} from './memory-budget';
import { logTrainingProgress } from './progress-log';
import { serverTrainOptions, type TrainingProgress } from './train';

const USAGE = `Usage: node -r @swc-node/register training/train-database-cli.ts [--schema <name>] [--budget-mb <n>]

Trains the collaborative models on the ratings in DATABASE_URL and activates them; the server runs
this as a child process on a cold start, so that it serves meanwhile and a failure cannot take it down.
Refuses to start when the estimated peak memory exceeds the budget (default 60% of this machine's).
Its last stdout line is a JSON result: {"version": …, "ratings": …, "seconds": …, "maxRssBytes": …}.`;

/** What the child reports on its last stdout line, after this marker. */
export const RESULT_MARKER = 'first-model-result ';

/** Progress lines on stdout: this marker, then a fraction 0..1. */
export const PROGRESS_MARKER = 'training-progress ';

export type { FirstModelResult };

/**
 * How far a training is, 0..1, from its progress events: the SGD epochs are most of the time, the
 * top-N model and the calibration after it the rest. Null when the step moved nothing.
 */
export function trainingFraction(): (step: TrainingProgress) => number | null {
  let epochs = 0;
  let last = -1;
  return (step) => {
    let fraction: number;
    if (step.stage === 'biased') {
      epochs++;
      fraction = 0.05 + 0.75 * Math.min(1, epochs / Math.max(1, step.epochs));
    } else fraction = step.done ? 0.95 : 0.85;
    if (fraction - last < 0.01) return null;
    last = fraction;
    return fraction;
  };
}

/** Cheap upper bounds from the planner's statistics and the catalog, before anything is loaded. */
async function shapeOf(db: DataSource): Promise<TrainingShape> {
  const [row]: { ratings: number; users: number; items: number }[] = await db.query(`
    SELECT (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'ratings'::regclass)::float8 AS ratings,
           (SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'users'::regclass)::float8 AS users,
           (SELECT count(*) FROM movies)::float8 AS items`);
  return row;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      schema: { type: 'string' },
      'budget-mb': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const config = loadConfig();
  const url = config.databaseUrl;
  if (!url) throw new Error('DATABASE_URL is not set');
  const budget = values['budget-mb'] ? Number(values['budget-mb']) * 2 ** 20 : trainingMemoryBudget();
  if (!(budget > 0)) throw new Error(`--budget-mb must be a positive number, got ${values['budget-mb']}`);
  const db = await openDatabase({ url, poolSize: 2, schema: values.schema });
  try {
    const options = serverTrainOptions(config.trainingThreads);
    const needed = estimateTrainingBytes(await shapeOf(db), options);
    if (needed > budget) throw new TrainingMemoryError(needed, budget);
    const started = performance.now();
    // Progress goes to stdout: the server logs the child's stdout lines at info, its stderr at warn.
    const log = logTrainingProgress({ info: (line) => process.stdout.write(`${line}\n`) });
    const fraction = trainingFraction();
    const progress = (step: TrainingProgress) => {
      log(step);
      const reached = fraction(step);
      if (reached !== null) process.stdout.write(`${PROGRESS_MARKER}${reached.toFixed(3)}\n`);
    };
    const store = new ModelStore(db);
    const { models, version } = await trainFromDatabase(db, store, options, progress);
    const versionId = await store.activeVersionId();
    if (versionId === null) throw new Error(`${version} was saved but is not active`);
    const result: FirstModelResult = {
      version,
      versionId,
      ratings: models.metrics.numRatings,
      seconds: (performance.now() - started) / 1000,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    };
    process.stdout.write(`${RESULT_MARKER}${JSON.stringify(result)}\n`);
  } finally {
    await db.destroy();
  }
}

if (require.main === module) {
  // Forked by a worker: when it dies (kill -9 included) the IPC channel closes, and this training
  // must not go on to activate a model that nobody holds the job's lock for. A 'disconnect'
  // listener holds the channel (and the process) open, so it goes again once the work is done.
  const orphaned = () => process.exit(70);
  if (process.send) process.on('disconnect', orphaned);
  main(process.argv.slice(2))
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = error instanceof TrainingMemoryError ? 3 : 1;
    })
    .finally(() => process.off('disconnect', orphaned));
}
