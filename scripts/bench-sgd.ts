/**
 * Seconds per SGD epoch of the rating model at the default hyperparameters, by DSGD strata, on a
 * MovieLens ratings.csv (a real release or `npm run generate`'s), optionally side by side with another
 * checkout (`--old`): each round runs every (strata, checkout) pair once, old and new alternating, so
 * the machine's other work falls on both alike. With `--validation` it trains the full schedule and
 * prints the validation RMSE too, which is how the strata were chosen (training/README.md).
 */
import os from 'node:os';
import path from 'node:path';
import type { BiasedMfOptions, BiasedMfResult, trainBiasedMf } from '../training/biased-mf';
import { integerFlag, numberFlag, parseFlags, runCli, stringFlag, UsageError } from '../training/cli';
import { formatOfFile, readRecords } from '../src/data/movielens/formats';
import { createDataset, type RatingsDataset } from '../training/dataset';
import { RatingColumns } from '../training/ratings-stream';
import type { SgdWorkerPool } from '../training/sgd-workers';

const USAGE = `Usage: node -r @swc-node/register scripts/bench-sgd.ts --ratings <ratings.csv> [options]

Times the rating model's SGD epochs (300 factors and the other defaults, no recency refit) by DSGD strata
and prints one Markdown row per run: seconds per epoch, nanoseconds per rating update, load average.

  --ratings FILE     a MovieLens ratings file (ratings.csv, ratings.dat or ml-100k's u.data)
  --strata LIST      e.g. 2,auto,32 (default 2,auto; auto is the data-shaped default, new checkouts only)
  --epochs N         epochs per run (default 2)
  --threads N        SGD threads (default 2)
  --rounds N         rounds of every (strata, checkout) pair (default 1)
  --validation X     hold out this fraction and print the validation RMSE after the run (default 0)
  --old DIR          another checkout to run alternately (its node_modules are not needed)
  -h, --help         print this text`;

interface Checkout {
  readonly label: string;
  readonly train: typeof trainBiasedMf;
  readonly defaults: BiasedMfOptions;
  readonly startPool: (threads: number) => Promise<SgdWorkerPool>;
}

function checkoutAt(root: string, label: string): Checkout {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = (module: string) => require(path.join(root, module));
  return {
    label,
    train: load('training/biased-mf').trainBiasedMf,
    defaults: load('training/options').DEFAULT_BIASED_MF_OPTIONS,
    startPool: (threads) => load('training/sgd-workers').SgdWorkerPool.start(threads),
  };
}

/** The ratings on dense indices in file order, streamed (a row object at a time, never all of them). */
async function readRatings(file: string): Promise<RatingsDataset> {
  const columns = new RatingColumns(1 << 20);
  const userIndex = new Map<number, number>();
  const itemIndex = new Map<number, number>();
  for await (const row of readRecords(file, 'ratings', await formatOfFile(file))) {
    let user = userIndex.get(row.userId);
    if (user === undefined) userIndex.set(row.userId, (user = userIndex.size));
    let item = itemIndex.get(row.movieId);
    if (item === undefined) itemIndex.set(row.movieId, (item = itemIndex.size));
    columns.ensure(1);
    const n = columns.length++;
    columns.users[n] = user;
    columns.items[n] = item;
    columns.ratings[n] = row.rating;
    columns.timestamps[n] = row.timestamp;
  }
  if (columns.length === 0) throw new UsageError(`${file} holds no ratings`);
  return createDataset({
    users: columns.users.slice(0, columns.length),
    items: columns.items.slice(0, columns.length),
    ratings: columns.ratings.slice(0, columns.length),
    timestamps: columns.timestamps.slice(0, columns.length),
    userIds: Int32Array.from(userIndex.keys()),
    itemIds: Int32Array.from(itemIndex.keys()),
  });
}

async function main(argv: string[]): Promise<void> {
  const values = parseFlags(argv, {
    ratings: { type: 'string' },
    strata: { type: 'string' },
    epochs: { type: 'string' },
    threads: { type: 'string' },
    rounds: { type: 'string' },
    validation: { type: 'string' },
    old: { type: 'string' },
  });
  const file = stringFlag(values, 'ratings');
  if (!file) throw new UsageError('--ratings is required');
  const strataList = (stringFlag(values, 'strata') ?? '2,auto').split(',').map((text) => {
    const value = text.trim() === 'auto' ? 'auto' : Number(text);
    if (value !== 'auto' && !(Number.isInteger(value) && value >= 1))
      throw new UsageError(`--strata must list whole numbers ≥ 1 or auto, got ${text}`);
    return value;
  });
  const epochs = integerFlag(values, 'epochs', 2, 1);
  const threads = integerFlag(values, 'threads', 2, 1);
  const rounds = integerFlag(values, 'rounds', 1, 1);
  const validationFraction = numberFlag(values, 'validation', 0);
  if (!(validationFraction >= 0 && validationFraction < 1))
    throw new UsageError('--validation must be in [0, 1)');
  const oldRoot = stringFlag(values, 'old');
  const checkouts = [checkoutAt(path.resolve(__dirname, '..'), 'this checkout')];
  if (oldRoot) checkouts.push(checkoutAt(path.resolve(oldRoot), path.resolve(oldRoot)));

  const loadStarted = performance.now();
  const dataset = await readRatings(file);
  process.stdout.write(
    `${file}: ${dataset.size.toLocaleString('en-US')} ratings, ${dataset.numUsers.toLocaleString('en-US')} users × ` +
      `${dataset.numItems.toLocaleString('en-US')} movies, read in ${((performance.now() - loadStarted) / 1000).toFixed(1)} s; ` +
      `${epochs} epochs per run, ${threads} threads, ${os.cpus().length} CPUs, node ${process.version}\n\n` +
      '| round | checkout | strata | s per epoch | ns per update | validation RMSE | load average |\n' +
      '|---:|---|---:|---:|---:|---:|---|\n',
  );
  for (let round = 1; round <= rounds; round++) {
    for (const strata of strataList) {
      // Old and new alternate, and swap who goes first every round.
      const order = round % 2 === 1 ? checkouts : [...checkouts].reverse();
      for (const checkout of order) {
        if (strata === 'auto' && checkout !== checkouts[0]) continue;
        const pool = threads > 1 ? await checkout.startPool(threads) : undefined;
        let result: BiasedMfResult;
        try {
          result = await checkout.train(
            dataset,
            {
              ...checkout.defaults,
              epochs,
              threads,
              strata,
              recencyHalfLifeDays: 0,
              validationFraction,
              patience: 0,
            },
            { pool },
          );
        } finally {
          await pool?.close();
        }
        const seconds = result.curve.reduce((sum, epoch) => sum + epoch.seconds, 0) / result.curve.length;
        const label = strata === 'auto' ? `auto (${result.strata})` : String(strata);
        process.stdout.write(
          `| ${round} | ${checkout.label} | ${label} | ${seconds.toFixed(2)} | ` +
            `${((seconds * 1e9) / result.trainRatings).toFixed(0)} | ${result.validationRmse?.toFixed(5) ?? '–'} | ` +
            `${os
              .loadavg()
              .map((l) => l.toFixed(2))
              .join(' ')} |\n`,
        );
      }
    }
  }
}

runCli(main, USAGE);
