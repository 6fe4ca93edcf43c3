/**
 * The statistics of an experiment report, pure. Every metric is a ratio of sums over users
 * (CTR = Σ clicks / Σ impressions, watch-through = Σ watched / Σ clicks, NDCG@10 = Σ NDCG / Σ lists
 * with one), and a user's impressions are not independent of each other: one user clicks more than
 * another on every list. So the variance of each ratio is the **user-clustered** one of the delta
 * method (Deng, Knoblich & Lu 2018, "Applying the delta method in metric analytics"): users are the
 * independent units, each contributing a numerator and a denominator. The plain per-impression
 * variance is computed too, to show how much clustering widens the intervals (the design effect)
 * and for the textbook two-proportion z-test.
 *
 * - Proportions (CTR, watch-through): 95% Wilson interval at the effective sample size
 *   n / design effect (so it stays inside [0, 1] and is no narrower than the clustering allows).
 * - Means (NDCG@10): estimate ± 1.96 × the clustered standard error, clipped to [0, 1].
 * - Against control: difference, its 95% interval and the two-sided p-value of a z-test on the
 *   difference with the two variants' clustered variances (users are in one variant each, so the
 *   variants are independent samples); `pValueIid` is the pooled two-proportion z-test (Welch's z
 *   for means), which assumes independent impressions and is too small when users differ.
 */

export const Z_95 = 1.959963984540054;

/** One independent unit (a user): numerator, denominator and the sum of squares of the per-item values. */
export interface RatioUnit {
  num: number;
  den: number;
  /** Σ value² over the unit's items: equal to num for 0/1 outcomes. */
  sumSq: number;
}

export interface RatioEstimate {
  /** null without any item. */
  value: number | null;
  /** Items (impressions, clicks, lists) and independent units (users with at least one item). */
  items: number;
  units: number;
  successes: number;
  /** Variance of the ratio treating items as independent. */
  varianceIid: number | null;
  /** Variance of the ratio with users as the independent units (delta method); null below 2 users. */
  varianceClustered: number | null;
}

export interface MetricComparison {
  difference: number;
  differenceCi: [number, number] | null;
  /** difference / control value; null when control is 0. */
  lift: number | null;
  /** z-test with user-clustered variances; null when a variance is undefined (fewer than 2 users). */
  pValue: number | null;
  /** The same test assuming independent items (two-proportion pooled z-test, Welch's z for means). */
  pValueIid: number | null;
}

export interface MetricSummary extends RatioEstimate {
  ci: [number, number] | null;
  vsControl: MetricComparison | null;
}

/** erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/** Two-sided p-value of a standard normal statistic. */
export function twoSidedP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/** Wilson score interval of successes / n (n may be fractional: an effective sample size). */
export function wilson(successes: number, n: number, z = Z_95): [number, number] | null {
  if (!(n > 0)) return null;
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function ratioEstimate(units: readonly RatioUnit[]): RatioEstimate {
  const counted = units.filter((u) => u.den > 0);
  let num = 0;
  let den = 0;
  let sumSq = 0;
  for (const u of counted) {
    num += u.num;
    den += u.den;
    sumSq += u.sumSq;
  }
  if (den === 0)
    return { value: null, items: 0, units: 0, successes: 0, varianceIid: null, varianceClustered: null };
  const r = num / den;
  // Per-item sample variance, then of the mean; with one item it is undefined.
  const itemVariance = den > 1 ? Math.max(0, (sumSq - den * r * r) / (den - 1)) : null;
  const m = counted.length;
  let residuals = 0;
  for (const u of counted) {
    const e = u.num - r * u.den;
    residuals += e * e;
  }
  return {
    value: r,
    items: den,
    units: m,
    successes: num,
    varianceIid: itemVariance === null ? null : itemVariance / den,
    // Var(Σx/Σy) ≈ m/(m−1) · Σ(x_u − r·y_u)² / (Σy)²: the delta method's ratio variance.
    varianceClustered: m > 1 ? ((m / (m - 1)) * residuals) / (den * den) : null,
  };
}

/** The factor by which user clustering inflates the variance (at least 1: never claims more precision than iid). */
export function designEffect(estimate: RatioEstimate): number {
  const { varianceIid, varianceClustered } = estimate;
  if (varianceIid === null || varianceClustered === null || varianceIid === 0) return 1;
  return Math.max(1, varianceClustered / varianceIid);
}

export function proportionInterval(estimate: RatioEstimate): [number, number] | null {
  if (estimate.value === null) return null;
  const effective = estimate.items / designEffect(estimate);
  return wilson(estimate.value * effective, effective);
}

export function meanInterval(estimate: RatioEstimate): [number, number] | null {
  if (estimate.value === null || estimate.varianceClustered === null) return null;
  const half = Z_95 * Math.sqrt(estimate.varianceClustered);
  return [Math.max(0, estimate.value - half), Math.min(1, estimate.value + half)];
}

function zTestP(difference: number, variance: number): number {
  if (variance > 0) return twoSidedP(difference / Math.sqrt(variance));
  return difference === 0 ? 1 : 0;
}

export function compare(
  treatment: RatioEstimate,
  control: RatioEstimate,
  kind: 'proportion' | 'mean',
): MetricComparison | null {
  if (treatment.value === null || control.value === null) return null;
  const difference = treatment.value - control.value;
  const lift = control.value === 0 ? null : difference / control.value;
  let pValue: number | null = null;
  let differenceCi: [number, number] | null = null;
  if (treatment.varianceClustered !== null && control.varianceClustered !== null) {
    const variance = treatment.varianceClustered + control.varianceClustered;
    pValue = zTestP(difference, variance);
    const half = Z_95 * Math.sqrt(variance);
    differenceCi = [difference - half, difference + half];
  }
  let pValueIid: number | null = null;
  if (kind === 'proportion') {
    const pooled = (treatment.successes + control.successes) / (treatment.items + control.items);
    pValueIid = zTestP(difference, pooled * (1 - pooled) * (1 / treatment.items + 1 / control.items));
  } else if (treatment.varianceIid !== null && control.varianceIid !== null) {
    pValueIid = zTestP(difference, treatment.varianceIid + control.varianceIid);
  }
  return { difference, differenceCi, lift, pValue, pValueIid };
}

export function summarise(
  estimate: RatioEstimate,
  control: RatioEstimate | null,
  kind: 'proportion' | 'mean',
): MetricSummary {
  return {
    ...estimate,
    ci: kind === 'proportion' ? proportionInterval(estimate) : meanInterval(estimate),
    vsControl: control ? compare(estimate, control, kind) : null,
  };
}
