import type { BiasedMfParameters } from './biased-mf';
import { choleskyInPlace, choleskySolveInPlace } from './linalg';

export interface FoldInOptions {
  /** λ of the user bias, as used in training. */
  readonly regBias: number;
  /** λ of the user factors, as used in training. */
  readonly regFactor: number;
  /**
   * The training's frequency-regularisation exponent α: SGD applies λ·n^-α at each of the user's n
   * updates, so the whole-user penalty solved for here is λ·n^(1−α).
   */
  readonly regExponent: number;
}

export interface FoldedInUser {
  readonly bias: number;
  /** Length k. */
  readonly factors: Float64Array;
}

/** Keeps the system solvable when λ = 0 and the user has fewer ratings than unknowns. */
const JITTER = 1e-9;

/**
 * Recomputes one user's bias and factors from their ratings with the item side fixed, by solving the
 * regularised least-squares problem that SGD minimises for that user:
 *   min Σ_j (r_j − μ − b_j − b_u − p_u·q_j)² + λ_b·s·b_u² + λ_f·s·‖p_u‖²,  s = n^(1−α),
 * i.e. the (k+1)×(k+1) normal equations (Σ z zᵀ + Λ) x = Σ y z with z = [1, q_j], y = r_j − μ − b_j,
 * solved by Cholesky. Used to serve new or just-updated users without retraining. Optional per-rating
 * `weights` turn it into weighted least squares (n becomes Σ weights in s).
 */
export function foldInBiasedUser(
  model: BiasedMfParameters,
  items: ArrayLike<number>,
  ratings: ArrayLike<number>,
  options: FoldInOptions,
  weights?: ArrayLike<number>,
): FoldedInUser {
  if (items.length !== ratings.length) throw new Error('items and ratings differ in length');
  if (weights && weights.length !== items.length) throw new Error('weights and ratings differ in length');
  const { k, itemFactors, itemBias, mu } = model;
  const size = k + 1;
  const normal = new Float64Array(size * size);
  const rhs = new Float64Array(size);
  let totalWeight = 0;
  for (let n = 0; n < items.length; n++) {
    const item = items[n];
    const weight = weights ? weights[n] : 1;
    totalWeight += weight;
    const target = weight * (ratings[n] - mu - itemBias[item]);
    const offset = item * k;
    // z = [1, q]; only the lower triangle of z zᵀ is needed by the Cholesky factorisation.
    normal[0] += weight;
    rhs[0] += target;
    for (let a = 0; a < k; a++) {
      const qa = itemFactors[offset + a];
      const weightedQa = weight * qa;
      const row = (a + 1) * size;
      normal[row] += weightedQa;
      rhs[a + 1] += target * qa;
      for (let b = 0; b <= a; b++) normal[row + b + 1] += weightedQa * itemFactors[offset + b];
    }
  }
  const scale = totalWeight === 0 ? 1 : totalWeight ** (1 - options.regExponent);
  normal[0] += options.regBias * scale + JITTER;
  for (let a = 1; a < size; a++) normal[a * size + a] += options.regFactor * scale + JITTER;
  choleskyInPlace(normal, size);
  choleskySolveInPlace(normal, size, rhs);
  return { bias: rhs[0], factors: rhs.slice(1) };
}

/**
 * Weights 2^(−(latest − t)/halfLife) for one user's rating timestamps (unix seconds): the recency
 * weighting training applies to user biases, for folding in with the same emphasis on recent taste.
 */
export function userRecencyWeights(timestamps: ArrayLike<number>, halfLifeDays: number): Float64Array {
  let latest = -Infinity;
  for (let n = 0; n < timestamps.length; n++) if (timestamps[n] > latest) latest = timestamps[n];
  const halfLifeSeconds = halfLifeDays * 86400;
  return Float64Array.from({ length: timestamps.length }, (_, n) =>
    halfLifeDays > 0 ? 2 ** (-(latest - timestamps[n]) / halfLifeSeconds) : 1,
  );
}
