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

/** Per-position sums and marks tableVotes reuses between calls (one thread at a time). */
export class CandidateScratch {
  readonly sums: Float64Array;
  readonly seen: Uint8Array;

  constructor(size: number) {
    this.sums = new Float64Array(size);
    this.seen = new Uint8Array(size);
  }
}

/**
 * A user's vote through the table: every movie it reaches, by position (ascending), with Σ over
 * the rated movies j whose `perMovie` nearest include it of max(0, s)^exponent · weights[j]. The
 * exact vote (neighbour-score.ts) sums the same terms over every rated movie; with exponent 16 a
 * cosine of 0.9 weighs 0.19 and one of 0.7 0.003, so a movie's vote is almost all its nearness to
 * some rated movie, which the table holds. Movies it does not reach have a vote of 0.
 */
export interface TableVotes {
  /** The table the positions are of: a user's votes are recomputed for another. */
  readonly table: ContentNeighbourTable;
  readonly positions: Int32Array;
  readonly sums: Float64Array;
}

/** The vote through the table (TableVotes). `scratch` (all clear, for table.size positions) is left all clear. */
export function tableVotes(
  table: ContentNeighbourTable,
  ratedPositions: ArrayLike<number>,
  weights: ArrayLike<number>,
  exponent: number,
  scratch: CandidateScratch = new CandidateScratch(table.size),
): TableVotes {
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
  const positions = Int32Array.from(reached).sort();
  const votes = new Float64Array(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const position = positions[i];
    votes[i] = sums[position];
    sums[position] = 0;
    seen[position] = 0;
  }
  return { table, positions, sums: votes };
}

/** The vote of the movie at `position` (0 where the vote does not reach it). */
export function tableVoteOf(votes: TableVotes, position: number): number {
  const { positions } = votes;
  let low = 0;
  let high = positions.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const at = positions[middle];
    if (at === position) return votes.sums[middle];
    if (at < position) low = middle + 1;
    else high = middle - 1;
  }
  return 0;
}

/**
 * The `limit` positions the vote reaches highest, best first (ties by position), without those
 * `excluded` (rated, or asked not to appear).
 */
export function bestByTableVote(
  votes: TableVotes,
  limit: number,
  excluded: (position: number) => boolean,
): Int32Array {
  const { positions, sums } = votes;
  const kept: number[] = [];
  for (let i = 0; i < positions.length; i++) if (!excluded(positions[i])) kept.push(i);
  // A heavy user's 300 voters reach ~3,000 movies (10 each) for a list's 150: a heap, not a sort.
  const best = firstK(kept, limit, (a, b) => sums[b] - sums[a] || positions[a] - positions[b]);
  return Int32Array.from(best, (i) => positions[i]);
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
