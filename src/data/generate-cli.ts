import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  generateRelease,
  GenerateOptionsError,
  SHAPE_NAMES,
  type GenerateSummary,
  type ReleaseShapeName,
} from './synthetic-release';

const USAGE = `Usage: npm run generate -- --out <dir> [--shape ml-25m|ml-32m|ml-latest-small] [--scale 1] [--seed 1]

Writes a synthetic MovieLens release (movies.csv, ratings.csv, tags.csv, links.csv in the exact
columns of the real ml-latest / ml-25m / ml-32m files) with the shape's counts times --scale:
heavy-tailed users (each with at least 20 ratings) and movies, half stars, mean ≈ 3.5, a planted
low-rank model plus biases and noise, movies nobody rated, timestamps in the release's years.
Streams as it goes (memory does not grow with the ratings); the same seed writes the same bytes.
'npm run import -- <dir>' reads the result.

  --shape <name>   ml-25m (default: 25,000,095 ratings, 162,541 users, 62,423 movies),
                   ml-32m (32,000,204 ratings, 200,948 users, 87,585 movies), ml-latest-small
  --scale <x>      multiplies every count, e.g. 0.04 for 1M ratings of the ML-25M shape
  --seed <n>       integer seed (default 1)
  --out <dir>      where to write (created if missing)
  --json           print the summary as JSON`;

class UsageError extends Error {}

interface CliArgs {
  shape: ReleaseShapeName;
  scale: number;
  seed: number;
  out: string;
  json: boolean;
}

export function parseGenerateArgs(argv: readonly string[]): CliArgs | 'help' {
  let values;
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        shape: { type: 'string' },
        scale: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const shape = (values.shape ?? 'ml-25m') as ReleaseShapeName;
  if (!SHAPE_NAMES.includes(shape))
    throw new UsageError(`--shape must be one of ${SHAPE_NAMES.join(', ')}, got "${values.shape}"`);
  const scale = Number(values.scale ?? '1');
  if (!Number.isFinite(scale) || scale <= 0)
    throw new UsageError(`--scale must be a number > 0, got "${values.scale}"`);
  const seedText = values.seed ?? '1';
  if (!/^\d+$/.test(seedText)) throw new UsageError(`--seed must be a whole number, got "${seedText}"`);
  if (!values.out) throw new UsageError('--out is required');
  return { shape, scale, seed: Number(seedText), out: path.resolve(values.out), json: values.json === true };
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');
const day = (unix: number) => new Date(unix * 1000).toISOString().slice(0, 10);

export function formatSummary(s: GenerateSummary): string {
  return [
    `wrote ${s.out} (${s.shape} × ${s.scale}, seed ${s.seed}): ${(s.bytes / 1e6).toFixed(1)} MB in ${s.seconds.toFixed(1)} s, ${number(s.ratingsPerSecond)} ratings/s`,
    `  ratings ${number(s.ratings)}, users ${number(s.users)}, movies ${number(s.movies)} (${number(s.ratedMovies)} rated), tags ${number(s.tags)}`,
    `  mean rating ${s.meanRating.toFixed(3)}, half stars ${(s.halfStarShare * 100).toFixed(1)}%, planted signal r = ${s.plantedCorrelation.toFixed(3)}`,
    `  ratings per user: min ${s.ratingsPerUser.min}, median ${s.ratingsPerUser.median}, max ${number(s.ratingsPerUser.max)}`,
    `  ratings per rated movie: median ${s.ratingsPerMovie.median}, max ${number(s.ratingsPerMovie.max)}; top 1% of movies hold ${(s.top1PercentShare * 100).toFixed(1)}% of ratings`,
    `  timestamps ${day(s.firstTimestamp)} .. ${day(s.lastTimestamp)}`,
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
  const args = parseGenerateArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const summary = await generateRelease(args);
  process.stdout.write(`${args.json ? JSON.stringify(summary, null, 2) : formatSummary(summary)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    if (error instanceof UsageError || error instanceof GenerateOptionsError) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  });
}
