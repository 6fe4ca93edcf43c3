/**
 * What a first start's training costs before and after issue 12, on a database that holds ratings:
 *
 *   DATABASE_URL=postgres://…/db node -r @swc-node/register scripts/bench-training-load.ts [--epochs 2]
 *
 * Runs each step in a child process of its own so its peak RSS (maxRSS) is its own:
 *   rows    — the former loader: every rating as a row object, mapped to records, id arrays, a dataset
 *   stream  — loadRatingsDataset: keyset-paginated batches into typed arrays
 *   sgd     — the streamed dataset, then biased MF with the default options for --epochs epochs:
 *             seconds per epoch and nanoseconds per SGD update (one rating visited once)
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { openDatabase } from '../src/db/datasource';
import { trainBiasedMf } from '../training/biased-mf';
import { datasetFromRows, distinctSorted } from '../training/dataset';
import { DEFAULT_BIASED_MF_OPTIONS } from '../training/options';
import { loadRatingsDataset } from '../training/ratings-stream';

type Step = 'rows' | 'stream' | 'sgd';

async function runStep(step: Step, epochs: number): Promise<Record<string, number>> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('set DATABASE_URL to a database with ratings');
  const db = await openDatabase({ url, poolSize: 2 });
  try {
    const started = performance.now();
    if (step === 'rows') {
      const rows: { user_id: number; movie_id: number; rating: number; ts: number }[] = await db.query(
        `SELECT user_id, movie_id, rating, extract(epoch FROM rated_at)::float8 AS ts FROM ratings`,
      );
      const catalog: { id: number }[] = await db.query(`SELECT id FROM movies`);
      const dataset = datasetFromRows(
        rows.map((r) => ({ userId: r.user_id, movieId: r.movie_id, rating: r.rating, timestamp: r.ts })),
        {
          userIds: distinctSorted(rows.map((r) => r.user_id)),
          itemIds: distinctSorted([...rows.map((r) => r.movie_id), ...catalog.map((m) => m.id)]),
        },
      );
      return { ratings: dataset.size, loadSeconds: (performance.now() - started) / 1000 };
    }
    const dataset = await loadRatingsDataset(db);
    const loadSeconds = (performance.now() - started) / 1000;
    if (step === 'stream') return { ratings: dataset.size, loadSeconds };
    const trained = await trainBiasedMf(dataset, {
      ...DEFAULT_BIASED_MF_OPTIONS,
      epochs,
      recencyHalfLifeDays: 0,
    });
    const epochSeconds = Math.min(...trained.curve.map((c) => c.seconds));
    return {
      ratings: dataset.size,
      users: dataset.numUsers,
      items: dataset.numItems,
      loadSeconds,
      epochSeconds,
      nsPerUpdate: (epochSeconds / dataset.size) * 1e9,
    };
  } finally {
    await db.destroy();
  }
}

const USAGE = `usage: DATABASE_URL=postgres://…/db node -r @swc-node/register scripts/bench-training-load.ts [--epochs 2]

What a first start's training costs on a database that holds ratings: the former row loader, the
streamed typed-array loader, and streamed + SGD epochs, each in its own child process (peak RSS each).
`;

async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(USAGE);
    return;
  }
  const stepIndex = process.argv.indexOf('--step');
  const epochsIndex = process.argv.indexOf('--epochs');
  const epochs = epochsIndex >= 0 ? Number(process.argv[epochsIndex + 1]) : 2;
  if (stepIndex >= 0) {
    const figures = await runStep(process.argv[stepIndex + 1] as Step, epochs);
    process.stdout.write(
      `${JSON.stringify({ ...figures, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
    );
    return;
  }
  for (const step of ['rows', 'stream', 'sgd'] as Step[]) {
    const output = execFileSync(
      process.execPath,
      ['-r', '@swc-node/register', __filename, '--step', step, '--epochs', String(epochs)],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const figures = JSON.parse(output.trim().split('\n').pop() ?? '{}') as Record<string, number>;
    const text = Object.entries(figures)
      .map(([key, value]) => `${key} ${Number.isInteger(value) ? value : value.toFixed(2)}`)
      .join(', ');
    process.stdout.write(`${step.padEnd(6)} ${text}\n`);
  }
  process.stdout.write(
    `load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
