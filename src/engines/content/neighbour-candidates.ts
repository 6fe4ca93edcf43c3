import { firstK } from '../first-k';
import { power } from './neighbour-score';
import { searchVectorIndex, type VectorIndex } from './vector-index';

/**
 * Each movie's nearest others by content, computed once per index: `perMovie` slots per movie, in
 * order of position; a slot holds a neighbour's position (−1 where the movie has fewer) and the
 * cosine between the two.
 */
export interface ContentNeighbourTable {
  readonly size: number;
  readonly perMovie: number;
  readonly neighbours: Int32Array;
  readonly similarities: Float32Array;
}

export function emptyNeighbourTable(size: number, perMovie: number): ContentNeighbourTable {
  if (!Number.isInteger(perMovie) || perMovie < 1)
    throw new RangeError(`perMovie must be a whole number ≥ 1, got ${perMovie}`);
  return {
    size,
    perMovie,
    neighbours: new Int32Array(size * perMovie).fill(-1),
    similarities: new Float32Array(size * perMovie),
  };
}

/** Per-position sums and marks tableVoteCandidates reuses between calls (one thread at a time). */
export class CandidateScratch {
  readonly sums: Float64Array;
  readonly seen: Uint8Array;

  constructor(size: number) {
    this.sums = new Float64Array(size);
    this.seen = new Uint8Array(size);
  }
}

/**
 * The `limit` positions with the largest vote counted over the table alone: Σ over the rated
 * movies j of max(0, s)^exponent · weights[j], for each movie among j's `perMovie` neighbours. The
 * vote (neighbour-score.ts) sums the same terms over every rated movie, and with exponent 16 a
 * cosine of 0.9 weighs 0.19, of 0.7 0.003: what a movie's vote is made of is almost all its
 * nearness to some rated movie, which the table holds. The exact vote then ranks these. Movies
 * `excluded` (rated, or asked not to appear), and those no rated movie reaches, are not candidates.
 * Ties by position. `scratch` (for table.size positions, all clear) is left all clear.
 */
export function tableVoteCandidates(
  table: ContentNeighbourTable,
  ratedPositions: ArrayLike<number>,
  weights: ArrayLike<number>,
  exponent: number,
  limit: number,
  excluded: (position: number) => boolean,
  scratch: CandidateScratch = new CandidateScratch(table.size),
): Int32Array {
  const { perMovie, neighbours, similarities } = table;
  const { sums, seen } = scratch;
  if (sums.length < table.size) throw new RangeError('the scratch is smaller than the table');
  const reached: number[] = [];
  for (let j = 0; j < ratedPositions.length; j++) {
    const weight = weights[j];
    if (weight === 0) continue;
    const first = ratedPositions[j] * perMovie;
    for (let slot = first; slot < first + perMovie; slot++) {
      const position = neighbours[slot];
      if (position < 0) break;
      const s = similarities[slot];
      if (!(s > 0)) continue;
      if (seen[position] === 0) {
        seen[position] = 1;
        reached.push(position);
      }
      sums[position] += power(s, exponent) * weight;
    }
  }
  const kept: number[] = [];
  for (const position of reached) if (!excluded(position)) kept.push(position);
  // A heavy user's 300 voters reach ~3,000 movies (10 each) for a list's 150: a heap, not a sort.
  const best = firstK(kept, limit, (a, b) => sums[b] - sums[a] || a - b);
  for (const position of reached) {
    sums[position] = 0;
    seen[position] = 0;
  }
  return Int32Array.from(best);
}

/**
 * Rows `from` to `to` (exclusive) of a table over `index`: each movie's `perMovie` nearest others
 * by the index's similar-movies search (its calibrated first pass, as similarMovies answers them).
 */
export function nearestNeighbourRows(
  index: VectorIndex,
  from: number,
  to: number,
  perMovie: number,
): { neighbours: Int32Array; similarities: Float32Array } {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > index.size || from > to)
    throw new RangeError(`rows ${from} to ${to} of an index of ${index.size} movies`);
  const neighbours = new Int32Array((to - from) * perMovie).fill(-1);
  const similarities = new Float32Array((to - from) * perMovie);
  for (let p = from; p < to; p++) {
    const hits = searchVectorIndex(index, index.rows[p], perMovie, {
      kind: 'movie',
      exclude: new Set([index.ids[p]]),
      float32Similarities: true,
    });
    hits.forEach((hit, slot) => {
      neighbours[(p - from) * perMovie + slot] = index.positionOf.get(hit.movieId) ?? -1;
      similarities[(p - from) * perMovie + slot] = hit.similarity;
    });
  }
  return { neighbours, similarities };
}
