/**
 * `npm run embed`: brings the content index (movie_embeddings) up to date for the configured model.
 * Resumable: an interrupted run continues where it stopped, because unchanged movies are skipped.
 *   --force           re-embed every movie
 *   --batch-size N    texts per embed call and INSERT (default 64)
 */
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';
import { connectDatabase, embedderFor } from '../../app';
import { answerHelp } from '../../cli-help';
import { loadConfig } from '../../config';
import { createLogger } from '../../logger';
import { CONTENT_INDEX_JOB, createWorker } from '../../worker';
import { ContentIndexer, DEFAULT_BATCH_SIZE, IndexProgress } from './indexer';

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  return whole >= 60 ? `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s` : `${whole}s`;
}

/** Shows texts/s and an ETA computed from embedding alone, not from movies that were skipped as unchanged. */
function progressReporter(interactive: boolean, log: (line: string) => void) {
  const bar = new SingleBar(
    { format: 'embedding |{bar}| {percentage}% | {value}/{total} movies | {rate} texts/s | ETA {remaining}' },
    Presets.shades_classic,
  );
  let buildStart: number | null = null;
  let lastLoggedTenth = -1;
  let barStarted = false;
  const report = (progress: IndexProgress) => {
    if (progress.state !== 'building' || progress.total === 0) return;
    // Nothing to embed: the summary line says so.
    if (progress.embedded === 0 && progress.done === progress.total) return;
    buildStart ??= performance.now();
    const seconds = (performance.now() - buildStart) / 1000;
    const rate = seconds > 0 ? progress.embedded / seconds : 0;
    const eta = rate > 0 ? (progress.total - progress.done) / rate : Number.POSITIVE_INFINITY;
    const payload = { rate: rate.toFixed(1), remaining: formatSeconds(eta) };
    if (interactive) {
      if (!barStarted) bar.start(progress.total, progress.done, payload);
      barStarted = true;
      bar.update(progress.done, payload);
      return;
    }
    const tenth = Math.floor(progress.fraction * 10);
    if (tenth > lastLoggedTenth) {
      lastLoggedTenth = tenth;
      log(
        `${Math.floor(progress.fraction * 100)}% (${progress.done}/${progress.total}), ` +
          `${payload.rate} texts/s, ETA ${payload.remaining}`,
      );
    }
  };
  const stop = () => {
    if (barStarted) bar.stop();
    barStarted = false;
  };
  return { report, stop };
}

/** What a content-index run records (content-index-job.ts), with the worker's seconds. */
interface IndexRunDetail {
  modelId: string;
  total: number;
  embedded: number;
  unchanged: number;
  skipped: number;
  seconds: number;
}

const USAGE = `Usage: npm run embed [-- --force] [--batch-size N]

Brings the content index (movie_embeddings) up to date for the configured embedding model (EMBEDDINGS),
in the database named by DATABASE_URL or the embedded one in DATA_DIR. Resumable: unchanged movies are
skipped, so an interrupted run continues where it stopped. Runs as the worker's content-index job (its
lock, a row in worker_job_runs): it refuses while a worker is building the index, and instances with
WORKER=off see the index complete once it finishes.

  --force          re-embed every movie
  --batch-size N   texts per embed call and INSERT (default ${DEFAULT_BATCH_SIZE})
  -h, --help       print this text`;

async function main(): Promise<void> {
  answerHelp(USAGE);
  const { values } = parseArgs({
    options: { force: { type: 'boolean', default: false }, 'batch-size': { type: 'string' } },
  });
  const batchSize = values['batch-size'] === undefined ? DEFAULT_BATCH_SIZE : Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error('--batch-size must be a positive integer');

  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const database = await connectDatabase(config, logger);
  const reporter = progressReporter(Boolean(process.stderr.isTTY), (line) => logger.info(line));
  try {
    // The server's own embedder settings (cache dir, worker pool), so both produce the same model id.
    const embedder = await embedderFor(config, logger);
    logger.info(`embedding with ${embedder.modelId} (${embedder.dimension}-d)`);
    const indexer = new ContentIndexer({
      dataSource: database.dataSource,
      embedder,
      batchSize,
      logger,
      onProgress: reporter.report,
      // This command draws its own progress bar (or tenths on a non-terminal) from onProgress.
      progressLog: false,
    });
    try {
      // Run as the worker's content-index job (its lock, a row in worker_job_runs), so instances
      // with WORKER=off see the index complete, and a worker building it meanwhile is not doubled.
      const worker = await createWorker({ database, config, logger, indexer, indexForce: values.force });
      const { status, detail } = await worker.runNow(
        CONTENT_INDEX_JOB,
        values.force ? 'npm run embed -- --force' : 'npm run embed',
      );
      reporter.stop();
      if (status.state === 'failed') throw new Error(status.lastError ?? 'the content index run failed');
      const run = detail as unknown as IndexRunDetail;
      const rate = run.embedded / Math.max(run.seconds, 1e-9);
      process.stdout.write(
        `${run.modelId}: ${run.embedded} embedded, ${run.unchanged} unchanged, ` +
          `${run.skipped} skipped of ${run.total} movies in ${run.seconds.toFixed(1)} s` +
          (run.embedded > 0 ? ` (${rate.toFixed(1)} texts/s)` : '') +
          '\n',
      );
    } finally {
      await embedder.dispose?.();
    }
  } finally {
    reporter.stop();
    await database.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `embed failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
