import 'reflect-metadata';
import path from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/datasource';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../db/embedded';
import {
  AfterImportHookError,
  ImportSetupError,
  importRelease,
  MalformedReleaseError,
  type ImportProgress,
  type ImportSummary,
} from './importer';
import { UnknownReleaseError } from './movielens/formats';
import type { BulkLoadMethod } from './staging';

const USAGE = `Usage: npm run import -- <release dir> [--overviews <tmdb_5000_movies.csv>] [--bulk-load copy|insert]

Imports a MovieLens release (ml-latest-small, ml-latest, ml-25m, ml-32m, ml-100k, ml-1m) into the
database named by DATABASE_URL, or into the embedded database in DATA_DIR when it is unset.
Importing the same release again changes nothing; a malformed line aborts the import and leaves the
database as it was.

  --overviews <file>   join TMDB overviews (CSV with id and overview columns) via links.csv's tmdbId
  --bulk-load <how>    copy (COPY FROM STDIN) or insert (batched INSERTs); default: copy, insert on PGlite`;

interface CliArguments {
  dir: string;
  overviewsFile: string | null;
  bulkLoad: BulkLoadMethod | 'auto';
}

class UsageError extends Error {}

function parseArguments(argv: readonly string[]): CliArguments | 'help' {
  let dir: string | null = null;
  let overviewsFile: string | null = null;
  let bulkLoad: BulkLoadMethod | 'auto' = 'auto';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    if (arg === '--help' || arg === '-h') return 'help';
    else if (arg === '--overviews') overviewsFile = path.resolve(value());
    else if (arg === '--bulk-load') {
      const method = value();
      if (method !== 'copy' && method !== 'insert')
        throw new UsageError(`--bulk-load must be copy or insert`);
      bulkLoad = method;
    } else if (arg.startsWith('--')) throw new UsageError(`unknown option ${arg}`);
    else if (dir === null) dir = path.resolve(arg);
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (dir === null) throw new UsageError('missing the release directory');
  return { dir, overviewsFile, bulkLoad };
}

const number = (n: number) => Math.round(n).toLocaleString('en-US');

/** One bar per file, measured in bytes read, labelled with rows and rows/s. */
function progressBars(): { onProgress: (progress: ImportProgress) => void; stop: () => void } {
  const multi = new MultiBar(
    {
      format: '{file} {bar} {percentage}% | {rows} rows | {speed} rows/s | {phase}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, SingleBar>();
  return {
    onProgress(progress) {
      const payload = {
        file: progress.file.padEnd(22),
        rows: number(progress.rows).padStart(11),
        speed: number(progress.rowsPerSecond).padStart(9),
        phase: progress.phase,
      };
      let bar = bars.get(progress.file);
      if (!bar) {
        bar = multi.create(Math.max(1, progress.totalBytes), 0, payload);
        bars.set(progress.file, bar);
      }
      bar.update(progress.bytesRead, payload);
    },
    stop: () => multi.stop(),
  };
}

function printSummary(summary: ImportSummary): void {
  const lines = [
    `Imported ${summary.dir} (${summary.format}) in ${summary.seconds.toFixed(2)} s using ${summary.bulkLoad}:`,
    `  ${number(summary.movies)} movies, ${number(summary.users)} users, ${number(summary.ratings)} ratings, ` +
      `${number(summary.tags)} tags, ${number(summary.overviews)} overviews`,
    `  ratings: ${number(summary.ratingsPerSecond)} rows/s`,
    ...summary.files.map(
      (f) =>
        `  ${f.file.padEnd(22)} ${number(f.rows).padStart(11)} rows  ${number(f.rowsPerSecond).padStart(9)} rows/s` +
        `  (read ${f.loadSeconds.toFixed(2)} s, merge ${f.mergeSeconds.toFixed(2)} s)`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArguments | 'help';
  try {
    args = parseArguments(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const config = loadConfig();
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    // The directory the service opens (src/app.ts), so the import lands where it is served from
    // and the data-directory lock keeps the two from opening it at once.
    const dataDir = `${config.dataDir}/pglite`;
    process.stderr.write(`DATABASE_URL is unset: importing into the embedded database in ${dataDir}\n`);
    embedded = await startEmbeddedDatabase({ dataDir, port: 0, poolSize: 2 });
    url = embedded.url;
  }
  try {
    const dataSource = await openDatabase({ url, poolSize: 2 });
    const bars = progressBars();
    let summary: ImportSummary;
    try {
      summary = await importRelease(dataSource, args.dir, {
        overviewsFile: args.overviewsFile,
        bulkLoad: args.bulkLoad,
        onProgress: bars.onProgress,
      });
    } finally {
      bars.stop();
      await dataSource.destroy();
    }
    printSummary(summary);
  } finally {
    await embedded?.stop();
  }
  return 0;
}

/** Errors a user can act on get their message alone; anything else gets its stack. */
const EXPECTED_ERRORS = [
  ConfigError,
  UnknownReleaseError,
  MalformedReleaseError,
  ImportSetupError,
  AfterImportHookError,
];

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const expected = EXPECTED_ERRORS.some((type) => error instanceof type);
    process.stderr.write(
      `\nimport failed: ${expected ? (error as Error).message : ((error as Error).stack ?? error)}\n`,
    );
    process.exitCode = 1;
  },
);
