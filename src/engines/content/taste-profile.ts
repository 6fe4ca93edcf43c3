/** A movie the user rated, with its embedding. */
export interface RatedVector {
  movieId: number;
  rating: number;
  vector: Float32Array;
}

export type TasteProfileMethod = 'centred' | 'liked-mean';

export interface TasteProfile {
  /** Unit length, in the embedding space of the active model. */
  vector: Float32Array;
  /**
   * `centred`: Σ (rating − user mean) · embedding, so movies rated below the user's own average push the
   * profile away. `liked-mean`: plain mean of the movies rated at or above the mean, used when the centred
   * weights carry no direction (every rating equal, or weights cancelling out exactly).
   */
  method: TasteProfileMethod;
  userMean: number;
  /** Rated movies that had an embedding and went into the profile. */
  ratedCount: number;
}

/** Below this, a weight or a summed vector is treated as zero: ratings are half-stars, so real weights are ≥ ~0.01. */
export const NEGLIGIBLE = 1e-6;

function normalised(sum: Float64Array): Float32Array | null {
  let squares = 0;
  for (const value of sum) squares += value * value;
  const norm = Math.sqrt(squares);
  if (!(norm > NEGLIGIBLE)) return null;
  const unit = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) unit[i] = sum[i] / norm;
  return unit;
}

function weightedSum(rated: readonly RatedVector[], weightOf: (movie: RatedVector) => number): Float64Array {
  const sum = new Float64Array(rated[0].vector.length);
  for (const movie of rated) {
    const weight = weightOf(movie);
    if (weight === 0) continue;
    if (movie.vector.length !== sum.length)
      throw new Error(
        `movie ${movie.movieId} has a ${movie.vector.length}-d embedding, expected ${sum.length}`,
      );
    for (let i = 0; i < sum.length; i++) sum[i] += weight * movie.vector[i];
  }
  return sum;
}

/**
 * The user's taste as one direction in embedding space, as the engine serves it (from the movie
 * vectors it keeps in memory). EmbeddingStore.tasteProfileInSql computes the same in SQL and is tested
 * against this. `userMean` is the mean of all the user's ratings (not only of the embedded movies), so
 * the centring matches what the user sees as their own average. Returns null when nothing the user
 * rated has an embedding.
 */
export function computeTasteProfile(rated: readonly RatedVector[], userMean: number): TasteProfile | null {
  if (rated.length === 0) return null;
  const centred = normalised(
    weightedSum(rated, (movie) =>
      Math.abs(movie.rating - userMean) > NEGLIGIBLE ? movie.rating - userMean : 0,
    ),
  );
  if (centred) return { vector: centred, method: 'centred', userMean, ratedCount: rated.length };
  const liked = rated.filter((movie) => movie.rating >= userMean - NEGLIGIBLE);
  const mean = normalised(weightedSum(liked.length > 0 ? liked : rated, () => 1));
  if (!mean) return null;
  return { vector: mean, method: 'liked-mean', userMean, ratedCount: rated.length };
}
