import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { importRelease, type ImportSummary } from '../src/data/importer';
import { answerHelp } from '../src/cli-help';
import { openDatabase } from '../src/db/datasource';

/**
 * Times a first import and a re-import of one release into a fresh schema, which is dropped afterwards.
 *
 *   npm run bench:import -- [release dir]     (default: $MOVIELENS_DIR)
 *   DATABASE_URL defaults to the local test database.
 */

answerHelp(`Usage: npm run bench:import -- [release dir]

Times a first import and a re-import of a MovieLens release (default: $MOVIELENS_DIR) into a fresh schema
of DATABASE_URL (default: the local test database), which is dropped afterwards; prints rows/s per file.

  -h, --help   print this text`);

const TARGET_SECONDS = 10;
const TARGET_RATINGS_PER_SECOND = 200_000;

const number = (n: number) => Math.round(n).toLocaleString('en-US');

function report(label: string, summary: ImportSummary): void {
  const lines = [
    `${label}: ${summary.seconds.toFixed(2)} s total (${summary.bulkLoad}), ` +
      `${number(summary.ratings)} ratings at ${number(summary.ratingsPerSecond)} rows/s`,
    ...summary.files.map(
      (f) =>
        `  ${f.file.padEnd(22)} ${number(f.rows).padStart(11)} rows ${number(f.rowsPerSecond).padStart(10)} rows/s` +
        `   read ${f.loadSeconds.toFixed(3)} s   merge ${f.mergeSeconds.toFixed(3)} s`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const dirArgument = process.argv[2] ?? process.env.MOVIELENS_DIR;
  if (!dirArgument) throw new Error('pass the release directory as an argument or set MOVIELENS_DIR');
  const dir = path.resolve(dirArgument);
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_import_${randomBytes(4).toString('hex')}`;
  const dataSource = await openDatabase({ url, poolSize: 2, schema });
  try {
    const first = await importRelease(dataSource, dir);
    report('first import', first);
    const again = await importRelease(dataSource, dir);
    report('re-import', again);
    const counts = (['movies', 'users', 'ratings', 'tags'] as const)
      .map((t) => `${t} ${first[t]}`)
      .join(', ');
    process.stdout.write(`release: ${first.format}, ${counts}\n`);
    const meets = first.seconds < TARGET_SECONDS && first.ratingsPerSecond >= TARGET_RATINGS_PER_SECOND;
    process.stdout.write(
      `targets (first import < ${TARGET_SECONDS} s, ratings >= ${number(TARGET_RATINGS_PER_SECOND)} rows/s): ` +
        `${meets ? 'met' : 'NOT met'}\n`,
    );
  } finally {
    await dataSource.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
