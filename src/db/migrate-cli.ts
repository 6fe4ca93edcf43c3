import 'reflect-metadata';
import path from 'node:path';
import { answerHelp } from '../cli-help';
import { ConfigError, loadConfig } from '../config';
import { createDataSource } from './datasource';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded';

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
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    // The directory the server's embedded database lives in (app.ts, connectDatabase).
    const dataDir = path.join(config.dataDir, 'pglite');
    process.stderr.write(`DATABASE_URL is unset: migrating the embedded database in ${dataDir}\n`);
    embedded = await startEmbeddedDatabase({ dataDir, port: 0, poolSize: 1 });
    url = embedded.url;
  }
  try {
    const dataSource = createDataSource({ url, poolSize: 1 });
    await dataSource.initialize();
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      const total = dataSource.migrations.length;
      process.stdout.write(
        applied.length === 0
          ? `schema up to date (${total} migrations)\n`
          : `applied ${applied.length} of ${total} migrations:\n${applied.map((m) => `  ${m.name}\n`).join('')}`,
      );
    } finally {
      await dataSource.destroy();
    }
  } finally {
    await embedded?.stop();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
