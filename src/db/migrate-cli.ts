import 'reflect-metadata';
import { answerHelp } from '../cli-help';
import { runCommand, withCommandDatabase } from './command-database';
import { ConfigError, loadConfig } from '../config';
import { createDataSource } from './datasource';

const USAGE = `Usage: npm run migrate

Brings the database schema up to date: runs the migrations in migrations/ that have not run yet, each in
its own transaction, against DATABASE_URL, or against the embedded PGlite database in DATA_DIR/pglite
(the one npm start uses) when DATABASE_URL is unset. Running it again changes nothing. npm start runs the
same migrations itself; this command is for upgrading a database before starting a new version.

  -h, --help   print this text`;

async function main(argv: readonly string[]): Promise<number> {
  answerHelp(USAGE, argv);
  const unexpected = argv.find((arg) => arg !== '--');
  if (unexpected !== undefined) {
    process.stderr.write(`unexpected argument ${unexpected}\n\n${USAGE}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`configuration error: ${error.message}\n`);
    return 2;
  }
  await withCommandDatabase(
    config,
    async (url) => {
      const dataSource = createDataSource({ url, poolSize: 1 });
      return dataSource.initialize();
    },
    async (dataSource) => {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      const total = dataSource.migrations.length;
      process.stdout.write(
        applied.length === 0
          ? `schema up to date (${total} migrations)\n`
          : `applied ${applied.length} of ${total} migrations:\n${applied.map((m) => `  ${m.name}\n`).join('')}`,
      );
    },
  );
  return 0;
}

runCommand('migrate', () => main(process.argv.slice(2)));
