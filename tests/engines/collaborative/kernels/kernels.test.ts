import {
  predictBiased,
  rowDot,
  type BiasedMfParameters,
} from '../../../../src/engines/collaborative/kernels/biased-mf';
import {
  foldInBiasedUser,
  NEGLIGIBLE_WEIGHT,
  userRecencyWeights,
} from '../../../../src/engines/collaborative/kernels/fold-in';
import {
  choleskyInPlace,
  choleskySolveInPlace,
  NotPositiveDefiniteError,
  orthonormalizeColumns,
  symmetricEigen,
} from '../../../../src/engines/collaborative/kernels/linalg';
import { deriveSeed, Mulberry32, shuffleInPlace } from '../../../../src/engines/collaborative/kernels/prng';
import { pureSvdScores, pureSvdUserVector } from '../../../../src/engines/collaborative/kernels/pure-svd';
import { randomizedSvd } from '../../../../src/engines/collaborative/kernels/randomized-svd';
import { sgdSweep } from '../../../../src/engines/collaborative/kernels/sgd';
import {
  buildCsr,
  csrTimesDense,
  csrTransposeTimesDense,
} from '../../../../src/engines/collaborative/kernels/sparse';
import { topK } from '../../../../src/engines/collaborative/kernels/top-k';
import {
  WasmArena,
  WasmSgdKernel,
  wasmSgdModule,
} from '../../../../src/engines/collaborative/kernels/wasm-sgd';

/** A model of one user with Gaussian item factors and small item biases around μ = 3.5. */
function randomOneUserModel(rng: Mulberry32, k: number, items: number): BiasedMfParameters {
  return {
    k,
    mu: 3.5,
    userBias: new Float64Array(1),
    itemBias: Float64Array.from({ length: items }, () => rng.nextGaussian() * 0.3),
    userFactors: new Float32Array(k),
    itemFactors: Float32Array.from({ length: items * k }, () => rng.nextGaussian()),
  };
}

describe('prng', () => {
  it('repeats for a seed and differs across seeds and streams', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 5 },
        (
          (rng) => () =>
            rng.nextUint32()
        )(new Mulberry32(seed)),
      );
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    expect(deriveSeed(1, 2, 3)).toBe(deriveSeed(1, 2, 3));
    expect(deriveSeed(1, 2, 3)).not.toBe(deriveSeed(1, 3, 2));
  });

  it('draws uniform floats and standard normals with the right moments', () => {
    const rng = new Mulberry32(1);
    const n = 20000;
    let sum = 0;
    let gaussianSum = 0;
    let gaussianSquares = 0;
    let low = Infinity;
    let high = -Infinity;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      low = Math.min(low, u);
      high = Math.max(high, u);
      sum += u;
      const g = rng.nextGaussian();
      gaussianSum += g;
      gaussianSquares += g * g;
    }
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThan(1);
    expect(sum / n).toBeCloseTo(0.5, 1);
    expect(gaussianSum / n).toBeCloseTo(0, 1);
    expect(gaussianSquares / n).toBeCloseTo(1, 1);
  });

  it('shuffles a range into a permutation of itself, leaving the rest alone', () => {
    const values = Int32Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(values, new Mulberry32(3), 10, 40);
    expect(Array.from(values.subarray(0, 10))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(values.subarray(40))).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
    expect([...values.subarray(10, 40)].sort((a, b) => a - b)).toEqual(
      Array.from({ length: 30 }, (_, i) => i + 10),
    );
    expect(Array.from(values.subarray(10, 40))).not.toEqual(Array.from({ length: 30 }, (_, i) => i + 10));
  });
});

describe('topK', () => {
  it('returns the best indices first, ties to the lower index, skipping -Infinity', () => {
    const scores = Float32Array.from([0.5, 2, -Infinity, 2, 1, 3, -Infinity, 0.5]);
    expect(Array.from(topK(scores, 4))).toEqual([5, 1, 3, 4]);
    expect(Array.from(topK(scores, 10))).toEqual([5, 1, 3, 4, 0, 7]);
    expect(Array.from(topK(scores, 0))).toEqual([]);
  });

  it('agrees with a full sort on random scores', () => {
    const rng = new Mulberry32(11);
    const scores = Float32Array.from({ length: 1000 }, () => Math.round(rng.nextFloat() * 50));
    const expected = Array.from(scores.keys())
      .sort((a, b) => scores[b] - scores[a] || a - b)
      .slice(0, 25);
    expect(Array.from(topK(scores, 25))).toEqual(expected);
  });

  it('leaves out what `eligible` refuses, exactly as masking it to -Infinity does', () => {
    const rng = new Mulberry32(12);
    const scores = Float32Array.from({ length: 1000 }, () => Math.round(rng.nextFloat() * 50));
    const eligible = (index: number) => index % 3 !== 0 && scores[index] !== 49;
    const masked = scores.map((score, index) => (eligible(index) ? score : -Infinity));
    for (const k of [0, 1, 25, 1000])
      expect(Array.from(topK(scores, k, eligible))).toEqual(Array.from(topK(masked, k)));
    const asked: number[] = [];
    topK(scores, 5, (index) => (asked.push(index), true));
    // Only indices that could still enter the list are asked about.
    expect(asked.length).toBeLessThan(200);
  });
});

describe('linear algebra', () => {
  it('solves a symmetric positive definite system by Cholesky', () => {
    // A = [[4, 2, 0], [2, 5, 1], [0, 1, 3]], x = [1, -1, 2] → b = A x = [2, -1, 5].
    const a = Float64Array.from([4, 2, 0, 2, 5, 1, 0, 1, 3]);
    const b = Float64Array.from([2, -1, 5]);
    choleskyInPlace(a, 3);
    choleskySolveInPlace(a, 3, b);
    expect(Array.from(b).map((v) => Number(v.toFixed(12)))).toEqual([1, -1, 2]);
    expect(() => choleskyInPlace(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(NotPositiveDefiniteError);
  });

  it('finds eigenvalues (descending) and eigenvectors of a symmetric matrix', () => {
    // [[2, 1], [1, 2]] has eigenvalues 3 (along [1, 1]) and 1 (along [1, -1]).
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(3, 12);
    expect(values[1]).toBeCloseTo(1, 12);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(vectors[0] * vectors[2]).toBeCloseTo(0.5, 12);
  });

  it('orthonormalises columns', () => {
    const rng = new Mulberry32(5);
    const length = 40;
    const columns = 6;
    const m = Float64Array.from({ length: length * columns }, () => rng.nextGaussian());
    orthonormalizeColumns(m, length, columns);
    for (let a = 0; a < columns; a++) {
      for (let b = 0; b < columns; b++) {
        let dot = 0;
        for (let r = 0; r < length; r++) dot += m[a * length + r] * m[b * length + r];
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 10);
      }
    }
  });
});

describe('sparse products and randomised SVD', () => {
  // 3 × 4 matrix [[1, 0, 2, 0], [0, 3, 0, 0], [4, 0, 0, 5]] from unsorted triples.
  const csr = buildCsr(
    Int32Array.from([2, 0, 1, 0, 2]),
    Int32Array.from([3, 2, 1, 0, 0]),
    Float32Array.from([5, 2, 3, 1, 4]),
    3,
    4,
  );

  it('builds CSR rows sorted by column', () => {
    expect(Array.from(csr.offsets)).toEqual([0, 2, 3, 5]);
    expect(Array.from(csr.columns)).toEqual([0, 2, 1, 0, 3]);
    expect(Array.from(csr.values)).toEqual([1, 2, 3, 4, 5]);
  });

  it('multiplies by dense column-major matrices', () => {
    const x = Float64Array.from([1, 1, 1, 1, 0, 1, 0, 2]); // columns [1,1,1,1] and [0,1,0,2]
    const out = new Float64Array(6);
    csrTimesDense(csr, x, 2, out);
    expect(Array.from(out)).toEqual([3, 3, 9, 0, 3, 10]);
    const y = Float64Array.from([1, 0, 1]);
    const back = new Float64Array(4);
    csrTransposeTimesDense(csr, y, 1, back);
    expect(Array.from(back)).toEqual([5, 0, 2, 5]);
  });

  it('recovers the singular values and item space of a low-rank matrix', () => {
    // A = U diag(10, 4) Vᵀ with orthonormal U (60 × 2) and V (30 × 2), stored dense as CSR.
    const rng = new Mulberry32(9);
    const u = Float64Array.from({ length: 60 * 2 }, () => rng.nextGaussian());
    const v = Float64Array.from({ length: 30 * 2 }, () => rng.nextGaussian());
    orthonormalizeColumns(u, 60, 2);
    orthonormalizeColumns(v, 30, 2);
    const rows: number[] = [];
    const cols: number[] = [];
    const values: number[] = [];
    for (let r = 0; r < 60; r++) {
      for (let c = 0; c < 30; c++) {
        rows.push(r);
        cols.push(c);
        values.push(10 * u[r] * v[c] + 4 * u[60 + r] * v[30 + c]);
      }
    }
    const a = buildCsr(Int32Array.from(rows), Int32Array.from(cols), Float32Array.from(values), 60, 30);
    const svd = randomizedSvd(a, { rank: 2, oversampling: 4, powerIterations: 2, seed: 1 });
    expect(svd.singularValues[0]).toBeCloseTo(10, 4);
    expect(svd.singularValues[1]).toBeCloseTo(4, 4);
    // Each recovered item vector is ± the planted one.
    for (let f = 0; f < 2; f++) {
      let dot = 0;
      for (let c = 0; c < 30; c++) dot += svd.rightVectors[c * 2 + f] * v[f * 30 + c];
      expect(Math.abs(dot)).toBeCloseTo(1, 4);
    }
  });
});

function tinyModel(): BiasedMfParameters {
  return {
    k: 2,
    mu: 3,
    userBias: Float64Array.from([0.1]),
    itemBias: Float64Array.from([-0.2, 0.3]),
    userFactors: Float32Array.from([0.5, -0.5]),
    itemFactors: Float32Array.from([1, 0, 0.5, 0.25]),
  };
}

describe('biased MF kernels', () => {
  it('predicts μ + b_u + b_i + p·q', () => {
    const model = tinyModel();
    expect(rowDot(model.userFactors, 0, model.itemFactors, 1, 2)).toBeCloseTo(0.125, 7);
    expect(predictBiased(model, 0, 0)).toBeCloseTo(3 + 0.1 - 0.2 + 0.5, 7);
  });

  it('applies one SGD step exactly as Surprise does', () => {
    const model = tinyModel();
    const triples = {
      users: Int32Array.from([0]),
      items: Int32Array.from([0]),
      ratings: Float32Array.from([4]),
    };
    const lr = 0.1;
    const reg = 0.5;
    const squaredError = sgdSweep(model, triples, Int32Array.from([0]), 0, 1, {
      lrBias: lr,
      regBias: reg,
      lrFactor: lr,
      regFactor: reg,
    });
    // e = 4 − (3 + 0.1 − 0.2 + 0.5) = 0.6
    expect(squaredError).toBeCloseTo(0.36, 6);
    expect(model.userBias[0]).toBeCloseTo(0.1 + lr * (0.6 - reg * 0.1), 6);
    expect(model.itemBias[0]).toBeCloseTo(-0.2 + lr * (0.6 - reg * -0.2), 6);
    // p' = p + lr (e q − λ p), q' = q + lr (e p − λ q), both from the old values.
    expect(model.userFactors[0]).toBeCloseTo(0.5 + lr * (0.6 * 1 - reg * 0.5), 6);
    expect(model.userFactors[1]).toBeCloseTo(-0.5 + lr * (0.6 * 0 - reg * -0.5), 6);
    expect(model.itemFactors[0]).toBeCloseTo(1 + lr * (0.6 * 0.5 - reg * 1), 6);
    expect(model.itemFactors[1]).toBeCloseTo(0 + lr * (0.6 * -0.5 - reg * 0), 6);
    // Item 1 was not touched.
    expect(Array.from(model.itemFactors.subarray(2))).toEqual([0.5, 0.25]);
  });

  it('folds in a user whose ratings the model explains exactly', () => {
    const rng = new Mulberry32(21);
    const k = 5;
    const model = randomOneUserModel(rng, k, 40);
    const trueBias = 0.4;
    const trueFactors = Float32Array.from({ length: k }, () => rng.nextGaussian());
    const rated = Array.from({ length: 25 }, (_, n) => n);
    const ratings = rated.map(
      (item) =>
        model.mu + trueBias + model.itemBias[item] + rowDot(trueFactors, 0, model.itemFactors, item, k),
    );
    const folded = foldInBiasedUser(model, rated, ratings, { regBias: 0, regFactor: 0, regExponent: 0 });
    expect(folded.bias).toBeCloseTo(trueBias, 5);
    folded.factors.forEach((value, f) => expect(value).toBeCloseTo(trueFactors[f], 4));

    // Regularisation shrinks towards zero; zero weights ignore a rating entirely.
    const shrunk = foldInBiasedUser(model, rated, ratings, { regBias: 5, regFactor: 5, regExponent: 0 });
    expect(Math.hypot(...shrunk.factors)).toBeLessThan(Math.hypot(...folded.factors));
    const corrupted = [...ratings];
    corrupted[0] += 100;
    const weights = rated.map((_, n) => (n === 0 ? 0 : 1));
    const robust = foldInBiasedUser(
      model,
      rated,
      corrupted,
      { regBias: 0, regFactor: 0, regExponent: 0 },
      weights,
    );
    expect(robust.bias).toBeCloseTo(trueBias, 4);
  });

  it('reaches the least-squares optimum with fewer ratings than unknowns (dual system) and with more', () => {
    const rng = new Mulberry32(33);
    const k = 40;
    const model = randomOneUserModel(rng, k, 200);
    const options = { regBias: 0.05, regFactor: 0.1, regExponent: 0.5 };
    for (const count of [0, 1, 12, 41, 90]) {
      const rated = Array.from({ length: count }, (_, n) => (n * 7) % 200);
      const ratings = rated.map(() => 0.5 + Math.round(rng.nextFloat() * 9) / 2);
      const weights = rated.map(() => 0.1 + rng.nextFloat());
      const { bias, factors } = foldInBiasedUser(model, rated, ratings, options, weights);
      // The gradient of Σ w (y − z·x)² + s·(λ_b b² + λ_f ‖p‖²), s = (Σ w)^(1−α), vanishes at the optimum
      // (up to the 1e-9 jitter the solver adds to the penalty).
      const s = count === 0 ? 1 : weights.reduce((a, b) => a + b, 0) ** (1 - options.regExponent);
      const gradient = new Float64Array(k + 1);
      gradient[0] = options.regBias * s * bias;
      for (let f = 0; f < k; f++) gradient[f + 1] = options.regFactor * s * factors[f];
      rated.forEach((item, n) => {
        let dot = 0;
        for (let f = 0; f < k; f++) dot += factors[f] * model.itemFactors[item * k + f];
        const residual = ratings[n] - model.mu - model.itemBias[item] - bias - dot;
        gradient[0] -= weights[n] * residual;
        for (let f = 0; f < k; f++)
          gradient[f + 1] -= weights[n] * residual * model.itemFactors[item * k + f];
      });
      expect(Math.max(...gradient.map(Math.abs))).toBeLessThan(1e-7);
      if (count === 0) expect([bias, ...factors].every((value) => value === 0)).toBe(true);
    }
  });
});

describe('WebAssembly SIMD sweep', () => {
  it('compiles in this runtime', () => {
    expect(wasmSgdModule()).not.toBeNull();
  });

  it('applies the same updates as the JavaScript sweep, to float32 rounding', () => {
    const k = 12;
    const users = 7;
    const items = 9;
    const ratings = 60;
    const arena = new WasmArena(1 << 16);
    const rng = new Mulberry32(8);
    const makeModel = (allocate: boolean): BiasedMfParameters => {
      const init = new Mulberry32(4);
      const model = {
        k,
        mu: 3.5,
        userBias: allocate ? arena.float64(users) : new Float64Array(users),
        itemBias: allocate ? arena.float64(items) : new Float64Array(items),
        userFactors: allocate ? arena.float32(users * k) : new Float32Array(users * k),
        itemFactors: allocate ? arena.float32(items * k) : new Float32Array(items * k),
      };
      model.userFactors.forEach((_, i) => (model.userFactors[i] = init.nextGaussian() * 0.1));
      model.itemFactors.forEach((_, i) => (model.itemFactors[i] = init.nextGaussian() * 0.1));
      return model;
    };
    const triples = {
      users: arena.int32(ratings),
      items: arena.int32(ratings),
      ratings: arena.float32(ratings),
    };
    const order = arena.int32(ratings);
    for (let n = 0; n < ratings; n++) {
      triples.users[n] = rng.nextInt(users);
      triples.items[n] = rng.nextInt(items);
      triples.ratings[n] = 1 + rng.nextInt(5);
      order[n] = ratings - 1 - n;
    }
    const weights = { user: arena.float64(users).fill(0.5), item: arena.float64(items).fill(2) };
    const simdModel = makeModel(true);
    const jsModel = makeModel(false);
    const kernel = WasmSgdKernel.forMemory(arena.memory);
    if (!kernel) throw new Error('no SIMD kernel');
    const rates = { lrBias: 0.05, regBias: 0.1, lrFactor: 0.05, regFactor: 0.1 };
    for (let epoch = 0; epoch < 5; epoch++) {
      const simdErrors = kernel.sweep(simdModel, triples, order, 0, ratings, rates, weights);
      const jsErrors = sgdSweep(jsModel, triples, order, 0, ratings, rates, weights);
      expect(simdErrors).toBeCloseTo(jsErrors, 4);
    }
    const largestGap = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Math.max(...Array.from(a, (value, i) => Math.abs(value - b[i])));
    expect(largestGap(simdModel.userFactors, jsModel.userFactors)).toBeLessThan(1e-5);
    expect(largestGap(simdModel.itemFactors, jsModel.itemFactors)).toBeLessThan(1e-5);
    expect(largestGap(simdModel.userBias, jsModel.userBias)).toBeLessThan(1e-6);
    expect(largestGap(simdModel.itemBias, jsModel.itemBias)).toBeLessThan(1e-6);
  });

  it('refuses arrays outside its memory and factor counts it cannot vectorise', () => {
    const arena = new WasmArena(1 << 16);
    const kernel = WasmSgdKernel.forMemory(arena.memory);
    if (!kernel) throw new Error('no SIMD kernel');
    const triples = { users: arena.int32(1), items: arena.int32(1), ratings: arena.float32(1) };
    const outside = {
      ...tinyModel(),
      k: 4,
      userFactors: new Float32Array(4),
      itemFactors: new Float32Array(8),
    };
    const rates = { lrBias: 0.1, regBias: 0, lrFactor: 0.1, regFactor: 0 };
    expect(() => kernel.sweep(outside, triples, arena.int32(1), 0, 1, rates)).toThrow(/does not live/);
    expect(() => kernel.sweep(tinyModel(), triples, arena.int32(1), 0, 1, rates)).toThrow(/k % 4/);
    expect(WasmSgdKernel.supports(100)).toBe(true);
    expect(WasmSgdKernel.supports(6)).toBe(false);
  });
});

describe('recency weights for fold-in', () => {
  it('halves the weight every half-life before the latest rating', () => {
    const day = 86400;
    expect(Array.from(userRecencyWeights([20 * day, 0, 10 * day], 10))).toEqual([1, 0.25, 0.5]);
    expect(Array.from(userRecencyWeights([5, 1], 0))).toEqual([1, 1]);
  });

  it('leaves ratings of negligible weight out of the equations but not out of the regularisation scale', () => {
    const k = 4;
    const items = 3000;
    const model = randomOneUserModel(new Mulberry32(5), k, items);
    // 20 recent ratings and 2,980 from long ago, rated wildly differently.
    const rated = Array.from({ length: items }, (_, n) => n);
    const ratings = rated.map((n) => (n < 20 ? 4 + (n % 2) : 0.5));
    const weights = rated.map((n) => (n < 20 ? 1 : NEGLIGIBLE_WEIGHT / 2));
    const options = { regBias: 0.1, regFactor: 0.1, regExponent: 0.5 };
    const folded = foldInBiasedUser(model, rated, ratings, options, weights);

    // Left out: the same as weighing them 0 (up to their share of the regularisation scale)...
    const recentOnly = foldInBiasedUser(
      model,
      rated,
      ratings,
      options,
      weights.map((w, n) => (n < 20 ? w : 0)),
    );
    // ...and within a hundred-thousandth of a star of solving with them at the threshold weight.
    const atThreshold = foldInBiasedUser(
      model,
      rated,
      ratings,
      options,
      weights.map((w) => Math.max(w, NEGLIGIBLE_WEIGHT)),
    );
    const predict = (user: { bias: number; factors: Float64Array }, item: number) =>
      user.bias + user.factors.reduce((sum, f, a) => sum + f * model.itemFactors[item * k + a], 0);
    for (const item of [0, 7, 19])
      expect(Math.abs(predict(folded, item) - predict(atThreshold, item))).toBeLessThan(1e-5);
    expect(Math.abs(folded.bias - recentOnly.bias)).toBeLessThan(1e-9);
  });
});

describe('PureSVD kernels', () => {
  it('scores r_u V Vᵀ', () => {
    // Two items with 1-factor vectors 0.6 and 0.8; a user who rated item 0 with 5.
    const model = { rank: 1, encoding: 'rating' as const, itemFactors: Float32Array.from([0.6, 0.8]) };
    const vector = new Float64Array(1);
    pureSvdUserVector(model, [0], [5], vector);
    expect(vector[0]).toBeCloseTo(3, 6);
    const scores = new Float32Array(2);
    pureSvdScores(model, vector, scores);
    expect(scores[0]).toBeCloseTo(1.8, 6);
    expect(scores[1]).toBeCloseTo(2.4, 6);

    pureSvdUserVector({ ...model, encoding: 'binary' }, [0, 1], [5, 1], vector);
    expect(vector[0]).toBeCloseTo(1.4, 6);
    pureSvdUserVector({ ...model, encoding: 'centered' }, [0, 1], [5, 1], vector);
    expect(vector[0]).toBeCloseTo(2 * 0.6 - 2 * 0.8, 6);
  });
});
