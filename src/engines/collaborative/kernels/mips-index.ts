/**
 * Approximate maximum inner product search (MIPS) over item factors: an inverted-file (IVF) index.
 *
 * Items are partitioned by k-means after the MIPS → nearest-neighbour transform of Bachrach et al.
 * (2014): with every item scaled by the largest norm M, x' = [x/M, √(1 − |x/M|²)] has unit norm, and
 * for a query q' = [q̂, 0] the distance |q' − x'|² = 2 − 2 q̂·x/M, so the nearest items are exactly the
 * items of largest inner product. A query ranks the lists by the distance of its q' to their centroids,
 * scans the closest lists (scoring their items exactly, w·h_i as the exact path does) until it has
 * seen a calibrated number of eligible items, and keeps the best by a heap.
 *
 * The scan budget is calibrated when the index is built: synthetic user vectors (sums of item
 * vectors, drawn by norm, as PureSVD's r_u·V and iALS's A⁻¹Σc_j·h_j are) are answered exactly, and
 * the budget is the smallest number of scanned items at which their mean recall@`calibrationN`
 * reaches `targetRecall`. So the recall target holds whatever the factors' shape.
 *
 * The build is a generator of small steps so that a server can run it between requests (one slice
 * at a time) and a benchmark or test can run it at once.
 */
import { itemScore } from './linalg';
import { Mulberry32 } from './prng';
import { topK } from './top-k';

export interface MipsIndexOptions {
  /** Number of lists (k-means centroids); default 2·√items. */
  lists?: number;
  /** Lloyd iterations of k-means; default 4 (8 scanned 4% fewer movies at 62K for twice the build). */
  iterations?: number;
  /**
   * Points k-means is fitted on (all items are then assigned); default every item up to 131,072.
   * Fitting on a sample of 24 per list doubled what a query must scan for the same recall at 62K.
   */
  sample?: number;
  seed?: number;
  /** Mean recall the scan budget is calibrated to, at `calibrationN`. */
  targetRecall?: number;
  /** The list length recall is calibrated for (the orchestrator's candidate pool). */
  calibrationN?: number;
  /** Synthetic queries answered exactly for the calibration. */
  calibrationQueries?: number;
}

export interface MipsIndex {
  readonly rank: number;
  readonly numItems: number;
  readonly numLists: number;
  /** numLists × rank: centroids' first `rank` coordinates, scaled back to the items' units (÷ M undone). */
  readonly centroids: Float32Array;
  /** |c'|² of each centroid in the transformed space, for the probe order. */
  readonly centroidNormSq: Float32Array;
  /** The list of list l is items listStart[l] … listStart[l+1] − 1 of `order`. */
  readonly listStart: Int32Array;
  /** Item indices (of the model) grouped by list. */
  readonly order: Int32Array;
  /** Item factors in `order`, so a list is scanned contiguously. */
  readonly vectors: Float32Array;
  /** M, the largest item norm. */
  readonly maxNorm: number;
  /** Eligible items a query scans, at least, for `calibrationN` results (grows with the list asked for). */
  readonly scanBudget: number;
  readonly calibrationN: number;
  /** The mean recall@calibrationN measured on the calibration queries with that budget. */
  readonly calibratedRecall: number;
  /** Bytes the index holds (vectors, item order, centroids). */
  readonly bytes: number;
}

/** Items with an all-zero row (unrated at training time) are left out: they are never ranked. */
function indexedItems(factors: Float32Array, rank: number): Int32Array {
  const numItems = factors.length / rank;
  const kept: number[] = [];
  for (let item = 0; item < numItems; item++) {
    for (let f = item * rank; f < (item + 1) * rank; f++)
      if (factors[f] !== 0) {
        kept.push(item);
        break;
      }
  }
  return Int32Array.from(kept);
}

/**
 * Multiply-adds between the points where a build may yield: about a millisecond, so a server
 * building in slices answers requests between them.
 */
const STEP_WORK = 1 << 20;

/**
 * The build as a sequence of steps (each a few milliseconds at 62K items and rank 50): drive it
 * with `buildMipsIndexNow` or `buildMipsIndexSliced`.
 */
export function* mipsIndexBuild(
  factors: Float32Array,
  rank: number,
  options: MipsIndexOptions = {},
): Generator<void, MipsIndex, void> {
  const items = indexedItems(factors, rank);
  const n = items.length;
  const dims = rank + 1;
  const random = new Mulberry32(options.seed ?? 1);
  const numLists = Math.max(1, Math.min(n, options.lists ?? Math.round(2 * Math.sqrt(n))));
  const iterations = options.iterations ?? 4;
  const calibrationN = options.calibrationN ?? 100;
  const targetRecall = options.targetRecall ?? 0.97;

  // The transformed points x' (n × dims), and each item's norm.
  let maxNormSq = 0;
  const normSq = new Float64Array(n);
  for (let p = 0; p < n; p++) {
    let s = 0;
    const offset = items[p] * rank;
    for (let f = 0; f < rank; f++) s += factors[offset + f] * factors[offset + f];
    normSq[p] = s;
    if (s > maxNormSq) maxNormSq = s;
  }
  const maxNorm = Math.sqrt(maxNormSq) || 1;
  const points = new Float32Array(n * dims);
  for (let p = 0; p < n; p++) {
    const offset = items[p] * rank;
    for (let f = 0; f < rank; f++) points[p * dims + f] = factors[offset + f] / maxNorm;
    points[p * dims + rank] = Math.sqrt(Math.max(0, 1 - normSq[p] / maxNormSq));
  }
  yield;

  // k-means (Lloyd) on a sample, seeded from distinct random points.
  const sampleSize = Math.min(n, Math.max(numLists, options.sample ?? 131_072));
  const sample = new Int32Array(sampleSize);
  {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < sampleSize; i++) {
      const j = i + Math.floor(random.nextFloat() * (n - i));
      const held = all[i];
      all[i] = all[j];
      all[j] = held;
      sample[i] = all[i];
    }
  }
  const centroids = new Float64Array(numLists * dims);
  for (let c = 0; c < numLists; c++)
    for (let d = 0; d < dims; d++) centroids[c * dims + d] = points[sample[c] * dims + d];
  const centroidNorms = new Float64Array(numLists);
  const computeNorms = () => {
    for (let c = 0; c < numLists; c++) {
      let s = 0;
      for (let d = 0; d < dims; d++) s += centroids[c * dims + d] * centroids[c * dims + d];
      centroidNorms[c] = s;
    }
  };
  // argmin_c |x − c|² = argmax_c (2 x·c − |c|²)
  const nearest = (p: number): number => {
    let best = 0;
    let bestScore = -Infinity;
    const po = p * dims;
    for (let c = 0, co = 0; c < numLists; c++, co += dims) {
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += points[po + d] * centroids[co + d];
      const score = 2 * dot - centroidNorms[c];
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    return best;
  };
  // Points assigned per step: each costs numLists × dims multiply-adds.
  const stepPoints = Math.max(1, Math.floor(STEP_WORK / (numLists * dims)));
  const sums = new Float64Array(numLists * dims);
  const counts = new Int32Array(numLists);
  for (let iteration = 0; iteration < iterations; iteration++) {
    computeNorms();
    sums.fill(0);
    counts.fill(0);
    for (let s = 0; s < sampleSize; s++) {
      const p = sample[s];
      const c = nearest(p);
      counts[c]++;
      for (let d = 0; d < dims; d++) sums[c * dims + d] += points[p * dims + d];
      if (s % stepPoints === stepPoints - 1) yield;
    }
    for (let c = 0; c < numLists; c++) {
      if (counts[c] === 0) {
        // An empty list takes a random sample point: no list is wasted.
        const p = sample[Math.floor(random.nextFloat() * sampleSize)];
        for (let d = 0; d < dims; d++) centroids[c * dims + d] = points[p * dims + d];
      } else for (let d = 0; d < dims; d++) centroids[c * dims + d] = sums[c * dims + d] / counts[c];
    }
    yield;
  }
  computeNorms();

  // Every item into its list; lists laid out contiguously.
  const assignment = new Int32Array(n);
  const sizes = new Int32Array(numLists);
  for (let p = 0; p < n; p++) {
    assignment[p] = nearest(p);
    sizes[assignment[p]]++;
    if (p % stepPoints === stepPoints - 1) yield;
  }
  const listStart = new Int32Array(numLists + 1);
  for (let c = 0; c < numLists; c++) listStart[c + 1] = listStart[c] + sizes[c];
  const fill = listStart.slice(0, numLists);
  const order = new Int32Array(n);
  const vectors = new Float32Array(n * rank);
  for (let p = 0; p < n; p++) {
    const at = fill[assignment[p]]++;
    order[at] = items[p];
    vectors.set(factors.subarray(items[p] * rank, (items[p] + 1) * rank), at * rank);
  }
  const outCentroids = new Float32Array(numLists * rank);
  for (let c = 0; c < numLists; c++)
    for (let f = 0; f < rank; f++) outCentroids[c * rank + f] = centroids[c * dims + f] * maxNorm;
  yield;

  const partial = {
    rank,
    numItems: n,
    numLists,
    centroids: outCentroids,
    centroidNormSq: Float32Array.from(centroidNorms),
    listStart,
    order,
    vectors,
    maxNorm,
    calibrationN,
  };

  // Calibration: where, in each query's probe order, its exact top-N items are met.
  const queries = options.calibrationQueries ?? 64;
  const drawItem = normSampler(normSq, random);
  const metAt: number[] = [];
  const query = new Float64Array(rank);
  const scores = new Float32Array(n);
  const positionOf = new Int32Array(factors.length / rank).fill(-1);
  for (let p = 0; p < n; p++) positionOf[order[p]] = p;
  const listOfPosition = new Int32Array(n);
  for (let c = 0; c < numLists; c++) listOfPosition.fill(c, listStart[c], listStart[c + 1]);
  const wanted = Math.min(calibrationN, n);
  for (let q = 0; q < queries; q++) {
    query.fill(0);
    const size = 10 + Math.floor(random.nextFloat() * 90);
    for (let r = 0; r < size; r++) {
      const offset = items[drawItem()] * rank;
      const weight = 0.5 + random.nextFloat();
      for (let f = 0; f < rank; f++) query[f] += weight * factors[offset + f];
    }
    for (let p = 0; p < n; p++) scores[p] = itemScore(query, vectors, p * rank, rank);
    const probeOrder = probeListsOf(partial, query);
    const scannedBefore = new Int32Array(numLists);
    for (let k = 0, total = 0; k < numLists; k++) {
      scannedBefore[probeOrder[k]] = total;
      total += listStart[probeOrder[k] + 1] - listStart[probeOrder[k]];
    }
    for (const p of topK(scores, wanted)) metAt.push(scannedBefore[listOfPosition[p]]);
    yield;
  }
  metAt.sort((a, b) => a - b);
  // Found when the scan starts its list before the budget is spent: recall(B) = share of metAt < B.
  const needed = Math.max(1, Math.ceil(targetRecall * metAt.length));
  const scanBudget = Math.min(n, (metAt[needed - 1] ?? 0) + 1);
  let found = 0;
  for (const at of metAt) if (at < scanBudget) found++;
  return {
    ...partial,
    scanBudget,
    calibratedRecall: metAt.length ? found / metAt.length : 1,
    bytes:
      vectors.byteLength + order.byteLength + outCentroids.byteLength + listStart.byteLength + numLists * 4,
  };
}

/** Draws item positions with probability proportional to their norm (popular items have larger factors). */
function normSampler(normSq: Float64Array, random: Mulberry32): () => number {
  const cumulative = new Float64Array(normSq.length);
  let total = 0;
  for (let p = 0; p < normSq.length; p++) {
    total += Math.sqrt(normSq[p]);
    cumulative[p] = total;
  }
  return () => {
    const target = random.nextFloat() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid] < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

/** Lists in the order a query visits them: nearest centroid (in the transformed space) first. */
function probeListsOf(
  index: Pick<MipsIndex, 'numLists' | 'rank' | 'centroids' | 'centroidNormSq' | 'maxNorm'>,
  userVector: ArrayLike<number>,
): Int32Array {
  const { numLists, rank, centroids, centroidNormSq, maxNorm } = index;
  let norm = 0;
  for (let f = 0; f < rank; f++) norm += userVector[f] * userVector[f];
  // q̂·c' = q·(c·M)/(|q|·M); ranking by 2 q̂·c' − |c'|² is ranking by distance to q' = [q̂, 0].
  const scale = norm > 0 ? 2 / (Math.sqrt(norm) * maxNorm) : 0;
  const probe = new Float64Array(numLists);
  for (let c = 0; c < numLists; c++)
    probe[c] = scale * itemScore(userVector, centroids, c * rank, rank) - centroidNormSq[c];
  const order = Int32Array.from({ length: numLists }, (_, i) => i);
  order.sort((a, b) => probe[b] - probe[a] || a - b);
  return order;
}

/** Runs a build to the end at once. */
export function buildMipsIndexNow(
  factors: Float32Array,
  rank: number,
  options?: MipsIndexOptions,
): MipsIndex {
  const build = mipsIndexBuild(factors, rank, options);
  for (;;) {
    const step = build.next();
    if (step.done) return step.value;
  }
}

/**
 * Runs a build in slices of about `sliceMs` of CPU, yielding to the event loop between them, so a
 * server keeps answering requests while it builds. `abandoned()` stops it early (null).
 */
export async function buildMipsIndexSliced(
  factors: Float32Array,
  rank: number,
  options: MipsIndexOptions = {},
  sliceMs = 8,
  abandoned: () => boolean = () => false,
): Promise<MipsIndex | null> {
  const build = mipsIndexBuild(factors, rank, options);
  for (;;) {
    const sliceEnd = performance.now() + sliceMs;
    for (;;) {
      const step = build.next();
      if (step.done) return step.value;
      if (performance.now() >= sliceEnd) break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    if (abandoned()) return null;
  }
}

/**
 * The `k` items of largest w·h_i among those `eligible` accepts, best first (ties to the lower
 * item index, as `topK`), scanning lists nearest first until at least the calibrated budget of
 * eligible items (scaled up when more than `calibrationN` results are asked for) has been scored.
 * Returns item indices of the model and their scores.
 */
export function searchMipsIndex(
  index: MipsIndex,
  userVector: ArrayLike<number>,
  k: number,
  eligible: (item: number) => boolean = () => true,
): { items: Int32Array; scores: Float32Array; scanned: number } {
  const { rank, listStart, order, vectors, numLists } = index;
  const budget = Math.ceil(index.scanBudget * Math.max(1, k / index.calibrationN));
  const probes = probeListsOf(index, userVector);
  const heapItems = new Int32Array(Math.max(0, k));
  const heapScores = new Float32Array(Math.max(0, k));
  let size = 0;
  // "a ranks below b": lower score, or equal score and higher item index.
  const below = (sa: number, ia: number, sb: number, ib: number) => sa < sb || (sa === sb && ia > ib);
  let scanned = 0;
  for (let probe = 0; probe < numLists && scanned < budget; probe++) {
    const list = probes[probe];
    for (let at = listStart[list]; at < listStart[list + 1]; at++) {
      const item = order[at];
      if (!eligible(item)) continue;
      scanned++;
      if (k === 0) continue;
      const score = itemScore(userVector, vectors, at * rank, rank);
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
  }
  const ranked = Array.from({ length: size }, (_, i) => i).sort((a, b) =>
    below(heapScores[a], heapItems[a], heapScores[b], heapItems[b]) ? 1 : -1,
  );
  return {
    items: Int32Array.from(ranked, (i) => heapItems[i]),
    scores: Float32Array.from(ranked, (i) => heapScores[i]),
    scanned,
  };
}
