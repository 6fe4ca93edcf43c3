import 'reflect-metadata';
import path from 'node:path';
import { answerHelp } from '../cli-help';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/datasource';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../db/embedded';
import { DomainError } from '../errors';
import {
  EXPERIMENTS_USAGE,
  ExperimentsCommand,
  parseExperimentsCommand,
  runExperimentsCommand,
  UsageError,
} from './cli-commands';
import { ExperimentService } from './experiment-service';

async function main(argv: readonly string[]): Promise<number> {
  answerHelp(EXPERIMENTS_USAGE, argv);
  let command: ExperimentsCommand;
  let config;
  try {
    command = parseExperimentsCommand(argv);
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) process.stderr.write(`configuration error: ${error.message}\n`);
    else if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      process.stderr.write(`${(error as Error).message}\n\n${EXPERIMENTS_USAGE}\n`);
    else throw error;
    return 2;
  }
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    // The directory the server's embedded database lives in (app.ts, connectDatabase).
    const dataDir = path.join(config.dataDir, 'pglite');
    process.stderr.write(`DATABASE_URL is unset: using the embedded database in ${dataDir}\n`);
    embedded = await startEmbeddedDatabase({ dataDir, port: 0, poolSize: 1 });
    url = embedded.url;
  }
  try {
    const dataSource = await openDatabase({ url, poolSize: 1 });
    try {
      await runExperimentsCommand(
        new ExperimentService(dataSource, { refreshMs: config.experimentRefreshMs }),
        command,
        (text) => process.stdout.write(`${text}\n`),
        (text) => process.stderr.write(`${text}\n`),
      );
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return 1;
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
    process.stderr.write(`experiments failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
