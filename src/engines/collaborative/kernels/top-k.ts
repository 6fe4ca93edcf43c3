import { pushIndex, replaceRoot } from '../../index-heap';

/**
 * Indices of the `k` largest scores, best first, by a size-k min-heap (O(n log k), no full sort).
 * Entries equal to -Infinity (the caller's way of excluding items) or NaN are never selected. Ties
 * go to the lower index, so rankings are deterministic. `eligible`, when given, is asked about every
 * index that could enter the list and may refuse it.
 */
export function topK(
  scores: Float32Array | Float64Array,
  k: number,
  eligible?: (index: number) => boolean,
): Int32Array {
  const heap = new Int32Array(Math.max(0, k));
  let size = 0;
  // "a ranks below b": lower score, or equal score and higher index.
  const below = (a: number, b: number) => scores[a] < scores[b] || (scores[a] === scores[b] && a > b);
  for (let index = 0; index < scores.length; index++) {
    const score = scores[index];
    if (!(score > -Infinity)) continue;
    // Indices arrive in increasing order, so an equal score never displaces the root.
    if (size === k && !(k > 0 && score > scores[heap[0]])) continue;
    if (eligible && !eligible(index)) continue;
    if (size < k) pushIndex(heap, size++, index, below);
    else replaceRoot(heap, size, index, below);
  }
  const result = heap.slice(0, size);
  result.sort((a, b) => scores[b] - scores[a] || a - b);
  return result;
}
