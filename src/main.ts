import 'reflect-metadata';
import { startCinegraph } from './app';
import { answerHelp } from './cli-help';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { databaseTrainer } from '../training/worker-trainer';

const USAGE = `Usage: npm start

Starts the Cinegraph GraphQL API (http://HOST:PORT/graphql). Configured by environment variables only
(DATABASE_URL, DATA_DIR, HOST, PORT, MOVIELENS_DIR, EMBEDDINGS, CONTENT_ENGINE, LOG_LEVEL, …: see the
Configuration table in README.md). Without DATABASE_URL it runs an embedded PGlite database in DATA_DIR;
on an empty database it loads a catalog before serving. With WORKER=embedded (the default) it also runs
the background jobs (first model, retraining, content index); WORKER=off serves only, following what
\`npm run worker\` produces.

  -h, --help   print this text`;

/** The same signal again within this is the one signal delivered twice, not a second request. */
const ECHOED_SIGNAL_MS = 500;

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
  const app = await startCinegraph(config, logger, {
    trainer: (database) => databaseTrainer(database, logger, config.trainingThreads),
  });
  const exit = (code: number): never => {
    logger.flush();
    process.exit(code);
  };
  let first: { signal: NodeJS.Signals; at: number } | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (first) {
      // Ctrl-C under `npm start` reaches the server twice within a millisecond: from the terminal
      // (the whole process group) and forwarded by npm. Only a later one is a person asking again.
      if (signal === first.signal && Date.now() - first.at < ECHOED_SIGNAL_MS) return;
      logger.warn(`${signal} again: exiting now, without waiting for the shutdown to finish`);
      exit(130);
    }
    first = { signal, at: Date.now() };
    const started = first.at;
    logger.info(`${signal}: shutting down (requests in flight finish, new connections are refused)`);
    // Whatever still runs (a training, an index build holding a connection) cannot keep the
    // process past the deadline; unref'd, so a clean stop exits without waiting for it.
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${config.shutdownTimeoutMs} ms: exiting anyway`);
      exit(1);
    }, config.shutdownTimeoutMs).unref();
    app.stop().then(
      () => {
        logger.info(`shut down in ${Date.now() - started} ms`);
        exit(0);
      },
      (error: unknown) => {
        logger.error('error while shutting down', error);
        exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Cinegraph failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
