import {
  CgScratch,
  ialsConfidences,
  foldInIalsUser,
  gramian,
  ialsContributions,
  ialsRowRegularization,
  solveIalsRow,
  type IalsModel,
  type IalsParameters,
} from '../../../../src/engines/collaborative/kernels/ials';
import { factorScores } from '../../../../src/engines/collaborative/kernels/linalg';
import { Mulberry32 } from '../../../../src/engines/collaborative/kernels/prng';
import { buildCsr } from '../../../../src/engines/collaborative/kernels/sparse';
import { createDataset } from '../../../../training/dataset';
import { CONVERGED_SOLVE, trainIals } from '../../../../training/ials';
import { DEFAULT_IALS_OPTIONS } from '../../../../training/options';

const PARAMETERS: IalsParameters = {
  regularization: 0.05,
  regExponent: 1,
  unobservedWeight: 0.3,
  confidenceScale: 0.5,
  recencyHalfLifeDays: 0,
};

function randomFactors(rng: Mulberry32, rows: number, rank: number): Float32Array {
  return Float32Array.from({ length: rows * rank }, () => rng.nextGaussian() * 0.5);
}

/**
 * ∇ of one user's loss Σ_rated c (w·h − 1)² + α0 Σ_all (w·h)² + λ_u‖w‖², computed the slow, direct
 * way (over every item, no Gramian), at w.
 */
function directGradient(
  itemFactors: Float32Array,
  rank: number,
  items: number[],
  confidences: number[],
  parameters: IalsParameters,
  w: ArrayLike<number>,
): Float64Array {
  const numItems = itemFactors.length / rank;
  const gradient = new Float64Array(rank);
  const score = (item: number) => {
    let s = 0;
    for (let f = 0; f < rank; f++) s += w[f] * itemFactors[item * rank + f];
    return s;
  };
  let confidenceSum = 0;
  items.forEach((item, n) => {
    const c = confidences[n];
    confidenceSum += c;
    const residual = score(item) - 1;
    for (let f = 0; f < rank; f++) gradient[f] += 2 * c * residual * itemFactors[item * rank + f];
  });
  for (let item = 0; item < numItems; item++) {
    const s = score(item);
    for (let f = 0; f < rank; f++)
      gradient[f] += 2 * parameters.unobservedWeight * s * itemFactors[item * rank + f];
  }
  const lambda = ialsRowRegularization(parameters, confidenceSum, numItems);
  for (let f = 0; f < rank; f++) gradient[f] += 2 * lambda * w[f];
  return gradient;
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

describe('iALS kernel', () => {
  const rank = 6;
  const numItems = 40;
  const rng = new Mulberry32(11);
  const itemFactors = randomFactors(rng, numItems, rank);
  const items = [3, 7, 8, 15, 22, 31, 39];
  const ratings = [5, 4, 1, 3.5, 2, 5, 4.5];
  const model: IalsModel = { rank, itemFactors, ...PARAMETERS };
  const itemGramian = gramian(itemFactors, rank, new Float64Array(rank * rank));

  it('gramian is FᵀF', () => {
    for (let a = 0; a < rank; a++)
      for (let b = 0; b < rank; b++) {
        let sum = 0;
        for (let i = 0; i < numItems; i++) sum += itemFactors[i * rank + a] * itemFactors[i * rank + b];
        expect(itemGramian[a * rank + b]).toBeCloseTo(sum, 9);
      }
  });

  const plainConfidences = ratings.map((r) => 1 + PARAMETERS.confidenceScale * r);

  it('the fold-in (Cholesky) reaches the minimiser: the direct gradient vanishes there', () => {
    const { vector } = foldInIalsUser(model, itemGramian, items, ratings);
    const gradient = directGradient(itemFactors, rank, items, plainConfidences, PARAMETERS, vector);
    expect(norm(gradient)).toBeLessThan(1e-9 * (1 + norm(vector)));
    // …and not at a nearby point, so the check can fail.
    const nudged = Float64Array.from(vector, (x, f) => (f === 0 ? x + 1e-3 : x));
    expect(
      norm(directGradient(itemFactors, rank, items, plainConfidences, PARAMETERS, nudged)),
    ).toBeGreaterThan(1e-4);
  });

  it('with a recency half-life, older ratings weigh 2^(−age/halfLife) in the minimised loss', () => {
    const recent: IalsParameters = { ...PARAMETERS, recencyHalfLifeDays: 100 };
    const day = 86400;
    const timestamps = [0, 50, 100, 200, 300, 350, 400].map((d) => 1e9 + d * day);
    const confidences = ratings.map(
      (r, n) => (1 + 0.5 * r) * 2 ** (-(400 - (timestamps[n] - 1e9) / day) / 100),
    );
    const { vector } = foldInIalsUser({ ...model, ...recent }, itemGramian, items, ratings, timestamps);
    expect(norm(directGradient(itemFactors, rank, items, confidences, recent, vector))).toBeLessThan(
      1e-9 * (1 + norm(vector)),
    );
    // The unweighted loss is not minimised there: the timestamps were used.
    expect(norm(directGradient(itemFactors, rank, items, plainConfidences, recent, vector))).toBeGreaterThan(
      1e-3,
    );
  });

  it('conjugate gradients from a random start reach the same minimiser; a few warm steps get close', () => {
    const csr = buildCsr(
      new Int32Array(items.length),
      Int32Array.from(items),
      Float32Array.from(ratings),
      1,
      numItems,
    );
    const scaled = Float64Array.from(itemGramian, (g) => g * PARAMETERS.unobservedWeight);
    const confidences = Float32Array.from(ialsConfidences(PARAMETERS, ratings));
    const exact = foldInIalsUser(model, itemGramian, items, ratings).vector;
    const start = randomFactors(new Mulberry32(3), 1, rank);
    const solve = (steps: number) => {
      const solved = Float32Array.from(start);
      solveIalsRow(
        csr,
        0,
        itemFactors,
        solved,
        rank,
        scaled,
        PARAMETERS,
        numItems,
        confidences,
        new CgScratch(rank),
        {
          steps,
          tolerance: 0,
        },
      );
      return Array.from(solved, (x, f) => x - exact[f]);
    };
    // CG is exact in at most `rank` steps (up to float32 storage of the result).
    expect(norm(solve(rank))).toBeLessThan(1e-5);
    expect(norm(solve(2))).toBeLessThan(norm(solve(1)));
    expect(norm(solve(1))).toBeGreaterThan(1e-3);
  });

  it('an item’s score splits exactly into one contribution per rating', () => {
    const system = foldInIalsUser(model, itemGramian, items, ratings);
    const scores = new Float32Array(numItems);
    factorScores(itemFactors, rank, system.vector, scores);
    for (const item of [0, 5, 39]) {
      const total = ialsContributions(model, system, items, item).reduce((s, x) => s + x, 0);
      expect(total).toBeCloseTo(scores[item], 5);
    }
  });

  it('a user without ratings folds in to zero', () => {
    const { vector } = foldInIalsUser(model, itemGramian, [], []);
    expect(norm(vector)).toBe(0);
  });
});

describe('iALS training', () => {
  /**
   * A planted implicit matrix: users and items in 3 clusters; a user rates 40% of the items of their
   * own cluster and 2% of the others. 20% of each user's ratings are held out.
   */
  function plantedSplit() {
    const rng = new Mulberry32(5);
    const numUsers = 150;
    const numItems = 120;
    const train: [number, number][] = [];
    const heldOut: [number, number][] = [];
    for (let u = 0; u < numUsers; u++) {
      for (let i = 0; i < numItems; i++) {
        const p = u % 3 === i % 3 ? 0.4 : 0.02;
        if (rng.nextFloat() < p) (rng.nextFloat() < 0.2 ? heldOut : train).push([u, i]);
      }
    }
    const dataset = createDataset({
      users: Int32Array.from(train, ([u]) => u),
      items: Int32Array.from(train, ([, i]) => i),
      ratings: new Float32Array(train.length).fill(4),
      timestamps: Float64Array.from(train, (_, n) => 1e9 + ((n * 7919) % 1000) * 86400),
      userIds: Int32Array.from({ length: numUsers }, (_, u) => u + 1),
      itemIds: Int32Array.from({ length: numItems }, (_, i) => i + 1),
    });
    return { dataset, heldOut, numItems };
  }

  it('ranks held-out positives above random unrated items (AUC), far above chance', () => {
    const { dataset, heldOut, numItems } = plantedSplit();
    const { model, userFactors: solved } = trainIals(dataset, {
      rank: 8,
      epochs: 8,
      cgSteps: 3,
      regularization: 0.01,
      regExponent: 1,
      unobservedWeight: 0.1,
      confidenceScale: 0,
      recencyHalfLifeDays: 0,
      initScale: 0.1,
      seed: 1,
    });
    const userFactors = solved!;
    const rated = new Set(Array.from(dataset.users, (u, n) => `${u}:${dataset.items[n]}`));
    const rng = new Mulberry32(9);
    const scores = new Float32Array(numItems);
    let wins = 0;
    for (const [user, positive] of heldOut) {
      factorScores(model.itemFactors, model.rank, userFactors.subarray(user * 8, user * 8 + 8), scores);
      let negative: number;
      do negative = rng.nextInt(numItems);
      while (rated.has(`${user}:${negative}`) || negative === positive);
      if (scores[positive] > scores[negative]) wins++;
    }
    expect(wins / heldOut.length).toBeGreaterThan(0.75);
  });

  it('without the final user pass it returns no user factors and the same items', () => {
    const { dataset } = plantedSplit();
    const options = { ...DEFAULT_IALS_OPTIONS, rank: 4, epochs: 2 };
    const full = trainIals(dataset, options);
    const itemsOnly = trainIals(dataset, options, undefined, { solveUsers: false });
    expect(itemsOnly.userFactors).toBeNull();
    expect(itemsOnly.model.itemFactors).toEqual(full.model.itemFactors);
  });

  it('its final user factors are the exact fold-in of each user against the final items', () => {
    const { dataset } = plantedSplit();
    const { model, userFactors: solved } = trainIals(dataset, {
      rank: 8,
      epochs: 3,
      cgSteps: 2,
      regularization: 0.01,
      regExponent: 1,
      unobservedWeight: 0.1,
      confidenceScale: 0.25,
      recencyHalfLifeDays: 200,
      initScale: 0.1,
      seed: 1,
    });
    const userFactors = solved!;
    const itemGramian = gramian(model.itemFactors, model.rank, new Float64Array(64));
    expect(CONVERGED_SOLVE.tolerance).toBeLessThan(1e-5);
    for (const user of [0, 1, 77, 149]) {
      const items: number[] = [];
      const ratings: number[] = [];
      const timestamps: number[] = [];
      for (let n = 0; n < dataset.size; n++)
        if (dataset.users[n] === user) {
          items.push(dataset.items[n]);
          ratings.push(dataset.ratings[n]);
          timestamps.push(dataset.timestamps[n]);
        }
      const { vector } = foldInIalsUser(model, itemGramian, items, ratings, timestamps);
      const trained = userFactors.subarray(user * 8, user * 8 + 8);
      const difference = Array.from(trained, (x, f) => x - vector[f]);
      expect(norm(difference)).toBeLessThan(1e-4 * norm(vector));
    }
  });
});
