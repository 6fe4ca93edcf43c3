import 'reflect-metadata';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { connectDatabase, embedderFor } from './app';
import { answerHelp } from './cli-help';
import { ConfigError, loadConfig } from './config';
import { ContentIndexer } from './engines/content';
import type { Embedder } from './engines/content/embedders';
import { createLogger } from './logger';
import { JobMetrics } from './observability/job-metrics';
import { createWorker, type Worker } from './worker';
import { startWorkerServer } from './worker/worker-server';
import { databaseTrainer } from '../training/worker-trainer';

const USAGE = `Usage: npm run worker

Runs Cinegraph's background jobs against DATABASE_URL (PostgreSQL): the first collaborative model on a
cold start, retraining (every RETRAIN_INTERVAL_MS, and once RETRAIN_MIN_NEW_RATINGS new ratings arrived),
and the content index (new and changed movies; CONTENT_ENGINE=false leaves it out). Each job runs on one
process at a time across every worker and \`npm start\` with WORKER=embedded (PostgreSQL advisory locks), so
any number of workers may run; a killed one leaves no half-activated model, and the index resumes.
API instances that should not run jobs themselves start with WORKER=off.

Answers /livez, /readyz (the jobs and their progress) and /metrics at http://HOST:WORKER_PORT.
Configured by environment variables only (see the Configuration table in README.md).

  -h, --help   print this text`;

async function main(): Promise<void> {
  answerHelp(USAGE);
  let config;
  try {
    config = loadConfig();
    if (!config.databaseUrl)
      throw new ConfigError(
        'DATABASE_URL is not set: the worker serves PostgreSQL deployments; with the embedded database ' +
          '`npm start` runs the jobs itself (WORKER=embedded)',
      );
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const database = await connectDatabase(config, logger);
  let embedder: Promise<Embedder> | null = null;
  let worker: Worker | null = null;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cinegraph_process_' });
  try {
    embedder = config.contentEngine ? embedderFor(config, logger) : null;
    const indexer = embedder
      ? new ContentIndexer({ dataSource: database.dataSource, embedder, logger })
      : null;
    const jobMetrics = new JobMetrics(registry, () => worker?.statuses() ?? []);
    worker = await createWorker({
      database,
      config,
      logger,
      trainer: databaseTrainer(database, logger, config.trainingThreads),
      indexer,
      observer: jobMetrics,
    });
  } catch (error) {
    await (await embedder?.catch(() => null))?.dispose?.();
    await database.close();
    throw error;
  }
  const running = worker;
  const server = await startWorkerServer({
    host: config.host,
    port: config.workerPort,
    ping: () => database.dataSource.query('SELECT 1'),
    pingTimeoutMs: config.readinessTimeoutMs,
    jobs: () => running.statuses(),
    registry,
  });
  logger.info(`Cinegraph worker running; health and metrics at ${server.url}`);
  running.start();

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info(
      `${signal}: stopping the worker (a running job is interrupted and resumes on the next start)`,
    );
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${config.shutdownTimeoutMs} ms: exiting anyway`);
      logger.flush();
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    (async () => {
      await running.stop();
      await server.stop();
      await (await embedder?.catch(() => null))?.dispose?.();
      await database.close();
    })().then(
      () => {
        logger.info('worker stopped');
        logger.flush();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error('error while stopping the worker', error);
        logger.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `Cinegraph worker failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
