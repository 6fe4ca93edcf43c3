/**
 * Maximum inner product search (MIPS) over item factors, exact, pruned by the items' norms.
 *
 * Items are held in descending order of their factor norm. By Cauchy–Schwarz w·h_i ≤ |w|·|h_i|, so
 * once `k` eligible items are held and |w|·|h_i| is below the k-th best score, no item from there
 * on can enter the list and the scan stops. Before that, an item is skipped without its dot product
 * when a second bound rules it out: split along the unit direction a of the items' mean row (where
 * popularity points), w·h ≤ (w·a)(h·a) + |w⊥|·|h⊥|. Every item scanned is scored exactly (w·h_i, as
 * the full pass does), so the answer is the full pass's top k, ties to the lower item index included.
 *
 * Why norms rather than the inverted-file index (k-means over the MIPS transform) this replaced:
 * popularity gives PureSVD's and iALS's item factors heavy-tailed norms, and a user's best items
 * are mostly among the large ones. On the 25M synthetic release's PureSVD model (rank 50, 59,047
 * movies with factors, 300 users read from the database; `scripts/bench-ann.ts --database`, CPU time,
 * load average 3.2–3.8), the IVF had to score 28,595 movies per query for a calibrated recall@100 of
 * 0.97 (2.3 ms); the norm order scores a mean 6,037 for the top 100 (p50 2,281, p90 16,763, p99
 * 50,790), 0.5–0.8 ms (0.34–0.35 ms since the rows are scored in SIMD, wasm-factor-dots.ts), with recall 1 (the second bound: 8,222 scored without it, ~12% more CPU). It
 * is not better everywhere: on the planted catalogs of `fixtures/mips-catalog.ts` (flatter norms)
 * it scores a quarter of 62K movies (2.0 ms) where the IVF scored 3,550 (0.65 ms). Its worst case is
 * the full pass (a user whose best scores are small against the norms, or a filter few movies
 * pass), and its build is a sort (~0.1–0.2 s at 62K), not 15–20 s of k-means in the server.
 */
import { createFactorRowScorer, type FactorRowScorer } from './wasm-factor-dots';

export interface MipsIndex {
  readonly rank: number;
  /** Items indexed: those with a non-zero factor row. */
  readonly numItems: number;
  /** Item indices (of the model) by descending norm. */
  readonly order: Int32Array;
  /** |h_i| in `order`. */
  readonly norms: Float64Array;
  /** Item factors in `order`, so the scan reads them contiguously (the scorer's rows). */
  readonly vectors: Float32Array;
  /** Scores SCAN_BLOCK consecutive rows of `vectors` per call, as itemScore does. */
  readonly scorer: FactorRowScorer;
  /** The unit direction of the items' mean row: where popularity points. */
  readonly axis: Float64Array;
  /** h_i·axis in `order`. */
  readonly along: Float64Array;
  /** |h_i − (h_i·axis)·axis| in `order`. */
  readonly across: Float64Array;
  /** Bytes the index holds. */
  readonly bytes: number;
}

/**
 * Relative slack on the bound: a score and the product of the two norms are rounded differently
 * (each off by ~rank·2⁻⁵³ relative), so the stop waits until the bound is clearly below.
 */
const BOUND_SLACK = 1e-9;

/**
 * Rows scored per kernel call, ahead of the bounds: the rows the bounds would skip in a block are
 * scored anyway (in SIMD that costs less than the call per row it saves), and at most a block
 * past the stop.
 */
const SCAN_BLOCK = 64;

/** Items with an all-zero row (unrated at training time) are left out: they are never ranked. */
export function buildMipsIndex(factors: Float32Array, rank: number): MipsIndex {
  if (!Number.isInteger(rank) || rank < 1 || factors.length % rank !== 0)
    throw new RangeError(`factors of length ${factors.length} are not rows of rank ${rank}`);
  const total = factors.length / rank;
  const normOf = new Float64Array(total);
  const kept: number[] = [];
  for (let item = 0; item < total; item++) {
    let sum = 0;
    for (let f = item * rank; f < (item + 1) * rank; f++) sum += factors[f] * factors[f];
    normOf[item] = Math.sqrt(sum);
    if (sum > 0) kept.push(item);
  }
  const order = Int32Array.from(kept).sort((a, b) => normOf[b] - normOf[a] || a - b);
  const numItems = order.length;
  const axis = new Float64Array(rank);
  for (const item of order) for (let f = 0; f < rank; f++) axis[f] += factors[item * rank + f];
  const axisNorm = Math.hypot(...axis);
  for (let f = 0; f < rank; f++) axis[f] = axisNorm > 0 ? axis[f] / axisNorm : f === 0 ? 1 : 0;
  const norms = new Float64Array(numItems);
  const along = new Float64Array(numItems);
  const across = new Float64Array(numItems);
  const scorer = createFactorRowScorer(numItems, rank, SCAN_BLOCK);
  const vectors = scorer.rows;
  order.forEach((item, at) => {
    const row = factors.subarray(item * rank, (item + 1) * rank);
    norms[at] = normOf[item];
    for (let f = 0; f < rank; f++) along[at] += row[f] * axis[f];
    across[at] = Math.sqrt(Math.max(0, norms[at] * norms[at] - along[at] * along[at]));
    vectors.set(row, at * rank);
  });
  return {
    rank,
    numItems,
    order,
    norms,
    vectors,
    scorer,
    axis,
    along,
    across,
    bytes: order.byteLength + norms.byteLength + vectors.byteLength + along.byteLength + across.byteLength,
  };
}

/**
 * The `k` items of largest w·h_i among those `eligible` accepts, best first (ties to the lower item
 * index, as `topK` over the full pass's float32 scores), scanning by descending norm until no item
 * left can enter. Returns item indices of the model, their scores, and how many items were scored.
 */
export function searchMipsIndex(
  index: MipsIndex,
  userVector: ArrayLike<number>,
  k: number,
  eligible: (item: number) => boolean = () => true,
): { items: Int32Array; scores: Float32Array; scanned: number } {
  const { rank, order, norms, numItems, axis, along, across } = index;
  const heapItems = new Int32Array(Math.max(0, k));
  const heapScores = new Float32Array(Math.max(0, k));
  let size = 0;
  let scanned = 0;
  let normSq = 0;
  let userAlong = 0;
  for (let f = 0; f < rank; f++) {
    normSq += userVector[f] * userVector[f];
    userAlong += userVector[f] * axis[f];
  }
  const userNorm = Math.sqrt(normSq);
  const userAcross = Math.sqrt(Math.max(0, normSq - userAlong * userAlong));
  // "a ranks below b": lower score, or equal score and higher item index. The heap's root is its lowest.
  const below = (sa: number, ia: number, sb: number, ib: number) => sa < sb || (sa === sb && ia > ib);
  const { scorer } = index;
  scorer.setUser(userVector);
  let scores = scorer.score(0, 0);
  let blockStart = 0;
  for (let at = 0; at < numItems && k > 0; at++) {
    if (size === k) {
      const slack = BOUND_SLACK * userNorm * norms[at];
      // No item from here on can score above the lowest held one (float32 rounding is monotonic).
      if (Math.fround(userNorm * norms[at] + slack) < heapScores[0]) break;
      // Nor can this one: w·h ≤ (w·a)(h·a) + |w − (w·a)a|·|h − (h·a)a| for the unit axis a.
      if (Math.fround(userAlong * along[at] + userAcross * across[at] + slack) < heapScores[0]) continue;
    }
    const item = order[at];
    if (!eligible(item)) continue;
    scanned++;
    if (at >= blockStart + scores.length) {
      blockStart = at;
      scores = scorer.score(at, Math.min(SCAN_BLOCK, numItems - at));
    }
    const score = scores[at - blockStart];
    if (size < k) {
      let child = size++;
      while (child > 0) {
        const parent = (child - 1) >> 1;
        if (!below(score, item, heapScores[parent], heapItems[parent])) break;
        heapItems[child] = heapItems[parent];
        heapScores[child] = heapScores[parent];
        child = parent;
      }
      heapItems[child] = item;
      heapScores[child] = score;
    } else if (below(heapScores[0], heapItems[0], score, item)) {
      let parent = 0;
      for (;;) {
        const left = 2 * parent + 1;
        if (left >= size) break;
        const right = left + 1;
        const lowest =
          right < size && below(heapScores[right], heapItems[right], heapScores[left], heapItems[left])
            ? right
            : left;
        if (!below(heapScores[lowest], heapItems[lowest], score, item)) break;
        heapItems[parent] = heapItems[lowest];
        heapScores[parent] = heapScores[lowest];
        parent = lowest;
      }
      heapItems[parent] = item;
      heapScores[parent] = score;
    }
  }
  const ranked = Array.from({ length: size }, (_, i) => i).sort((a, b) =>
    below(heapScores[a], heapItems[a], heapScores[b], heapItems[b]) ? 1 : -1,
  );
  const items = new Int32Array(size);
  const itemScores = new Float32Array(size);
  for (let k = 0; k < size; k++) {
    items[k] = heapItems[ranked[k]];
    itemScores[k] = heapScores[ranked[k]];
  }
  return { items, scores: itemScores, scanned };
}
