/**
 * The statistics behind the statistical engine, on plain numbers and typed arrays (no database).
 *
 * Model: a movie's ratings are draws from a normal distribution around its true mean μ. The prior on μ
 * is worth `m` pseudo-votes at the global mean C: μ ~ N(C, σ²/m). After v votes with mean R the
 * posterior is N(WR, σ²/(v+m)) with WR = v/(v+m)·R + m/(v+m)·C, the Bayesian weighted rating.
 * σ² is the movie's own (population) variance shrunk toward the global variance with the same weights,
 * so a movie with one vote, whose own variance is 0, still gets a sensible spread. The confidence
 * bounds are WR ± z·σ/√(v+m), clamped to the rating scale.
 *
 * Votes may be fractional: trending weights each rating by exponential decay, and the same formulas
 * apply with v = Σw, R = Σw·r/Σw and variance Σw·r²/Σw − R².
 */

export const MIN_RATING = 0.5;
export const MAX_RATING = 5;

/** Two-sided 95% normal quantile, the default width of the confidence bounds. */
export const DEFAULT_Z = 1.96;

export interface Prior {
  /** m: how many votes the prior is worth. */
  weight: number;
  /** C: the mean of all ratings. */
  mean: number;
  /** The variance of all ratings, toward which a movie's own variance is shrunk. */
  variance: number;
}

/** Sufficient statistics of a movie's (possibly decay-weighted) ratings. */
export interface RatingAggregate {
  votes: number;
  sum: number;
  sumOfSquares: number;
}

export interface BayesianEstimate {
  /** The Bayesian weighted rating WR, the posterior mean. */
  weighted: number;
  /** The movie's own mean rating R. */
  mean: number;
  votes: number;
  /** The posterior standard deviation σ/√(v+m), before clamping the bounds. */
  standardError: number;
  lower: number;
  upper: number;
}

export function clampRating(value: number): number {
  return Math.min(MAX_RATING, Math.max(MIN_RATING, value));
}

/** WR = v/(v+m)·R + m/(v+m)·C; with no votes it is the prior mean. */
export function weightedRating(votes: number, mean: number, prior: Pick<Prior, 'weight' | 'mean'>): number {
  if (votes === 0) return prior.mean;
  return (votes * mean + prior.weight * prior.mean) / (votes + prior.weight);
}

/**
 * What personal lists rank by: the Bayesian rating times ln(1 + votes), how well AND how widely a
 * movie is liked. WR alone ranks small cult favourites above what most people enjoy; on the
 * ml-100k u1 and ml-latest-small temporal splits this key beats both WR and the raw vote count
 * as a cold-start list (NDCG@10 0.2615 vs 0.2053 and 0.2451 on u1), and lifts the hybrid.
 */
export function appeal(weighted: number, votes: number): number {
  return weighted * Math.log1p(votes);
}

/** Σ(r−R)²/v from the sums; rounding can push an exact 0 slightly negative, hence the floor. */
export function populationVariance(votes: number, sum: number, sumOfSquares: number): number {
  if (votes <= 0) return 0;
  const mean = sum / votes;
  return Math.max(0, sumOfSquares / votes - mean * mean);
}

/** (v·s² + m·σ²)/(v+m): the movie's variance pulled toward the global one as votes get few. */
export function shrunkVariance(
  votes: number,
  variance: number,
  prior: Pick<Prior, 'weight' | 'variance'>,
): number {
  return (votes * variance + prior.weight * prior.variance) / (votes + prior.weight);
}

export function estimate(aggregate: RatingAggregate, prior: Prior, z: number = DEFAULT_Z): BayesianEstimate {
  const { votes, sum, sumOfSquares } = aggregate;
  const mean = votes > 0 ? sum / votes : prior.mean;
  const weighted = weightedRating(votes, mean, prior);
  const variance = shrunkVariance(votes, populationVariance(votes, sum, sumOfSquares), prior);
  const standardError = Math.sqrt(variance / (votes + prior.weight));
  return {
    weighted,
    mean,
    votes,
    standardError,
    lower: clampRating(weighted - z * standardError),
    upper: clampRating(weighted + z * standardError),
  };
}

export interface EstimateColumns {
  weighted: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
}

/** estimate() over columns of many movies at once (offline scoring, benchmarks). */
export function estimateColumns(
  votes: ArrayLike<number>,
  sums: ArrayLike<number>,
  sumsOfSquares: ArrayLike<number>,
  prior: Prior,
  z: number = DEFAULT_Z,
): EstimateColumns {
  const count = votes.length;
  if (sums.length !== count || sumsOfSquares.length !== count)
    throw new RangeError(
      `columns differ in length: ${count} votes, ${sums.length} sums, ${sumsOfSquares.length} squares`,
    );
  const weighted = new Float64Array(count);
  const lower = new Float64Array(count);
  const upper = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const one = estimate({ votes: votes[i], sum: sums[i], sumOfSquares: sumsOfSquares[i] }, prior, z);
    weighted[i] = one.weighted;
    lower[i] = one.lower;
    upper[i] = one.upper;
  }
  return { weighted, lower, upper };
}

/** 2^(−age/halfLife): a rating one half-life old counts half. No half-life means no decay. */
export function decayWeight(ageDays: number, halfLifeDays: number | null): number {
  if (halfLifeDays === null) return 1;
  return Math.pow(0.5, ageDays / halfLifeDays);
}

/** The decay-weighted sufficient statistics of a set of ratings given their ages in days. */
export function decayedAggregate(
  ratings: ArrayLike<number>,
  ageDays: ArrayLike<number>,
  halfLifeDays: number | null,
): RatingAggregate {
  if (ratings.length !== ageDays.length)
    throw new RangeError(`${ratings.length} ratings but ${ageDays.length} ages`);
  let votes = 0;
  let sum = 0;
  let sumOfSquares = 0;
  for (let i = 0; i < ratings.length; i++) {
    const weight = decayWeight(ageDays[i], halfLifeDays);
    votes += weight;
    sum += weight * ratings[i];
    sumOfSquares += weight * ratings[i] * ratings[i];
  }
  return { votes, sum, sumOfSquares };
}

/**
 * The q-quantile with linear interpolation between the closest ranks, as Postgres' percentile_cont,
 * so the default prior weight computed here and in SQL agree.
 */
export function percentile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError('percentile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${q}`);
  const sorted = Float64Array.from(values).sort();
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}
