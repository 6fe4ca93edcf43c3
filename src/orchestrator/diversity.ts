/** How alike two movies are, in [0, 1]. */
export type Similarity = (a: number, b: number) => number;

/** Jaccard overlap of genre sets: cheap, explainable, and available for every movie. */
export function genreSimilarity(genresOf: ReadonlyMap<number, readonly string[]>): Similarity {
  return (a, b) => {
    const ga = genresOf.get(a) ?? [];
    const gb = genresOf.get(b) ?? [];
    if (ga.length === 0 || gb.length === 0) return 0;
    const setB = new Set(gb);
    const shared = ga.filter((g) => setB.has(g)).length;
    return shared / (ga.length + gb.length - shared);
  };
}

/**
 * Maximal Marginal Relevance: repeatedly takes the candidate maximising
 * (1 − diversity)·relevance − diversity·(max similarity to what is already chosen).
 * diversity 0 keeps the relevance order; 1 picks the most different items.
 * Relevance is expected in [0, 1] so the two terms are on one scale.
 */
export function mmrRerank<T extends { movieId: number; score: number }>(
  ranked: readonly T[],
  count: number,
  diversity: number,
  similarity: Similarity,
): T[] {
  if (diversity <= 0 || ranked.length <= 1) return ranked.slice(0, count);
  const remaining = [...ranked];
  const chosen: T[] = [];
  const maxSimilarity = new Float64Array(remaining.length);
  while (chosen.length < count && remaining.length > 0) {
    let best = 0;
    let bestValue = -Infinity;
    for (let i = 0; i < remaining.length; i++) {
      const value = (1 - diversity) * remaining[i].score - diversity * maxSimilarity[i];
      if (value > bestValue) {
        bestValue = value;
        best = i;
      }
    }
    const [picked] = remaining.splice(best, 1);
    maxSimilarity.copyWithin(best, best + 1);
    chosen.push(picked);
    for (let i = 0; i < remaining.length; i++) {
      const s = similarity(picked.movieId, remaining[i].movieId);
      if (s > maxSimilarity[i]) maxSimilarity[i] = s;
    }
  }
  return chosen;
}
