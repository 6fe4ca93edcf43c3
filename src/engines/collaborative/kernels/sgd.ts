import type { BiasedMfParameters } from './biased-mf';

/** Ratings as parallel arrays: the n-th rating is (users[n], items[n], ratings[n]) on dense indices. */
export interface RatingTriples {
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly ratings: Float32Array;
}

export interface SgdRates {
  readonly lrBias: number;
  readonly regBias: number;
  readonly lrFactor: number;
  readonly regFactor: number;
}

/**
 * Per-row multipliers of the regularisation (e.g. n^-α for a row with n ratings, "frequency
 * regularisation"): with them each update applies λ·weight[row] instead of λ.
 */
export interface RegularizationWeights {
  readonly user: Float64Array;
  readonly item: Float64Array;
}

/**
 * One stochastic-gradient pass over ratings order[start..end) (indices into `triples`), updating the
 * model in place with the same update rule as Surprise's SVD:
 *   e = r − r̂;  b_u += γ_b(e − λ_b b_u);  b_i += γ_b(e − λ_b b_i);
 *   p_u += γ_f(e q_i − λ_f p_u);  q_i += γ_f(e p_u − λ_f q_i)   (both from the pre-update values).
 * Returns the sum of squared errors measured before each update. No allocation: this is the hot loop.
 */
export function sgdSweep(
  model: BiasedMfParameters,
  triples: RatingTriples,
  order: Int32Array,
  start: number,
  end: number,
  rates: SgdRates,
  weights: RegularizationWeights | null = null,
): number {
  const { k, mu, userBias, itemBias, userFactors: pf, itemFactors: qf } = model;
  const { users, items, ratings } = triples;
  const lrBias = rates.lrBias;
  const lrFactor = rates.lrFactor;
  const biasDecay = rates.lrBias * rates.regBias;
  const factorDecay = rates.lrFactor * rates.regFactor;
  const userWeight = weights?.user ?? null;
  const itemWeight = weights?.item ?? null;
  let squaredErrors = 0;
  for (let n = start; n < end; n++) {
    const index = order[n];
    const user = users[index];
    const item = items[index];
    const pStart = user * k;
    const qStart = item * k;
    const pEnd = pStart + k;

    let p = pStart;
    let q = qStart;
    let d0 = 0;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    for (; p + 3 < pEnd; p += 4, q += 4) {
      d0 += pf[p] * qf[q];
      d1 += pf[p + 1] * qf[q + 1];
      d2 += pf[p + 2] * qf[q + 2];
      d3 += pf[p + 3] * qf[q + 3];
    }
    for (; p < pEnd; p++, q++) d0 += pf[p] * qf[q];

    const bu = userBias[user];
    const bi = itemBias[item];
    const error = ratings[index] - (mu + bu + bi + (d0 + d1 + (d2 + d3)));
    squaredErrors += error * error;
    const uw = userWeight === null ? 1 : userWeight[user];
    const iw = itemWeight === null ? 1 : itemWeight[item];
    userBias[user] = bu + lrBias * error - biasDecay * uw * bu;
    itemBias[item] = bi + lrBias * error - biasDecay * iw * bi;

    const step = lrFactor * error;
    const pShrink = 1 - factorDecay * uw;
    const qShrink = 1 - factorDecay * iw;
    p = pStart;
    q = qStart;
    for (; p + 3 < pEnd; p += 4, q += 4) {
      const p0 = pf[p];
      const q0 = qf[q];
      const p1 = pf[p + 1];
      const q1 = qf[q + 1];
      const p2 = pf[p + 2];
      const q2 = qf[q + 2];
      const p3 = pf[p + 3];
      const q3 = qf[q + 3];
      pf[p] = pShrink * p0 + step * q0;
      qf[q] = qShrink * q0 + step * p0;
      pf[p + 1] = pShrink * p1 + step * q1;
      qf[q + 1] = qShrink * q1 + step * p1;
      pf[p + 2] = pShrink * p2 + step * q2;
      qf[q + 2] = qShrink * q2 + step * p2;
      pf[p + 3] = pShrink * p3 + step * q3;
      qf[q + 3] = qShrink * q3 + step * p3;
    }
    for (; p < pEnd; p++, q++) {
      const pv = pf[p];
      const qv = qf[q];
      pf[p] = pShrink * pv + step * qv;
      qf[q] = qShrink * qv + step * pv;
    }
  }
  return squaredErrors;
}

/** Sum of squared errors of the (optionally clipped) predictions over ratings[start..end). */
export function sumSquaredErrors(
  model: BiasedMfParameters,
  triples: RatingTriples,
  minRating: number,
  maxRating: number,
  start = 0,
  end = triples.ratings.length,
): number {
  const { k, mu, userBias, itemBias, userFactors: pf, itemFactors: qf } = model;
  const { users, items, ratings } = triples;
  let total = 0;
  for (let n = start; n < end; n++) {
    const user = users[n];
    const item = items[n];
    let p = user * k;
    let q = item * k;
    const pEnd = p + k;
    let d0 = 0;
    let d1 = 0;
    for (; p + 1 < pEnd; p += 2, q += 2) {
      d0 += pf[p] * qf[q];
      d1 += pf[p + 1] * qf[q + 1];
    }
    if (p < pEnd) d0 += pf[p] * qf[q];
    let predicted = mu + userBias[user] + itemBias[item] + d0 + d1;
    if (predicted < minRating) predicted = minRating;
    else if (predicted > maxRating) predicted = maxRating;
    const error = ratings[n] - predicted;
    total += error * error;
  }
  return total;
}
