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
