/**
 * Training time of the top-N models.
 *
 *   node -r @swc-node/register scripts/bench-topn.ts [--data <ml-latest-small dir>] [--synthetic 2500000]
 *
 * With --data: PureSVD, EASE and iALS (default options) fitted on the whole ratings file, and the
 * production choice (PureSVD and EASE fitted on the training data minus a temporal validation
 * split, then the winner refitted), side by side in one run.
 * With --synthetic N: the production top-N stage (that choice and the refit) measured on a
 * synthetic matrix with ML-25M's shape scaled to N ratings (25000095 for the real size), then
 * one iALS epoch on the same matrix
 * (ML-25M: 25,000,095 ratings, 162,541 users, 59,047 rated movies; heavy-tailed users and items).
 * Every cost term of an epoch (Gramians: rows·k²; CG steps: rows·k² + nnz·k) is linear in rows and
 * ratings, so at fixed shape the 25M epoch is (25M / N) × the measured one; the estimate printed
 * is that, times the default epochs, plus the final converged user pass scaled the same way.
 */
import { zipfSampler } from '../fixtures/zipf';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { detectRelease, readRatingsFile } from '../src/data/movielens/formats';
import { Mulberry32 } from '../src/engines/collaborative/kernels/prng';
import { integerFlag, parseFlags, runCli, stringFlag } from '../training/cli';
import { createDataset, datasetFromRows, type RatingsDataset } from '../training/dataset';
import { trainIals } from '../training/ials';
import { easeColumnsOf, trainEase } from '../training/ease';
import { DEFAULT_EASE_OPTIONS, DEFAULT_IALS_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from '../training/options';
import { trainPureSvd } from '../training/top-n';
import { defaultTopNCandidates, selectTopNModel } from '../training/topn-strategies';

const USAGE =
  'usage: node -r @swc-node/register scripts/bench-topn.ts [--data <movielens dir>] [--synthetic <ratings>] [--no-ials]';
const ML25M = { ratings: 25_000_095, users: 162_541, items: 59_047 };

const load = () =>
  `load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;

function seconds(run: () => unknown): number {
  const started = performance.now();
  run();
  return (performance.now() - started) / 1000;
}

/** ML-25M's shape at `ratings` ratings: Zipf-like item popularity, log-normal user activity. */
function syntheticDataset(ratings: number, seed: number): RatingsDataset {
  const scale = ratings / ML25M.ratings;
  const numUsers = Math.round(ML25M.users * scale);
  const numItems = Math.round(ML25M.items * scale);
  const rng = new Mulberry32(seed);
  const drawItem = zipfSampler(numItems, rng, { exponent: 0.9 });
  const activity = Float64Array.from({ length: numUsers }, () => Math.exp(rng.nextGaussian() * 1.1));
  const activityTotal = activity.reduce((s, a) => s + a, 0);
  const users: number[] = [];
  const items: number[] = [];
  for (let u = 0; u < numUsers; u++) {
    const count = Math.min(numItems >> 1, Math.max(20, Math.round((activity[u] / activityTotal) * ratings)));
    const seen = new Set<number>();
    while (seen.size < count) seen.add(drawItem());
    for (const item of seen) {
      users.push(u);
      items.push(item);
    }
  }
  const size = users.length;
  return createDataset({
    users: Int32Array.from(users),
    items: Int32Array.from(items),
    ratings: Float32Array.from({ length: size }, () => 1 + rng.nextInt(5)),
    timestamps: Float64Array.from({ length: size }, (_, n) => 1e9 + n),
    userIds: Int32Array.from({ length: numUsers }, (_, u) => u + 1),
    itemIds: Int32Array.from({ length: numItems }, (_, i) => i + 1),
  });
}

async function main(argv: readonly string[]) {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    synthetic: { type: 'string' },
    'no-ials': { type: 'boolean' },
  });
  const withIals = values['no-ials'] !== true;
  const data = stringFlag(values, 'data');
  const synthetic = integerFlag(values, 'synthetic', 0, 0);
  const ials = DEFAULT_IALS_OPTIONS;
  process.stdout.write(
    `iALS defaults: rank ${ials.rank}, ${ials.epochs} epochs × ${ials.cgSteps} CG steps; ${load()}\n`,
  );
  if (data) {
    const dataset = datasetFromRows(await readRatingsFile((await detectRelease(data)).ratingsFile));
    const pureSvd = seconds(() => trainPureSvd(dataset, DEFAULT_PURE_SVD_OPTIONS));
    const ease = seconds(() => trainEase(dataset, DEFAULT_EASE_OPTIONS));
    const fitted = withIals ? trainIals(dataset, ials) : null;
    const stage = await topNStage(dataset, { pureSvd, ease });
    process.stdout.write(
      `${data}: ${dataset.size} ratings, ${dataset.numUsers} users, ${dataset.numItems} items\n` +
        `| fit | seconds |\n|---|---:|\n` +
        `| PureSVD rank ${DEFAULT_PURE_SVD_OPTIONS.rank} | ${pureSvd.toFixed(2)} |\n` +
        `| EASE (${easeColumns(dataset)} columns) | ${ease.toFixed(2)} |\n` +
        (fitted
          ? `| iALS (${fitted.epochSeconds.length} epochs, mean ${mean(fitted.epochSeconds).toFixed(2)} s/epoch) | ${fitted.trainSeconds.toFixed(2)} |\n`
          : '') +
        stage +
        `${load()}\n`,
    );
  }
  if (synthetic > 0) {
    const started = performance.now();
    const dataset = syntheticDataset(synthetic, 7);
    process.stdout.write(
      `synthetic ML-25M shape: ${dataset.size} ratings, ${dataset.numUsers} users, ${dataset.numItems} items ` +
        `(made in ${((performance.now() - started) / 1000).toFixed(1)} s)\n| fit | seconds |\n|---|---:|\n`,
    );
    const pureSvd = seconds(() => trainPureSvd(dataset, DEFAULT_PURE_SVD_OPTIONS));
    const ease = seconds(() => trainEase(dataset, DEFAULT_EASE_OPTIONS));
    process.stdout.write(
      `| PureSVD rank ${DEFAULT_PURE_SVD_OPTIONS.rank} | ${pureSvd.toFixed(2)} |\n` +
        `| EASE (${easeColumns(dataset)} columns) | ${ease.toFixed(2)} |\n` +
        (await topNStage(dataset, { pureSvd, ease })) +
        `peak RSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB; ${load()}\n`,
    );
    if (!withIals) return;
    const result = trainIals(dataset, { ...ials, epochs: 2 });
    const epoch = result.epochSeconds[1];
    const rest = result.trainSeconds - result.epochSeconds[0] - result.epochSeconds[1];
    const factor = ML25M.ratings / dataset.size;
    const estimate = factor * (ials.epochs * epoch + rest);
    process.stdout.write(
      `iALS: epoch 1 ${result.epochSeconds[0].toFixed(2)} s (includes JIT), epoch 2 ${epoch.toFixed(2)} s, ` +
        `setup + final converged user pass ${rest.toFixed(2)} s\n` +
        `25M estimate (×${factor.toFixed(2)}): iALS fit ≈ ${estimate.toFixed(0)} s ` +
        `(${ials.epochs} epochs); with the validation choice (fit on 80% + refit) ≈ ${(1.8 * estimate).toFixed(0)} s; ` +
        `${load()}\n`,
    );
  }
}

/** The production top-N stage: the choice on a temporal validation split, then the winner's refit. */
async function topNStage(dataset: RatingsDataset, fits: { pureSvd: number; ease: number }): Promise<string> {
  const started = performance.now();
  const selection = await selectTopNModel(dataset, defaultTopNCandidates(42), 'temporal', 42);
  const choice = (performance.now() - started) / 1000;
  const refit = selection.kind === 'ease' ? fits.ease : fits.pureSvd;
  return (
    `| choice on validation (PureSVD and EASE on 80%, NDCG@10 ${Object.entries(selection.validationNdcg10)
      .map(([kind, ndcg]) => `${kind} ${(ndcg as number).toFixed(4)}`)
      .join(', ')}) → ${selection.kind} | ${choice.toFixed(2)} |\n` +
    `| top-N stage of training (choice + refit of ${selection.kind}) | ${(choice + refit).toFixed(2)} |\n`
  );
}

function easeColumns(dataset: RatingsDataset): number {
  return easeColumnsOf(dataset, DEFAULT_EASE_OPTIONS).length;
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / Math.max(1, values.length);
}

runCli(main, USAGE);
