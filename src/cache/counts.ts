/** Lookups a cache answered and did not answer; read by /metrics (hit ratio per cache). */
export interface CacheCounts {
  hits: number;
  misses: number;
}

export function newCacheCounts(): CacheCounts {
  return { hits: 0, misses: 0 };
}
