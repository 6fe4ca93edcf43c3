import { predictAllItems, predictAllItemsFor } from '../../src/engines/collaborative/kernels/biased-mf';
import { foldInBiasedUser } from '../../src/engines/collaborative/kernels/fold-in';
import { sumSquaredErrors } from '../../src/engines/collaborative/kernels/sgd';
import { fitBaseline } from '../../training/baseline';
import {
  refitUserBiases,
  trainBiasedMf,
  TrainingOptionsError,
  type BiasedMfOptions,
  type BiasedMfResult,
} from '../../training/biased-mf';
import { createDataset } from '../../training/dataset';
import { DEFAULT_BIASED_MF_OPTIONS } from '../../training/options';
import { syntheticSplit } from './helpers/synthetic-split';

const { train, test, noise } = syntheticSplit();

const options: BiasedMfOptions = {
  ...DEFAULT_BIASED_MF_OPTIONS,
  factors: 8,
  epochs: 60,
  lrFactor: 0.02,
  lrBias: 0.01,
  regFactor: 0.05,
  regBias: 0.02,
  regExponent: 0,
  recencyHalfLifeDays: 0,
  decay: 0.97,
  initStd: 0.1,
  biasInit: 'baseline',
  validationFraction: 0,
  patience: 0,
  restarts: 1,
  kernel: 'auto',
  seed: 3,
  threads: 1,
  strata: 2,
};

const rmseOn = (result: BiasedMfResult, data = test) =>
  Math.sqrt(sumSquaredErrors(result.model, data, 0.5, 5) / data.ratings.length);

function bytesOf(result: BiasedMfResult): Buffer {
  const { userBias, itemBias, userFactors, itemFactors } = result.model;
  return Buffer.concat(
    [userBias, itemBias, userFactors, itemFactors].map((a) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    ),
  );
}

describe('biased MF by SGD on planted factors', () => {
  let trained: BiasedMfResult;
  beforeAll(async () => {
    trained = await trainBiasedMf(train, options);
  });

  it('recovers the structure: test RMSE near the noise level, far below the baseline', () => {
    const baseline = fitBaseline(train, train.numUsers, train.numItems);
    const baselineModel = {
      ...trained.model,
      ...baseline,
      userFactors: new Float32Array(trained.model.userFactors.length),
      itemFactors: new Float32Array(trained.model.itemFactors.length),
    };
    const baselineRmse = Math.sqrt(sumSquaredErrors(baselineModel, test, 0.5, 5) / test.size);
    const mfRmse = rmseOn(trained);
    // Half-star rounding adds √(0.25²/3) ≈ 0.14 of noise on top of the planted 0.4.
    const noiseFloor = Math.hypot(noise, 0.25 / Math.sqrt(3));
    expect(mfRmse).toBeLessThan(1.3 * noiseFloor);
    expect(mfRmse).toBeLessThan(0.65 * baselineRmse);
    expect(trained.curve).toHaveLength(options.epochs);
    expect(trained.curve.at(-1)!.trainRmse).toBeLessThan(trained.curve[0].trainRmse);
  });

  it('is byte-identical for the same seed, whatever the thread count, with either kernel', async () => {
    const again = await trainBiasedMf(train, options);
    expect(bytesOf(again).equals(bytesOf(trained))).toBe(true);
    const threaded = await trainBiasedMf(train, { ...options, threads: 2 });
    expect(bytesOf(threaded).equals(bytesOf(trained))).toBe(true);
    const otherSeed = await trainBiasedMf(train, { ...options, seed: 4 });
    expect(bytesOf(otherSeed).equals(bytesOf(trained))).toBe(false);

    const js = await trainBiasedMf(train, { ...options, kernel: 'js' });
    const jsThreaded = await trainBiasedMf(train, { ...options, kernel: 'js', threads: 2 });
    expect(bytesOf(jsThreaded).equals(bytesOf(js))).toBe(true);
    // The kernels differ only by float32 rounding, which SGD does not amplify into a different model.
    expect(rmseOn(js)).toBeCloseTo(rmseOn(trained), 3);
  });

  it('folds in a trained user to nearly the trained predictions', async () => {
    // Decay the learning rate so SGD settles near the least-squares optimum that fold-in solves exactly.
    const converged = await trainBiasedMf(train, { ...options, epochs: 200, decay: 0.97 });
    const model = converged.model;
    const trainedScores = new Float32Array(train.numItems);
    const foldedScores = new Float32Array(train.numItems);
    const otherUserScores = new Float32Array(train.numItems);
    let foldInGap = 0;
    let otherUserGap = 0;
    const users = [0, 17, 123, 250];
    for (const user of users) {
      const positions = Array.from(train.users.keys()).filter((n) => train.users[n] === user);
      const folded = foldInBiasedUser(
        model,
        positions.map((n) => train.items[n]),
        positions.map((n) => train.ratings[n]),
        { regBias: options.regBias, regFactor: options.regFactor, regExponent: options.regExponent },
      );
      predictAllItems(model, user, trainedScores);
      predictAllItemsFor(model, folded.bias, folded.factors, foldedScores);
      predictAllItems(model, user + 1, otherUserScores);
      for (let item = 0; item < train.numItems; item++) {
        foldInGap += Math.abs(trainedScores[item] - foldedScores[item]);
        otherUserGap += Math.abs(trainedScores[item] - otherUserScores[item]);
      }
    }
    const perPrediction = users.length * train.numItems;
    expect(foldInGap / perPrediction).toBeLessThan(0.05);
    // For scale: another user's predictions are an order of magnitude further away.
    expect(otherUserGap / perPrediction).toBeGreaterThan(10 * (foldInGap / perPrediction));
  });

  it('stops early and restores the best validation epoch', async () => {
    // A large learning rate without regularisation overfits quickly.
    const result = await trainBiasedMf(
      train,
      { ...options, epochs: 200, lrFactor: 0.05, regFactor: 0, decay: 1, patience: 3, factors: 30 },
      { validation: test },
    );
    const validation = result.curve.map((s) => s.validationRmse as number);
    const best = Math.min(...validation);
    expect(result.curve.length).toBeLessThan(200);
    const [bestEpoch] = result.bestEpochs;
    expect(result.curve.length - bestEpoch).toBe(3);
    expect(validation[bestEpoch - 1]).toBe(best);
    expect(result.validationRmse).toBe(best);
    expect(rmseOn(result)).toBeCloseTo(best, 10);
  });

  it('rejects invalid options', async () => {
    await expect(trainBiasedMf(train, { ...options, factors: 0 })).rejects.toThrow(TrainingOptionsError);
    await expect(trainBiasedMf(train, { ...options, decay: 1.5 })).rejects.toThrow(/decay/);
    await expect(trainBiasedMf(train, { ...options, validationFraction: 1 })).rejects.toThrow(
      /validationFraction/,
    );
  });
});

describe('recency-weighted user bias refit', () => {
  it('solves the weighted, regularised least squares for each user', () => {
    const day = 86400;
    // One user, item biases 0.5 and −0.5, ratings 5 (10 days before the latest) and 3 (latest).
    const data = createDataset({
      users: Int32Array.from([0, 0]),
      items: Int32Array.from([0, 1]),
      ratings: Float32Array.from([5, 3]),
      timestamps: Float64Array.from([0, 10 * day]),
      userIds: Int32Array.from([1]),
      itemIds: Int32Array.from([1, 2]),
    });
    const model = {
      k: 1,
      mu: 3,
      userBias: Float64Array.from([0]),
      itemBias: Float64Array.from([0.5, -0.5]),
      userFactors: new Float32Array(1),
      itemFactors: new Float32Array(2),
    };
    // Half-life 10 days: weights 0.5 and 1; λ = 0.2, α = 0 → b = (0.5·1.5 + 1·0.5) / (1.5 + 0.2·1.5).
    const weights = Float64Array.from([0.5, 1]);
    refitUserBiases(model, data, weights, 0.2, 0);
    expect(model.userBias[0]).toBeCloseTo(1.25 / 1.8, 12);
  });
});
