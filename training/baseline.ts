import type { RatingTriples } from '../src/engines/collaborative/kernels/sgd';
import { meanRating } from './dataset';

export interface BaselineOptions {
  readonly regUser: number;
  readonly regItem: number;
  readonly epochs: number;
}

/** Surprise's BaselineOnly defaults (ALS, reg_u 15, reg_i 10, 10 epochs). */
export const DEFAULT_BASELINE_OPTIONS: BaselineOptions = { regUser: 15, regItem: 10, epochs: 10 };

export interface BaselineModel {
  readonly mu: number;
  readonly userBias: Float64Array;
  readonly itemBias: Float64Array;
}

/**
 * Regularised baseline r̂ = μ + b_u + b_i by alternating least squares (Koren 2010, §2.1): each step
 * solves the user biases exactly given the item biases and vice versa. Users and items without
 * ratings keep a zero bias, which is the fallback for unknown ids.
 */
export function fitBaseline(
  triples: RatingTriples,
  numUsers: number,
  numItems: number,
  options: BaselineOptions = DEFAULT_BASELINE_OPTIONS,
): BaselineModel {
  const { users, items, ratings } = triples;
  const mu = meanRating(triples);
  const userBias = new Float64Array(numUsers);
  const itemBias = new Float64Array(numItems);
  const userSums = new Float64Array(numUsers);
  const itemSums = new Float64Array(numItems);
  const userCounts = new Float64Array(numUsers);
  const itemCounts = new Float64Array(numItems);
  for (let n = 0; n < ratings.length; n++) {
    userCounts[users[n]]++;
    itemCounts[items[n]]++;
  }
  // Items first, then users, in each epoch, as Surprise's baseline_als does.
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    itemSums.fill(0);
    for (let n = 0; n < ratings.length; n++) itemSums[items[n]] += ratings[n] - mu - userBias[users[n]];
    for (let i = 0; i < numItems; i++) itemBias[i] = itemSums[i] / (options.regItem + itemCounts[i]);
    userSums.fill(0);
    for (let n = 0; n < ratings.length; n++) userSums[users[n]] += ratings[n] - mu - itemBias[items[n]];
    for (let u = 0; u < numUsers; u++) userBias[u] = userSums[u] / (options.regUser + userCounts[u]);
  }
  return { mu, userBias, itemBias };
}
