/**
 * A bounded heap of indices for keeping the first k of many: its root is the index `worse` ranks
 * last among those kept, the one a better newcomer replaces. `worse(a, b)`: a goes after b. Shared
 * by the top-k of a score array (collaborative/kernels/top-k.ts) and the first k of any items under
 * an order (first-k.ts).
 */

/** Adds `index` to a heap holding `size` indices (room for one more is the caller's). */
export function pushIndex(
  heap: Int32Array,
  size: number,
  index: number,
  worse: (a: number, b: number) => boolean,
): void {
  let child = size;
  heap[child] = index;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if (!worse(heap[child], heap[parent])) return;
    const held = heap[parent];
    heap[parent] = heap[child];
    heap[child] = held;
    child = parent;
  }
}

/** Puts `index` in the root's place (the root is dropped) and restores the order. */
export function replaceRoot(
  heap: Int32Array,
  size: number,
  index: number,
  worse: (a: number, b: number) => boolean,
): void {
  heap[0] = index;
  let parent = 0;
  for (;;) {
    const left = 2 * parent + 1;
    if (left >= size) return;
    const right = left + 1;
    const last = right < size && worse(heap[right], heap[left]) ? right : left;
    if (!worse(heap[last], heap[parent])) return;
    const held = heap[parent];
    heap[parent] = heap[last];
    heap[last] = held;
    parent = last;
  }
}
