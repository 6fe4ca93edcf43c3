import { pushIndex, replaceRoot } from './index-heap';

/**
 * The `k` first of `items` under `compare`, in that order: the same as
 * `[...items].sort(compare).slice(0, k)` when `compare` is a total order (no two items compare
 * equal), without sorting them all: a size-k heap of positions, O(n log k).
 *
 * Why: a user's first list sorted every rating they had to keep a few hundred (their latest, their
 * best), and a user with thousands of ratings held the API's thread for milliseconds doing it while
 * the requests in flight beside it waited (25M, users with > 2,000 ratings: the sorts and their
 * comparators were ~9% of the thread's time, CPU profile).
 */
export function firstK<T>(items: readonly T[], k: number, compare: (a: T, b: T) => number): T[] {
  if (k <= 0) return [];
  if (items.length <= k) return [...items].sort(compare);
  const heap = new Int32Array(k);
  const after = (a: number, b: number) => compare(items[a], items[b]) > 0;
  for (let i = 0; i < k; i++) pushIndex(heap, i, i, after);
  for (let i = k; i < items.length; i++)
    if (compare(items[i], items[heap[0]]) < 0) replaceRoot(heap, k, i, after);
  const kept: T[] = [];
  for (let i = 0; i < k; i++) kept.push(items[heap[i]]);
  return kept.sort(compare);
}
