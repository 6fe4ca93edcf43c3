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
 * Ratings weighing less than this are left out of the normal equations (their weight still counts
 * in the regularisation scale). With recency weights it is a rating 30 half-lives older than the
 * user's latest (over seven years at 90 days): even thousands of them add up to a few millionths
 * of the latest rating's weight, while a user rating since 2000 would otherwise cost a fold-in
 * ten times longer.
 */
export const NEGLIGIBLE_WEIGHT = 2 ** -30;

/**
 * Recomputes one user's bias and factors from their ratings with the item side fixed, by solving the
 * regularised least-squares problem that SGD minimises for that user:
 *   min Σ_j (r_j − μ − b_j − b_u − p_u·q_j)² + λ_b·s·b_u² + λ_f·s·‖p_u‖²,  s = n^(1−α),
 * i.e. the (k+1)×(k+1) normal equations (Σ z zᵀ + Λ) x = Σ y z with z = [1, q_j], y = r_j − μ − b_j,
 * solved by Cholesky. Used to serve new or just-updated users without retraining. Optional per-rating
 * `weights` turn it into weighted least squares (n becomes Σ weights in s).
 *
 * A user with fewer ratings than unknowns (most users, with k in the hundreds) gets the same
 * solution from the n×n dual system instead (see solveDual): factorising the (k+1)² matrix cost
 * ~10 ms at k = 300 whatever the user's rating count.
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
  let totalWeight = 0;
  const kept: number[] = [];
  for (let n = 0; n < items.length; n++) {
    const weight = weights ? weights[n] : 1;
    totalWeight += weight;
    if (weight >= NEGLIGIBLE_WEIGHT) kept.push(n);
  }
  const count = kept.length;
  const scale = totalWeight === 0 ? 1 : totalWeight ** (1 - options.regExponent);
  const regBias = options.regBias * scale + JITTER;
  const regFactor = options.regFactor * scale + JITTER;
  if (count < size && Math.min(regBias, regFactor) >= MIN_DUAL_REGULARISATION) {
    const solution = solveDual(model, items, ratings, weights, kept, regBias, regFactor);
    return { bias: solution[0], factors: solution.slice(1) };
  }
  // z = [1, q_j] laid out by column (one row of `plain` per coordinate, one entry per rating) and
  // the same scaled by each rating's weight: each entry of Σ w z zᵀ is then a dot product of two
  // contiguous rows. Adding z zᵀ rating by rating walked the whole (k+1)² matrix per rating.
  const plain = new Float64Array(size * count);
  const weighted = new Float64Array(size * count);
  const rhs = new Float64Array(size);
  for (let n = 0; n < count; n++) {
    const rated = kept[n];
    const item = items[rated];
    const weight = weights ? weights[rated] : 1;
    const target = weight * (ratings[rated] - mu - itemBias[item]);
    plain[n] = 1;
    weighted[n] = weight;
    rhs[0] += target;
    const offset = item * k;
    for (let a = 0; a < k; a++) {
      const qa = itemFactors[offset + a];
      plain[(a + 1) * count + n] = qa;
      weighted[(a + 1) * count + n] = weight * qa;
      rhs[a + 1] += target * qa;
    }
  }
  const normal = new Float64Array(size * size);
  lowerGram(weighted, plain, size, count, normal);
  normal[0] += regBias;
  for (let a = 1; a < size; a++) normal[a * size + a] += regFactor;
  choleskyInPlace(normal, size);
  choleskySolveInPlace(normal, size, rhs);
  return { bias: rhs[0], factors: rhs.slice(1) };
}

/**
 * Below this penalty the dual system's scaling by 1/√λ would lose precision; such fits (λ ≈ 0, a
 * test or a deliberately unregularised model) take the primal path.
 */
const MIN_DUAL_REGULARISATION = 1e-6;

/**
 * The same minimiser through the n×n dual system. With B the rows √w_j·z_jᵀ, t_j = √w_j·y_j and
 * Λ the diagonal penalty, (BᵀB + Λ)⁻¹Bᵀ = Λ⁻¹Bᵀ(BΛ⁻¹Bᵀ + I)⁻¹, so x = Λ⁻¹Bᵀc with
 * (BΛ⁻¹Bᵀ + I) c = t: one n×n Cholesky (eigenvalues ≥ 1, well conditioned) instead of (k+1)².
 */
function solveDual(
  model: BiasedMfParameters,
  items: ArrayLike<number>,
  ratings: ArrayLike<number>,
  weights: ArrayLike<number> | undefined,
  kept: readonly number[],
  regBias: number,
  regFactor: number,
): Float64Array {
  const { k, itemFactors, itemBias, mu } = model;
  const size = k + 1;
  const count = kept.length;
  const biasScale = 1 / Math.sqrt(regBias);
  const factorScale = 1 / Math.sqrt(regFactor);
  // Row j of `scaled` is √w_j · Λ^(−1/2) z_j, so its Gram matrix is BΛ⁻¹Bᵀ.
  const scaled = new Float64Array(count * size);
  const target = new Float64Array(count);
  for (let n = 0; n < count; n++) {
    const rated = kept[n];
    const item = items[rated];
    const root = Math.sqrt(weights ? weights[rated] : 1);
    target[n] = root * (ratings[rated] - mu - itemBias[item]);
    const row = n * size;
    scaled[row] = root * biasScale;
    const offset = item * k;
    const factor = root * factorScale;
    for (let a = 0; a < k; a++) scaled[row + a + 1] = factor * itemFactors[offset + a];
  }
  const system = new Float64Array(count * count);
  lowerGram(scaled, scaled, count, size, system);
  for (let n = 0; n < count; n++) system[n * count + n] += 1;
  choleskyInPlace(system, count);
  choleskySolveInPlace(system, count, target);
  const solution = new Float64Array(size);
  for (let n = 0; n < count; n++) {
    const row = n * size;
    const c = target[n];
    for (let a = 0; a < size; a++) solution[a] += scaled[row + a] * c;
  }
  solution[0] *= biasScale;
  for (let a = 1; a < size; a++) solution[a] *= factorScale;
  return solution;
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

/**
 * out[a·size + b] = Σ_n left[a·count + n] · right[b·count + n] for b ≤ a (the lower triangle the
 * Cholesky factorisation reads). Two rows of each side at a time: four sums per four loads.
 */
function lowerGram(
  left: Float64Array,
  right: Float64Array,
  size: number,
  count: number,
  out: Float64Array,
): void {
  const dot = (a: number, b: number) => {
    let sum = 0;
    for (let n = 0, ra = a * count, rb = b * count; n < count; n++) sum += left[ra + n] * right[rb + n];
    return sum;
  };
  let a = 0;
  for (; a + 1 < size; a += 2) {
    const a0 = a * count;
    const a1 = a0 + count;
    let b = 0;
    for (; b + 1 <= a; b += 2) {
      const b0 = b * count;
      const b1 = b0 + count;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let n = 0; n < count; n++) {
        const x0 = left[a0 + n];
        const x1 = left[a1 + n];
        const y0 = right[b0 + n];
        const y1 = right[b1 + n];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      out[a * size + b] = s00;
      out[a * size + b + 1] = s01;
      out[(a + 1) * size + b] = s10;
      out[(a + 1) * size + b + 1] = s11;
    }
    for (; b <= a + 1; b++) {
      out[(a + 1) * size + b] = dot(a + 1, b);
      if (b <= a) out[a * size + b] = dot(a, b);
    }
  }
  for (; a < size; a++) for (let b = 0; b <= a; b++) out[a * size + b] = dot(a, b);
}
