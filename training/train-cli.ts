import path from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import type { BiasedMfOptions } from './biased-mf';
import { integerFlag, numberFlag, parseFlags, runCli, stringFlag, UsageError } from './cli';
import type { EaseOptions } from './ease';
import { fileModelSink, type ModelSink } from './model-files';
import type { IalsOptions } from './ials';
import {
  DEFAULT_BIASED_MF_OPTIONS,
  DEFAULT_EASE_OPTIONS,
  DEFAULT_IALS_OPTIONS,
  DEFAULT_PURE_SVD_OPTIONS,
} from './options';
import { writeTrainingReport } from './report';
import { movieLensSource, type RatingsSource } from './sources';
import type { PureSvdOptions } from './top-n';
import { describeTopNSelection } from './topn-strategies';
import { trainModels, type TrainedModels, type TrainingProgress, type TrainOptions } from './train';
import type { RatingEncoding } from '../src/engines/collaborative/kernels/pure-svd';
import { isTopNKind } from '../src/engines/collaborative/kernels/top-n-model';
import { isValidationSplitKind } from './validation-split';

const b = DEFAULT_BIASED_MF_OPTIONS;
const t = DEFAULT_PURE_SVD_OPTIONS;
const a = DEFAULT_IALS_OPTIONS;
const e = DEFAULT_EASE_OPTIONS;

export const TRAIN_USAGE = `usage: npm run train -- --data <movielens dir or ratings file> [--out <dir>] [options]

Trains the biased MF rating model and the top-N model (PureSVD or iALS, whichever wins on a
validation split of the training data, unless --topn-model forces one), writes models.json/models.bin and a
training report (training-report.json, learning-curve.svg) into --out (default reports/train-<time>).

biased MF (SGD):
  --factors ${b.factors}          latent factors
  --epochs ${b.epochs}           epochs (upper bound when early stopping)
  --lr ${b.lrFactor}           learning rate of the factors      --lr-bias ${b.lrBias}    of the biases
  --reg ${b.regFactor}          regularisation of the factors     --reg-bias ${b.regBias}   of the biases
  --reg-exponent ${b.regExponent}     frequency regularisation: λ·n^-x per update of a row with n ratings
  --recency-half-life ${b.recencyHalfLifeDays}  days; a rating d days older than the user's latest weighs 2^(-d/x) (0 = off)
  --decay ${b.decay}          learning rates × decay^epoch
  --init-std ${b.initStd}      std of the initial factors
  --bias-init ${b.biasInit}  zero | baseline (start from the ALS baseline)
  --validation ${b.validationFraction}       held-out fraction for early stopping (0 = none)
  --patience ${b.patience}         epochs without improvement before stopping (0 = never)
  --restarts ${b.restarts}         independent SGD runs averaged into one model (restarts × factors columns)
  --seed ${b.seed}            random seed
  --threads ${b.threads}          worker threads (the model does not depend on it)
  --strata ${b.strata}        DSGD strata, or auto: from the data's shape, so a block's rows fit in cache (the model depends on it)
  --kernel ${b.kernel}         simd (WebAssembly, float32) | js (float64 temporaries) | auto (simd when factors % 4 = 0)

top-N model:
  --topn-model select      select (the candidates fitted, validation NDCG@10 picks) | puresvd | ials | ease
  --topn-candidates puresvd,ease  what select fits (PureSVD always; add ials to try it too)
  --topn-validation temporal  how select carves validation: temporal (users' latest 20%) | random (10%)

top-N PureSVD:
  --topn-factors ${t.rank}      rank of the truncated SVD
  --topn-encoding ${t.encoding}  binary | rating | centered
  --topn-popularity-exponent ${t.popularityExponent}  column scaling ‖column‖^x before the SVD
  --topn-power-iterations ${t.powerIterations}   --topn-oversampling ${t.oversampling}

top-N iALS:
  --ials-factors ${a.rank}   --ials-epochs ${a.epochs}   --ials-cg-steps ${a.cgSteps}
  --ials-reg ${a.regularization}        λ, scaled by (Σ confidence + α0·N)^x with --ials-reg-exponent ${a.regExponent}
  --ials-unobserved ${a.unobservedWeight}   α0: weight of every unrated pair toward 0
  --ials-confidence ${a.confidenceScale}     β: a rating r is a positive of confidence 1 + β·r
  --ials-recency-half-life ${a.recencyHalfLifeDays}  days (0 = off)

top-N EASE:
  --ease-lambda-scale ${e.lambdaScale}  λ as a multiple of the Gram matrix's mean diagonal
  --ease-min-ratings ${e.minRatings}    movies with fewer ratings get no column (are not ranked)
  --ease-max-columns ${e.maxColumns}  the most rated movies kept (training ~columns³, serving ~columns²)

  --quiet                  no progress bar`;

export interface TrainArgs {
  readonly data: string;
  readonly out: string;
  readonly options: TrainOptions;
  readonly quiet: boolean;
}

export function parseTrainArgs(argv: readonly string[], now = new Date()): TrainArgs | 'help' {
  const spec = {
    data: { type: 'string' },
    out: { type: 'string' },
    factors: { type: 'string' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'lr-bias': { type: 'string' },
    reg: { type: 'string' },
    'reg-bias': { type: 'string' },
    'reg-exponent': { type: 'string' },
    'recency-half-life': { type: 'string' },
    decay: { type: 'string' },
    'init-std': { type: 'string' },
    'bias-init': { type: 'string' },
    validation: { type: 'string' },
    patience: { type: 'string' },
    restarts: { type: 'string' },
    kernel: { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    strata: { type: 'string' },
    'topn-factors': { type: 'string' },
    'topn-encoding': { type: 'string' },
    'topn-popularity-exponent': { type: 'string' },
    'topn-power-iterations': { type: 'string' },
    'topn-oversampling': { type: 'string' },
    'topn-model': { type: 'string' },
    'topn-validation': { type: 'string' },
    'topn-candidates': { type: 'string' },
    'ease-lambda-scale': { type: 'string' },
    'ease-min-ratings': { type: 'string' },
    'ease-max-columns': { type: 'string' },
    'ials-factors': { type: 'string' },
    'ials-epochs': { type: 'string' },
    'ials-cg-steps': { type: 'string' },
    'ials-reg': { type: 'string' },
    'ials-reg-exponent': { type: 'string' },
    'ials-unobserved': { type: 'string' },
    'ials-confidence': { type: 'string' },
    'ials-recency-half-life': { type: 'string' },
    quiet: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const values = parseFlags(argv, spec);
  if (values.help) return 'help';
  const data = stringFlag(values, 'data');
  if (!data) throw new UsageError('--data is required');
  const biasInit = stringFlag(values, 'bias-init') ?? b.biasInit;
  if (biasInit !== 'zero' && biasInit !== 'baseline')
    throw new UsageError('--bias-init must be zero or baseline');
  const encoding = stringFlag(values, 'topn-encoding') ?? t.encoding;
  if (!['binary', 'rating', 'centered'].includes(encoding)) {
    throw new UsageError('--topn-encoding must be binary, rating or centered');
  }
  const seed = integerFlag(values, 'seed', b.seed);
  const kernel = stringFlag(values, 'kernel') ?? b.kernel;
  if (kernel !== 'auto' && kernel !== 'simd' && kernel !== 'js') {
    throw new UsageError('--kernel must be auto, simd or js');
  }
  const biased: BiasedMfOptions = {
    factors: integerFlag(values, 'factors', b.factors, 1),
    epochs: integerFlag(values, 'epochs', b.epochs, 1),
    lrFactor: numberFlag(values, 'lr', b.lrFactor),
    lrBias: numberFlag(values, 'lr-bias', b.lrBias),
    regFactor: numberFlag(values, 'reg', b.regFactor),
    regBias: numberFlag(values, 'reg-bias', b.regBias),
    regExponent: numberFlag(values, 'reg-exponent', b.regExponent),
    recencyHalfLifeDays: numberFlag(values, 'recency-half-life', b.recencyHalfLifeDays),
    decay: numberFlag(values, 'decay', b.decay),
    initStd: numberFlag(values, 'init-std', b.initStd),
    biasInit,
    validationFraction: numberFlag(values, 'validation', b.validationFraction),
    patience: integerFlag(values, 'patience', b.patience, 0),
    restarts: integerFlag(values, 'restarts', b.restarts, 1),
    kernel,
    seed,
    threads: integerFlag(values, 'threads', b.threads, 1),
    strata: [undefined, 'auto'].includes(stringFlag(values, 'strata'))
      ? ((stringFlag(values, 'strata') as 'auto' | undefined) ?? b.strata)
      : integerFlag(values, 'strata', 1, 1),
  };
  const topN: PureSvdOptions = {
    rank: integerFlag(values, 'topn-factors', t.rank, 1),
    encoding: encoding as RatingEncoding,
    popularityExponent: numberFlag(values, 'topn-popularity-exponent', t.popularityExponent),
    powerIterations: integerFlag(values, 'topn-power-iterations', t.powerIterations, 0),
    oversampling: integerFlag(values, 'topn-oversampling', t.oversampling, 0),
    seed,
  };
  const ials: IalsOptions = {
    ...a,
    rank: integerFlag(values, 'ials-factors', a.rank, 1),
    epochs: integerFlag(values, 'ials-epochs', a.epochs, 1),
    cgSteps: integerFlag(values, 'ials-cg-steps', a.cgSteps, 1),
    regularization: numberFlag(values, 'ials-reg', a.regularization),
    regExponent: numberFlag(values, 'ials-reg-exponent', a.regExponent),
    unobservedWeight: numberFlag(values, 'ials-unobserved', a.unobservedWeight),
    confidenceScale: numberFlag(values, 'ials-confidence', a.confidenceScale),
    recencyHalfLifeDays: numberFlag(values, 'ials-recency-half-life', a.recencyHalfLifeDays),
    seed,
  };
  const ease: EaseOptions = {
    ...e,
    lambdaScale: numberFlag(values, 'ease-lambda-scale', e.lambdaScale),
    minRatings: integerFlag(values, 'ease-min-ratings', e.minRatings, 1),
    maxColumns: integerFlag(values, 'ease-max-columns', e.maxColumns, 1),
  };
  const topNModel = stringFlag(values, 'topn-model') ?? 'select';
  if (topNModel !== 'select' && !isTopNKind(topNModel))
    throw new UsageError('--topn-model must be select, puresvd, ials or ease');
  const candidates = (stringFlag(values, 'topn-candidates') ?? 'puresvd,ease')
    .split(',')
    .map((c) => c.trim());
  if (!candidates.every(isTopNKind)) throw new UsageError('--topn-candidates lists puresvd, ials or ease');
  const topNValidation = stringFlag(values, 'topn-validation') ?? 'temporal';
  if (!isValidationSplitKind(topNValidation))
    throw new UsageError('--topn-validation must be temporal or random');
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    data,
    out: stringFlag(values, 'out') ?? path.join('reports', `train-${stamp}`),
    options: {
      biased,
      topN,
      ials: topNModel === 'ials' || candidates.includes('ials') ? ials : undefined,
      ease: topNModel === 'ease' || candidates.includes('ease') ? ease : undefined,
      topNModel,
      topNValidation,
    },
    quiet: values.quiet === true,
  };
}

/** Progress bar over epochs, showing train and validation RMSE as they come. */
function progressReporter(
  epochs: number,
  restarts: number,
  quiet: boolean,
): { onProgress: (p: TrainingProgress) => void; stop: () => void } {
  if (quiet) return { onProgress: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      format:
        'biased MF |{bar}| epoch {value}/{total} | train RMSE {train} | validation RMSE {validation} | {stage}',
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  const total = epochs * restarts;
  const stage = (restart: number) => (restarts > 1 ? `SGD run ${restart + 1}/${restarts}` : 'SGD');
  bar.start(total, 0, { train: '–', validation: '–', stage: stage(0) });
  let done = 0;
  return {
    onProgress: (progress) => {
      if (progress.stage === 'biased') {
        done++;
        bar.update(done, {
          train: progress.stats.trainRmse.toFixed(4),
          validation: progress.stats.validationRmse?.toFixed(4) ?? '–',
          stage: stage(progress.stats.restart),
        });
      } else if (!progress.done) {
        // Early stopping may have ended runs before their last epoch: show the bar as complete.
        if (done < total) bar.setTotal(Math.max(1, done));
        bar.update({ stage: 'top-N model…' });
      } else {
        bar.update({ stage: 'done' });
      }
    },
    stop: () => bar.stop(),
  };
}

/** Trains from any source into any sink; the server calls this with its Postgres source and store. */
export async function trainFromSource(
  source: RatingsSource,
  options: TrainOptions,
  sink: ModelSink | null,
  onProgress?: (progress: TrainingProgress) => void,
): Promise<{ models: TrainedModels; location: string | null }> {
  const dataset = await source.load();
  const itemMetadata = (await source.loadItemMetadata?.()) ?? null;
  const models = await trainModels(dataset, options, onProgress, { itemMetadata });
  const location = sink ? await sink.save(models) : null;
  return { models, location };
}

export async function trainMain(argv: readonly string[]): Promise<void> {
  const args = parseTrainArgs(argv);
  if (args === 'help') {
    process.stdout.write(`${TRAIN_USAGE}\n`);
    return;
  }
  const source = movieLensSource(args.data);
  const progress = progressReporter(args.options.biased.epochs, args.options.biased.restarts, args.quiet);
  let result: Awaited<ReturnType<typeof trainFromSource>>;
  try {
    result = await trainFromSource(source, args.options, fileModelSink(args.out), progress.onProgress);
  } finally {
    progress.stop();
  }
  const { models, location } = result;
  const report = await writeTrainingReport(args.out, {
    createdAt: new Date().toISOString(),
    source: source.description,
    options: args.options,
    metrics: models.metrics,
    curve: models.curve,
    modelLocation: location,
  });
  const m = models.metrics;
  process.stdout.write(
    `${m.numRatings} ratings, ${m.numUsers} users, ${m.numItems} items\n` +
      `biased MF: train RMSE ${m.trainRmse.toFixed(4)}, validation RMSE ${m.validationRmse?.toFixed(4) ?? '–'}` +
      (m.validationRmseBeforeRefit !== null && args.options.biased.recencyHalfLifeDays > 0
        ? ` [${m.validationRmseBeforeRefit.toFixed(4)} before the recency refit of user biases]`
        : '') +
      `; kept epoch ${m.bestEpochs.join(', ')} of ${m.epochsRun} run; ${m.biasedSeconds.toFixed(2)} s\n` +
      `top-N ${models.topN.kind} ${models.topN.kind === 'ease' ? `${models.topN.columns.length} columns` : `rank ${models.topN.rank}`}: ${m.topNSeconds.toFixed(2)} s` +
      (m.topNSelection ? ` (${describeTopNSelection(m.topNSelection)})\n` : ' (forced)\n') +
      `models: ${location}\nreport: ${report.json}\ncurve:  ${report.svg}\n`,
  );
}

if (require.main === module) runCli(trainMain, TRAIN_USAGE);
