/**
 * Offline evaluation metrics. Rating metrics compare clipped predictions with held-out ratings;
 * ranking metrics follow the "all unrated items" protocol: for every user with at least one relevant
 * test item, every catalog item the user did not rate in train is ranked, and the relevant items are
 * the user's test items rated at or above the relevance threshold.
 */

export const RELEVANCE_THRESHOLD = 4.0;
export const CUTOFF = 10;

export function rmse(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkLengths(predicted, actual);
  let sum = 0;
  for (let n = 0; n < actual.length; n++) sum += (predicted[n] - actual[n]) ** 2;
  return Math.sqrt(sum / actual.length);
}

export function mae(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkLengths(predicted, actual);
  let sum = 0;
  for (let n = 0; n < actual.length; n++) sum += Math.abs(predicted[n] - actual[n]);
  return sum / actual.length;
}

function checkLengths(predicted: ArrayLike<number>, actual: ArrayLike<number>): void {
  if (predicted.length !== actual.length) throw new Error('predicted and actual differ in length');
  if (actual.length === 0) throw new Error('no ratings to compare');
}

/** Discount of a hit at 1-based rank r: 1 / log2(r + 1). */
function discount(rank: number): number {
  return 1 / Math.log2(rank + 1);
}

/** Binary-gain NDCG@k; the ideal list puts min(|relevant|, k) relevant items on top. */
export function ndcgAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k = CUTOFF): number {
  if (relevant.size === 0) return 0;
  let dcg = 0;
  const depth = Math.min(k, ranked.length);
  for (let r = 0; r < depth; r++) if (relevant.has(ranked[r])) dcg += discount(r + 1);
  let ideal = 0;
  for (let r = 0; r < Math.min(relevant.size, k); r++) ideal += discount(r + 1);
  return dcg / ideal;
}

export function hitsAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k = CUTOFF): number {
  let hits = 0;
  const depth = Math.min(k, ranked.length);
  for (let r = 0; r < depth; r++) if (relevant.has(ranked[r])) hits++;
  return hits;
}

/** hits / |relevant| (not capped at k, as in the usual all-items protocol). */
export function recallAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k = CUTOFF): number {
  return relevant.size === 0 ? 0 : hitsAtK(ranked, relevant, k) / relevant.size;
}

/** hits / k, even when fewer than k items could be ranked. */
export function precisionAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k = CUTOFF): number {
  return hitsAtK(ranked, relevant, k) / k;
}

export function hitRateAtK(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k = CUTOFF): number {
  return hitsAtK(ranked, relevant, k) > 0 ? 1 : 0;
}

export interface RankingMetrics {
  readonly ndcg10: number;
  readonly recall10: number;
  readonly precision10: number;
  readonly hitRate10: number;
  /** Distinct items over all users' top-k lists, divided by the catalog size. */
  readonly coverage: number;
  readonly users: number;
  /** Each user's NDCG@k by the user given to add() (the order of adding where none was): for paired comparisons. */
  readonly ndcg10ByUser: ReadonlyMap<number, number>;
}

/** Averages ranking metrics over users, one top-k list at a time. */
export class RankingAccumulator {
  private users = 0;
  private ndcg = 0;
  private recall = 0;
  private precision = 0;
  private hitRate = 0;
  private readonly recommended = new Set<number>();
  private readonly ndcgByUser = new Map<number, number>();

  constructor(
    private readonly catalogSize: number,
    private readonly k = CUTOFF,
  ) {}

  add(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, user = this.users): void {
    if (relevant.size === 0) return;
    if (this.ndcgByUser.has(user)) throw new Error(`user ${user} was already added`);
    this.users++;
    const ndcg = ndcgAtK(ranked, relevant, this.k);
    this.ndcgByUser.set(user, ndcg);
    this.ndcg += ndcg;
    this.recall += recallAtK(ranked, relevant, this.k);
    this.precision += precisionAtK(ranked, relevant, this.k);
    this.hitRate += hitRateAtK(ranked, relevant, this.k);
    for (let r = 0; r < Math.min(this.k, ranked.length); r++) this.recommended.add(ranked[r]);
  }

  result(): RankingMetrics {
    const perUser = (sum: number) => (this.users === 0 ? 0 : sum / this.users);
    return {
      ndcg10: perUser(this.ndcg),
      recall10: perUser(this.recall),
      precision10: perUser(this.precision),
      hitRate10: perUser(this.hitRate),
      coverage: this.catalogSize === 0 ? 0 : this.recommended.size / this.catalogSize,
      users: this.users,
      ndcg10ByUser: new Map(this.ndcgByUser),
    };
  }
}
