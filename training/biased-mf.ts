import { performance } from 'node:perf_hooks';
import { rowDot, type BiasedMfParameters } from '../src/engines/collaborative/kernels/biased-mf';
import { fillGaussian, Mulberry32, deriveSeed } from '../src/engines/collaborative/kernels/prng';
import {
  sgdSweep,
  sumSquaredErrors,
  type RatingTriples,
  type RegularizationWeights,
  type SgdRates,
} from '../src/engines/collaborative/kernels/sgd';
import { DEFAULT_BASELINE_OPTIONS, fitBaseline } from './baseline';
import { countPerIndex, meanRating, ratingScaleOf, splitHoldout, type RatingsDataset } from './dataset';
import {
  WasmArena,
  WasmSgdKernel,
  wasmSgdModule,
  type WasmMemory,
} from '../src/engines/collaborative/kernels/wasm-sgd';
import { heapAllocator, sharedAllocator, type ArrayAllocator } from './sgd-memory';
import {
  blockFor,
  buildStratifiedLayout,
  cacheFittingStrata,
  runBlock,
  type SweepKernel,
} from './sgd-schedule';
import { SgdWorkerPool } from './sgd-workers';

export interface BiasedMfOptions {
  readonly factors: number;
  readonly epochs: number;
  readonly lrBias: number;
  readonly regBias: number;
  readonly lrFactor: number;
  readonly regFactor: number;
  /**
   * Frequency regularisation: a row with n ratings is regularised by λ·n^-regExponent per update
   * (0 = the same λ for every update, as Surprise; 0.5 = MyMediaLite's frequency regularisation).
   */
  readonly regExponent: number;
  /**
   * After SGD, each user's bias is re-estimated by weighted least squares in which a rating made d
   * days before the user's latest one weighs 2^(−d/halfLife), so predictions follow the user's current
   * generosity rather than their lifetime average (0 = keep the SGD bias).
   */
  readonly recencyHalfLifeDays: number;
  /** Learning rates are multiplied by decay^epoch. */
  readonly decay: number;
  /** Standard deviation of the initial factors. */
  readonly initStd: number;
  /** 'baseline' starts the biases from the regularised ALS baseline instead of zero. */
  readonly biasInit: 'zero' | 'baseline';
  readonly seed: number;
  /** Worker threads; 1 runs on the calling thread. Does not change the result (see sgd-schedule). */
  readonly threads: number;
  /**
   * DSGD strata; the model depends on this, not on `threads`. 'auto' picks them from the data's shape
   * so that a block's rows fit in cache (cacheFittingStrata).
   */
  readonly strata: number | 'auto';
  /** Fraction of the ratings held out to pick the best epoch; 0 trains on everything for `epochs`. */
  readonly validationFraction: number;
  /** Stop after this many epochs without a better validation RMSE (0 = never stop early). */
  readonly patience: number;
  /**
   * Independent SGD runs (different seeds) averaged into one model of restarts × factors columns;
   * averaging cancels part of the SGD noise.
   */
  readonly restarts: number;
  /**
   * 'simd' runs the WebAssembly SIMD sweep (float32 arithmetic, needs factors % 4 === 0), 'js' the
   * JavaScript one (float64 temporaries); 'auto' picks SIMD when it can. The two agree to float32
   * rounding, so the model is reproducible for a given kernel, not across kernels.
   */
  readonly kernel: 'auto' | 'simd' | 'js';
}

export interface EpochStats {
  /** 0-based index of the SGD restart this epoch belongs to. */
  readonly restart: number;
  /** 1-based. */
  readonly epoch: number;
  /** RMSE of the errors met during the epoch, before each update (free to compute). */
  readonly trainRmse: number;
  readonly validationRmse: number | null;
  readonly lrFactor: number;
  readonly seconds: number;
}

export interface BiasedMfResult {
  readonly model: BiasedMfParameters;
  readonly curve: EpochStats[];
  /** Per restart, the epoch whose parameters were kept (the last one without validation). */
  readonly bestEpochs: number[];
  /** RMSE of the returned model on the validation ratings (after averaging and refit). */
  readonly validationRmse: number | null;
  /**
   * The same before the recency refit of user biases. A random holdout is not "the future", so the
   * refit, which bets on each user's recent ratings, can raise validationRmse while it lowers the
   * error on later ratings (the temporal protocol).
   */
  readonly validationRmseBeforeRefit: number | null;
  /** Exact RMSE of the kept model on the ratings it was trained on (clipped predictions). */
  readonly trainRmse: number;
  readonly trainSeconds: number;
  readonly trainRatings: number;
  readonly validationRatings: number;
  /** The DSGD strata the run used ('auto' resolved). */
  readonly strata: number;
}

export interface BiasedMfHooks {
  readonly onEpoch?: (stats: EpochStats) => void;
  /**
   * An explicit validation set (e.g. a later time window) used instead of a random holdout of
   * `validationFraction`; the best epoch on it is kept.
   */
  readonly validation?: RatingTriples;
  /** A pool to reuse; otherwise one is started (threads > 1) and closed afterwards. */
  readonly pool?: SgdWorkerPool;
  /**
   * A fixed per-item prior (by item index) the item biases are learned around: SGD fits the ratings
   * minus it, so regularisation pulls b_i towards the prior instead of towards 0, and the returned
   * item biases include it (an item without ratings gets the prior alone).
   */
  readonly itemOffsets?: Float64Array;
}

export class TrainingOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainingOptionsError';
  }
}

export function validateBiasedMfOptions(options: BiasedMfOptions): void {
  const positiveInteger = (name: keyof BiasedMfOptions) => {
    const value = options[name];
    if (!Number.isInteger(value) || (value as number) < 1)
      throw new TrainingOptionsError(`${name} must be a positive integer`);
  };
  const nonNegative = (name: keyof BiasedMfOptions) => {
    const value = options[name] as number;
    if (!(Number.isFinite(value) && value >= 0)) throw new TrainingOptionsError(`${name} must be ≥ 0`);
  };
  positiveInteger('factors');
  positiveInteger('epochs');
  positiveInteger('threads');
  if (options.strata !== 'auto') positiveInteger('strata');
  positiveInteger('restarts');
  for (const name of [
    'lrBias',
    'regBias',
    'lrFactor',
    'regFactor',
    'initStd',
    'patience',
    'regExponent',
    'recencyHalfLifeDays',
  ] as const)
    nonNegative(name);
  if (!(options.decay > 0 && options.decay <= 1)) throw new TrainingOptionsError('decay must be in (0, 1]');
  if (!(options.validationFraction >= 0 && options.validationFraction < 1))
    throw new TrainingOptionsError('validationFraction must be in [0, 1)');
  if (options.biasInit !== 'zero' && options.biasInit !== 'baseline')
    throw new TrainingOptionsError("biasInit must be 'zero' or 'baseline'");
  if (!Number.isInteger(options.seed)) throw new TrainingOptionsError('seed must be an integer');
  if (!['auto', 'simd', 'js'].includes(options.kernel))
    throw new TrainingOptionsError("kernel must be 'auto', 'simd' or 'js'");
  if (options.kernel === 'simd' && !WasmSgdKernel.supports(options.factors))
    throw new TrainingOptionsError('the SIMD kernel needs factors to be a multiple of 4');
  if (options.kernel === 'simd' && !wasmSgdModule())
    throw new TrainingOptionsError('WebAssembly SIMD is not available in this runtime');
}

/** A fresh model: factors ~ N(0, initStd²) from the seed, biases zero or from the ALS baseline. */
export function initialBiasedModel(
  train: RatingsDataset,
  options: Pick<BiasedMfOptions, 'factors' | 'initStd' | 'biasInit' | 'seed'>,
  allocator: ArrayAllocator = heapAllocator,
): BiasedMfParameters {
  const k = options.factors;
  const model: BiasedMfParameters = {
    k,
    mu: meanRating(train),
    userBias: allocator.float64(train.numUsers),
    itemBias: allocator.float64(train.numItems),
    userFactors: allocator.float32(train.numUsers * k),
    itemFactors: allocator.float32(train.numItems * k),
  };
  const rng = new Mulberry32(deriveSeed(options.seed, 0x1417));
  fillGaussian(model.userFactors, rng, options.initStd);
  fillGaussian(model.itemFactors, rng, options.initStd);
  if (options.biasInit === 'baseline') {
    const baseline = fitBaseline(train, train.numUsers, train.numItems, DEFAULT_BASELINE_OPTIONS);
    model.mu = baseline.mu;
    model.userBias.set(baseline.userBias);
    model.itemBias.set(baseline.itemBias);
  }
  return model;
}

export function regularizationWeights(
  train: RatingsDataset,
  exponent: number,
  allocator: ArrayAllocator = heapAllocator,
): RegularizationWeights | null {
  if (exponent === 0) return null;
  const weigh = (counts: Int32Array) => {
    const weights = allocator.float64(counts.length);
    counts.forEach((count, row) => (weights[row] = count > 0 ? count ** -exponent : 1));
    return weights;
  };
  return {
    user: weigh(countPerIndex(train.users, train.numUsers)),
    item: weigh(countPerIndex(train.items, train.numItems)),
  };
}

/** Per-rating weights 2^(−(latest rating of its user − t)/halfLife). */
export function recencyWeights(
  users: Int32Array,
  timestamps: Float64Array,
  numUsers: number,
  halfLifeDays: number,
): Float64Array {
  const latest = new Float64Array(numUsers).fill(-Infinity);
  for (let n = 0; n < users.length; n++) {
    if (timestamps[n] > latest[users[n]]) latest[users[n]] = timestamps[n];
  }
  const halfLifeSeconds = halfLifeDays * 86400;
  return Float64Array.from(users, (user, n) => 2 ** (-(latest[user] - timestamps[n]) / halfLifeSeconds));
}

/**
 * b_u = Σ w (r − μ − b_i − p_u·q_i) / (Σw + λ_b (Σw)^(1−α)): the user-bias step of weighted ALS,
 * with the same whole-user penalty SGD applies, so that a half-life of ∞ reproduces SGD's optimum.
 */
export function refitUserBiases(
  model: BiasedMfParameters,
  train: RatingsDataset,
  weights: Float64Array,
  regBias: number,
  regExponent: number,
): void {
  const residualSums = new Float64Array(train.numUsers);
  const weightSums = new Float64Array(train.numUsers);
  for (let n = 0; n < train.size; n++) {
    const user = train.users[n];
    const item = train.items[n];
    const residual =
      train.ratings[n] -
      model.mu -
      model.itemBias[item] -
      rowDot(model.userFactors, user, model.itemFactors, item, model.k);
    residualSums[user] += weights[n] * residual;
    weightSums[user] += weights[n];
  }
  for (let user = 0; user < train.numUsers; user++) {
    const total = weightSums[user];
    if (total > 0) model.userBias[user] = residualSums[user] / (total + regBias * total ** (1 - regExponent));
  }
}

/** The ratings minus their item's offset (a fresh dataset; the input is left alone). */
export function withoutItemOffsets<T extends RatingTriples>(triples: T, offsets: Float64Array): T {
  const ratings = Float32Array.from(triples.ratings, (rating, n) => rating - offsets[triples.items[n]]);
  return { ...triples, ratings };
}

/** Users and items without training ratings get zero factors, so their predictions are the baseline. */
function clearUntrainedRows(model: BiasedMfParameters, train: RatingTriples): void {
  const clear = (factors: Float32Array, counts: Int32Array) => {
    counts.forEach((count, row) => {
      if (count === 0) factors.fill(0, row * model.k, (row + 1) * model.k);
    });
  };
  clear(model.userFactors, countPerIndex(train.users, model.userBias.length));
  clear(model.itemFactors, countPerIndex(train.items, model.itemBias.length));
}

function snapshot(model: BiasedMfParameters): BiasedMfParameters {
  return {
    k: model.k,
    mu: model.mu,
    userBias: model.userBias.slice(),
    itemBias: model.itemBias.slice(),
    userFactors: model.userFactors.slice(),
    itemFactors: model.itemFactors.slice(),
  };
}

function restore(model: BiasedMfParameters, from: BiasedMfParameters): void {
  model.userBias.set(from.userBias);
  model.itemBias.set(from.itemBias);
  model.userFactors.set(from.userFactors);
  model.itemFactors.set(from.itemFactors);
}

interface SgdRun {
  readonly model: BiasedMfParameters;
  readonly bestEpoch: number;
}

/** Where one run's arrays live and which sweep kernel updates them. */
interface SgdBackend {
  readonly allocator: ArrayAllocator;
  readonly sweep: SweepKernel;
  /** The WebAssembly memory holding every array, for the SIMD kernel in worker threads. */
  readonly memory: WasmMemory | null;
}

function useSimd(options: BiasedMfOptions): boolean {
  if (options.kernel === 'js') return false;
  return WasmSgdKernel.supports(options.factors) && wasmSgdModule() !== null;
}

/** The options with the strata a run uses. */
type RunOptions = BiasedMfOptions & { readonly strata: number };

export function resolvedStrata(
  options: Pick<BiasedMfOptions, 'strata' | 'factors'>,
  shape: { readonly numUsers: number; readonly numItems: number },
): number {
  return options.strata === 'auto'
    ? cacheFittingStrata(shape.numUsers, shape.numItems, options.factors)
    : options.strata;
}

function sgdBackend(train: RatingsDataset, options: RunOptions, threaded: boolean): SgdBackend {
  if (!useSimd(options)) {
    return { allocator: threaded ? sharedAllocator : heapAllocator, sweep: sgdSweep, memory: null };
  }
  const k = options.factors;
  const blocks = options.strata * options.strata + 1;
  const arena = new WasmArena(
    WasmArena.sizeFor([
      train.numUsers * k * 4,
      train.numItems * k * 4,
      train.numUsers * 8,
      train.numItems * 8,
      // users, items, ratings and the shuffled order: four bytes per rating each
      ...[0, 1, 2, 3].map(() => train.size * 4),
      blocks * 4,
      ...(options.regExponent > 0 ? [train.numUsers * 8, train.numItems * 8] : []),
    ]),
  );
  const kernel = WasmSgdKernel.forMemory(arena.memory);
  if (!kernel) throw new TrainingOptionsError('WebAssembly SIMD is not available in this runtime');
  return { allocator: arena, sweep: kernel.sweep.bind(kernel), memory: arena.memory };
}

/** One SGD run from a fresh initialisation; keeps the best validation epoch when there is a holdout. */
async function runSgd(
  train: RatingsDataset,
  holdout: RatingTriples | null,
  scale: { min: number; max: number },
  options: RunOptions,
  seed: number,
  restart: number,
  pool: SgdWorkerPool | null,
  onEpoch: ((stats: EpochStats) => void) | undefined,
): Promise<SgdRun> {
  const backend = sgdBackend(train, options, pool !== null);
  const { allocator } = backend;
  const model = initialBiasedModel(train, { ...options, seed }, allocator);
  // Rows without ratings never receive an update; zeroing them up front keeps every validation
  // figure equal to what the returned model predicts.
  clearUntrainedRows(model, train);
  const weights = regularizationWeights(train, options.regExponent, allocator);
  const layout = buildStratifiedLayout(train, train.numUsers, train.numItems, options.strata, allocator);
  if (pool) await pool.prepare(model, layout, seed, weights, backend.memory);
  let best: { epoch: number; rmse: number; parameters: BiasedMfParameters | null } = {
    epoch: 0,
    rmse: Infinity,
    parameters: null,
  };
  let epochsRun = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const epochStarted = performance.now();
    const factor = options.decay ** epoch;
    const rates: SgdRates = {
      lrBias: options.lrBias * factor,
      regBias: options.regBias,
      lrFactor: options.lrFactor * factor,
      regFactor: options.regFactor,
    };
    let squaredErrors = 0;
    if (pool) {
      squaredErrors = await pool.runEpoch(epoch, rates);
    } else {
      const blockErrors = new Float64Array(options.strata * options.strata);
      for (let subEpoch = 0; subEpoch < options.strata; subEpoch++) {
        for (let row = 0; row < options.strata; row++) {
          const block = blockFor(row, subEpoch, options.strata);
          blockErrors[block] = runBlock(model, layout, block, epoch, seed, rates, weights, backend.sweep);
        }
      }
      for (const blockError of blockErrors) squaredErrors += blockError;
      // Let a server's event loop breathe between epochs when training runs on its thread.
      await new Promise((resolve) => setImmediate(resolve));
    }
    epochsRun = epoch + 1;
    const validationRmse =
      holdout && holdout.ratings.length > 0
        ? Math.sqrt(sumSquaredErrors(model, holdout, scale.min, scale.max) / holdout.ratings.length)
        : null;
    onEpoch?.({
      restart,
      epoch: epoch + 1,
      trainRmse: Math.sqrt(squaredErrors / Math.max(1, train.size)),
      validationRmse,
      lrFactor: rates.lrFactor,
      seconds: (performance.now() - epochStarted) / 1000,
    });
    if (validationRmse !== null) {
      if (validationRmse < best.rmse) {
        best = { epoch: epoch + 1, rmse: validationRmse, parameters: snapshot(model) };
      } else if (options.patience > 0 && epoch + 1 - best.epoch >= options.patience) {
        break;
      }
    }
  }
  if (best.parameters) restore(model, best.parameters);
  return { model, bestEpoch: best.parameters ? best.epoch : epochsRun };
}

/**
 * The average of R biased MF models is a biased MF model: averaged biases, and factor columns
 * concatenated and scaled by 1/√R, so that p_u·q_i is the mean of the R interaction terms.
 */
export function averageBiasedModels(models: readonly BiasedMfParameters[]): BiasedMfParameters {
  if (models.length === 1) return models[0];
  const count = models.length;
  const k = models[0].k;
  const width = k * count;
  const numUsers = models[0].userBias.length;
  const numItems = models[0].itemBias.length;
  const scale = 1 / Math.sqrt(count);
  const average: BiasedMfParameters = {
    k: width,
    mu: models.reduce((sum, m) => sum + m.mu, 0) / count,
    userBias: new Float64Array(numUsers),
    itemBias: new Float64Array(numItems),
    userFactors: new Float32Array(numUsers * width),
    itemFactors: new Float32Array(numItems * width),
  };
  models.forEach((m, r) => {
    for (let u = 0; u < numUsers; u++) {
      average.userBias[u] += m.userBias[u] / count;
      for (let f = 0; f < k; f++)
        average.userFactors[u * width + r * k + f] = m.userFactors[u * k + f] * scale;
    }
    for (let i = 0; i < numItems; i++) {
      average.itemBias[i] += m.itemBias[i] / count;
      for (let f = 0; f < k; f++)
        average.itemFactors[i * width + r * k + f] = m.itemFactors[i * k + f] * scale;
    }
  });
  return average;
}

/**
 * Biased MF by stochastic gradient descent with per-epoch reshuffling, learning-rate decay, early
 * stopping that restores the best epoch (when a validation fraction is given), optional averaging of
 * independent restarts and an optional recency-weighted refit of the user biases.
 */
export async function trainBiasedMf(
  dataset: RatingsDataset,
  options: BiasedMfOptions,
  hooks: BiasedMfHooks = {},
): Promise<BiasedMfResult> {
  validateBiasedMfOptions(options);
  const started = performance.now();
  const strata = resolvedStrata(options, dataset);
  const runOptions: RunOptions = { ...options, strata };
  const { train, holdout } = hooks.validation
    ? { train: dataset, holdout: hooks.validation }
    : options.validationFraction > 0
      ? splitHoldout(dataset, options.validationFraction, deriveSeed(options.seed, 0x7a11d))
      : { train: dataset, holdout: null };
  const offsets = hooks.itemOffsets ?? null;
  if (offsets && offsets.length !== dataset.numItems)
    throw new TrainingOptionsError(`itemOffsets has ${offsets.length} entries for ${dataset.numItems} items`);
  const sgdTrain = offsets ? withoutItemOffsets(train, offsets) : train;
  const sgdHoldout = offsets && holdout ? withoutItemOffsets(holdout, offsets) : holdout;
  const parallel = options.threads > 1;
  const pool = parallel ? (hooks.pool ?? (await SgdWorkerPool.start(options.threads))) : null;
  if (pool && pool.threads !== options.threads) {
    throw new TrainingOptionsError(
      `the worker pool has ${pool.threads} threads, options ask for ${options.threads}`,
    );
  }
  const curve: EpochStats[] = [];
  const onEpoch = (stats: EpochStats) => {
    curve.push(stats);
    hooks.onEpoch?.(stats);
  };
  // Validation figures clip to the scale of the whole dataset, like the returned model's metrics.
  const scale = ratingScaleOf(dataset);
  const runs: SgdRun[] = [];
  try {
    for (let restart = 0; restart < options.restarts; restart++) {
      // Restart 0 uses the seed itself, so one restart is exactly the plain model.
      const seed = restart === 0 ? options.seed : deriveSeed(options.seed, 0x5e5, restart);
      // With offsets, per-epoch validation clips the offset-free prediction: an approximation that
      // only matters for early stopping; the figures returned below are exact.
      runs.push(await runSgd(sgdTrain, sgdHoldout, scale, runOptions, seed, restart, pool, onEpoch));
    }
  } finally {
    if (pool && !hooks.pool) await pool.close();
  }
  const model = averageBiasedModels(runs.map((run) => run.model));
  if (offsets) offsets.forEach((offset, item) => (model.itemBias[item] += offset));
  const rmseOn = (triples: RatingTriples) =>
    Math.sqrt(sumSquaredErrors(model, triples, scale.min, scale.max) / Math.max(1, triples.ratings.length));
  const hasHoldout = holdout !== null && holdout.ratings.length > 0;
  const validationRmseBeforeRefit = hasHoldout ? rmseOn(holdout) : null;
  if (options.recencyHalfLifeDays > 0) {
    const weights = recencyWeights(
      train.users,
      train.timestamps,
      train.numUsers,
      options.recencyHalfLifeDays,
    );
    refitUserBiases(model, train, weights, options.regBias, options.regExponent);
  }
  return {
    model,
    curve,
    bestEpochs: runs.map((run) => run.bestEpoch),
    trainRmse: rmseOn(train),
    validationRmse: hasHoldout ? rmseOn(holdout) : null,
    validationRmseBeforeRefit,
    trainSeconds: (performance.now() - started) / 1000,
    trainRatings: train.size,
    validationRatings: holdout?.ratings.length ?? 0,
    strata,
  };
}
