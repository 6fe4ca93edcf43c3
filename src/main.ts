import 'reflect-metadata';
import { startCinegraph } from './app';
import { answerHelp } from './cli-help';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';

const USAGE = `Usage: npm start

Starts the Cinegraph GraphQL API (http://HOST:PORT/graphql). Configured by environment variables only
(DATABASE_URL, DATA_DIR, HOST, PORT, MOVIELENS_DIR, EMBEDDINGS, CONTENT_ENGINE, LOG_LEVEL, …: see the
Configuration table in README.md). Without DATABASE_URL it runs an embedded PGlite database in DATA_DIR;
on an empty database it loads a catalog and trains a first model before serving.

  -h, --help   print this text`;

async function main(): Promise<void> {
  answerHelp(USAGE);
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const app = await startCinegraph(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal}: shutting down`);
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('error while shutting down', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Cinegraph failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
