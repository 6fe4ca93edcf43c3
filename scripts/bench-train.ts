/**
 * Training speed of biased MF, by default on ml-100k u1.base with Surprise's SVD settings (100 factors,
 * 20 epochs, lr 0.005, reg 0.02, init N(0, 0.1²), zero bias init). Surprise (Cython, one thread) takes
 * 0.41 s for this fit on the reference machine. Files, factors, epochs and rates are flags (see USAGE).
 *
 * The data directory may also come from MOVIELENS_100K_DIR. Prints, per thread count, the first (cold,
 * includes JIT compilation) fit and the best/median of the following warm fits, in seconds and
 * rating updates per second, plus the u1.test RMSE as a sanity check; then the serving-side fold-in
 * kernels (one user's vector from their ratings, k = 100) for users with a few hundred ratings.
 */
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { readRatingsFile } from '../src/data/movielens/formats';
import { foldInBiasedUser } from '../src/engines/collaborative/kernels/fold-in';
import { pureSvdScores, pureSvdUserVector } from '../src/engines/collaborative/kernels/pure-svd';
import { sumSquaredErrors } from '../src/engines/collaborative/kernels/sgd';
import type { BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import { trainBiasedMf, type BiasedMfOptions } from '../training/biased-mf';
import { integerFlag, numberFlag, parseFlags, runCli, stringFlag, UsageError } from '../training/cli';
import { datasetFromRows, idSpaceOf, ratingScaleOf } from '../training/dataset';
import { SgdWorkerPool } from '../training/sgd-workers';
import { DEFAULT_PURE_SVD_OPTIONS } from '../training/options';
import { trainPureSvd } from '../training/top-n';
import type { RatingsDataset } from '../training/dataset';

const USAGE = `Usage: node -r @swc-node/register scripts/bench-train.ts --data <ml-100k dir> [options]

Times biased-MF training (plain SGD and DSGD, js and simd kernels) and the fold-in kernels, and prints the
held-out RMSE as a sanity check. Defaults are Surprise's SVD settings on ml-100k's u1 split.

  --data DIR          directory of the rating files (default $MOVIELENS_100K_DIR)
  --train FILE        training ratings, ml-100k tab-separated or MovieLens ratings.csv (default DIR/u1.base)
  --test FILE         held-out ratings (default DIR/u1.test)
  --factors N         latent factors (default 100)
  --epochs N          SGD epochs (default 20)
  --lr-bias X         learning rate of the biases (default 0.005)
  --lr-factor X       learning rate of the factors (default 0.005)
  --reg-bias X        regularisation of the biases (default 0.02)
  --reg-factor X      regularisation of the factors (default 0.02)
  --repeats N         fits per schedule; the first is the cold one (default 7)
  --threads 1,2       thread counts for DSGD (default 1,2)
  -h, --help          print this text`;

const SURPRISE_SETTINGS: Omit<BiasedMfOptions, 'threads' | 'strata' | 'kernel'> = {
  factors: 100,
  epochs: 20,
  lrBias: 0.005,
  regBias: 0.02,
  lrFactor: 0.005,
  regFactor: 0.02,
  regExponent: 0,
  recencyHalfLifeDays: 0,
  decay: 1,
  initStd: 0.1,
  biasInit: 'zero',
  seed: 42,
  validationFraction: 0,
  patience: 0,
  restarts: 1,
};

/** Median milliseconds of `run` over `repeats` calls, after a few warm-up calls. */
function timeMs(run: () => void, repeats = 50): number {
  for (let i = 0; i < 5; i++) run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
  }
  return median(times);
}

function benchFoldIn(
  model: BiasedMfParameters,
  train: RatingsDataset,
  regularisation: Pick<BiasedMfOptions, 'regBias' | 'regFactor' | 'regExponent'>,
): void {
  const byUser = new Map<number, number[]>();
  train.users.forEach((user, n) => byUser.set(user, [...(byUser.get(user) ?? []), n]));
  const users = [...byUser.entries()].sort((a, b) => b[1].length - a[1].length);
  const topN = trainPureSvd(train, DEFAULT_PURE_SVD_OPTIONS).model;
  const vector = new Float64Array(topN.rank);
  const scores = new Float32Array(train.numItems);
  process.stdout.write(
    `\n| fold-in of one user | ratings | biased MF k=${model.k}: Cholesky (k+1)² ms | PureSVD rank ${topN.rank}: r_u·V + scores of ${train.numItems} items ms |\n|---|---:|---:|---:|\n`,
  );
  for (const target of [100, 300, 600]) {
    const [user, positions] = users.reduce((closest, entry) =>
      Math.abs(entry[1].length - target) < Math.abs(closest[1].length - target) ? entry : closest,
    );
    const items = positions.map((n) => train.items[n]);
    const ratings = positions.map((n) => train.ratings[n]);
    const biasedMs = timeMs(() => {
      foldInBiasedUser(model, items, ratings, regularisation);
    });
    const topNMs = timeMs(() => {
      pureSvdUserVector(topN, items, ratings, vector);
      pureSvdScores(topN, vector, scores);
    });
    process.stdout.write(
      `| user ${train.userIds[user]} | ${positions.length} | ${biasedMs.toFixed(2)} | ${topNMs.toFixed(2)} |\n`,
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(argv: string[]): Promise<void> {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    factors: { type: 'string' },
    epochs: { type: 'string' },
    'lr-bias': { type: 'string' },
    'lr-factor': { type: 'string' },
    'reg-bias': { type: 'string' },
    'reg-factor': { type: 'string' },
    repeats: { type: 'string' },
    threads: { type: 'string' },
  });
  const dir = stringFlag(values, 'data') ?? process.env.MOVIELENS_100K_DIR;
  const trainFile = stringFlag(values, 'train') ?? (dir ? path.join(dir, 'u1.base') : undefined);
  const testFile = stringFlag(values, 'test') ?? (dir ? path.join(dir, 'u1.test') : undefined);
  if (!trainFile || !testFile)
    throw new UsageError('--data <ml-100k dir> (or MOVIELENS_100K_DIR, or --train and --test) is required');
  const positiveRate = (name: string, fallback: number) => {
    const value = numberFlag(values, name, fallback);
    if (value <= 0) throw new UsageError(`--${name} must be positive, got ${value}`);
    return value;
  };
  const nonNegative = (name: string, fallback: number) => {
    const value = numberFlag(values, name, fallback);
    if (value < 0) throw new UsageError(`--${name} must not be negative, got ${value}`);
    return value;
  };
  const settings: typeof SURPRISE_SETTINGS = {
    ...SURPRISE_SETTINGS,
    factors: integerFlag(values, 'factors', SURPRISE_SETTINGS.factors, 1),
    epochs: integerFlag(values, 'epochs', SURPRISE_SETTINGS.epochs, 1),
    lrBias: positiveRate('lr-bias', SURPRISE_SETTINGS.lrBias),
    lrFactor: positiveRate('lr-factor', SURPRISE_SETTINGS.lrFactor),
    regBias: nonNegative('reg-bias', SURPRISE_SETTINGS.regBias),
    regFactor: nonNegative('reg-factor', SURPRISE_SETTINGS.regFactor),
  };
  const surpriseDefaults =
    stringFlag(values, 'train') === undefined &&
    stringFlag(values, 'test') === undefined &&
    (Object.keys(settings) as (keyof typeof settings)[]).every(
      (key) => settings[key] === SURPRISE_SETTINGS[key],
    );
  const repeats = integerFlag(values, 'repeats', 7, 2);
  const threadCounts = (stringFlag(values, 'threads') ?? '1,2').split(',').map((t) => Number(t.trim()));
  if (threadCounts.some((t) => !Number.isInteger(t) || t < 1))
    throw new UsageError('--threads must list positive integers');

  const [trainRows, testRows] = await Promise.all([readRatingsFile(trainFile), readRatingsFile(testFile)]);
  const space = idSpaceOf(trainRows, testRows);
  const train = datasetFromRows(trainRows, space);
  const test = datasetFromRows(testRows, space);
  const scale = ratingScaleOf(train);
  // The SIMD kernel works on four factors at a time.
  const kernels = settings.factors % 4 === 0 ? (['js', 'simd'] as const) : (['js'] as const);
  const updates = train.size * settings.epochs;
  process.stdout.write(
    `${path.basename(trainFile)}: ${train.size} ratings, ${settings.factors} factors, ${settings.epochs} epochs, ` +
      `lr ${settings.lrBias}/${settings.lrFactor}, reg ${settings.regBias}/${settings.regFactor} (bias/factor) ` +
      `(${updates.toLocaleString('en-US')} rating updates per fit); node ${process.version}\n` +
      (surpriseDefaults ? 'Surprise SVD (Cython, 1 thread): 0.41 s on the reference machine\n' : '') +
      (kernels.length === 1 ? 'simd kernel skipped: factors is not a multiple of 4\n' : '') +
      // Other processes on the machine inflate wall times: the load average and CPU times tell.
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} on ${os.cpus().length} CPUs\n\n` +
      '| schedule | threads | pool start s | cold fit s | best warm s | median warm s | median CPU s | updates/s (best) | u1.test RMSE |\n' +
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n',
  );

  const runs: { label: string; threads: number; strata: number; kernel: 'js' | 'simd' }[] = kernels.flatMap(
    (kernel) => [
      { label: `${kernel}, plain SGD (1 stratum)`, threads: 1, strata: 1, kernel },
      ...threadCounts.map((threads) => ({ label: `${kernel}, DSGD 2 strata`, threads, strata: 2, kernel })),
    ],
  );
  let lastModel: BiasedMfParameters | null = null;
  for (const run of runs) {
    const poolStarted = performance.now();
    const pool = run.threads > 1 ? await SgdWorkerPool.start(run.threads) : undefined;
    const poolSeconds = (performance.now() - poolStarted) / 1000;
    try {
      const seconds: number[] = [];
      const cpuSeconds: number[] = [];
      let rmse = 0;
      for (let r = 0; r < repeats; r++) {
        const cpuStarted = process.cpuUsage();
        const result = await trainBiasedMf(
          train,
          { ...settings, threads: run.threads, strata: run.strata, kernel: run.kernel },
          { pool },
        );
        seconds.push(result.trainSeconds);
        const cpu = process.cpuUsage(cpuStarted);
        cpuSeconds.push((cpu.user + cpu.system) / 1e6);
        lastModel = result.model;
        rmse = Math.sqrt(sumSquaredErrors(result.model, test, scale.min, scale.max) / test.size);
      }
      const [cold, ...warm] = seconds;
      const best = Math.min(...warm);
      process.stdout.write(
        `| ${run.label} | ${run.threads} | ${pool ? poolSeconds.toFixed(3) : '–'} | ${cold.toFixed(3)} | ` +
          `${best.toFixed(3)} | ${median(warm).toFixed(3)} | ${median(cpuSeconds.slice(1)).toFixed(3)} | ` +
          `${(updates / best / 1e6).toFixed(2)} M | ${rmse.toFixed(4)} |\n`,
      );
    } finally {
      await pool?.close();
    }
  }
  if (lastModel) benchFoldIn(lastModel, train, settings);
}

runCli(main, USAGE);
