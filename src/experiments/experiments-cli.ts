import 'reflect-metadata';
import { answerHelp } from '../cli-help';
import { runCommand, withCommandDatabase } from '../db/command-database';
import { ConfigError, loadConfig } from '../config';
import { openDatabase } from '../db/datasource';
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
  await withCommandDatabase(
    config,
    (url) => openDatabase({ url, poolSize: 1 }),
    (dataSource) =>
      runExperimentsCommand(
        new ExperimentService(dataSource, { refreshMs: config.experimentRefreshMs }),
        command,
        (text) => process.stdout.write(`${text}\n`),
        (text) => process.stderr.write(`${text}\n`),
      ),
  );
  return 0;
}

runCommand('experiments', () => main(process.argv.slice(2)));
