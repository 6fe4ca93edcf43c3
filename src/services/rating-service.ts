import { DataSource, EntityManager } from 'typeorm';
import { primaryReads, Reads } from '../db/read-routing';
import { transactionWithRetry } from '../db/transaction';
import { bumpRatingsVersion } from '../db/versions';
import { checkRatingValue, ServiceError } from './errors';

export interface UserRating {
  userId: number;
  movieId: number;
  rating: number;
  ratedAt: Date;
}

export interface RatingPage {
  ratings: UserRating[];
  hasNextPage: boolean;
}

/**
 * Called after a user's ratings changed and were committed (fold-in of their factors, caches), with
 * the ratings version the write made (users.ratings_version).
 */
export type RatingsChangedListener = (userId: number, version: number) => Promise<void>;

interface RatingRow {
  user_id: number;
  movie_id: number;
  rating: number;
  rated_at: Date;
}

const toRating = (r: RatingRow): UserRating => ({
  userId: r.user_id,
  movieId: r.movie_id,
  rating: r.rating,
  ratedAt: r.rated_at,
});

/**
 * Writes and reads of ratings; every write is one transaction, and listeners run after commit.
 * Reads are a user's own (Reads.ofUser): the primary while their latest write may not have replayed.
 */
export class RatingService {
  private readonly listeners: RatingsChangedListener[] = [];
  private readonly reads: Reads;

  constructor(
    private readonly db: DataSource,
    reads: Reads = primaryReads(db),
  ) {
    this.reads = reads;
  }

  onRatingsChanged(listener: RatingsChangedListener): void {
    this.listeners.push(listener);
  }

  async rate(userId: number, movieId: number, rating: number): Promise<UserRating> {
    checkRatingValue(rating);
    const { saved, version } = await transactionWithRetry(this.db, async (tx) => {
      await this.assertMoviesExist(tx, [movieId]);
      const version = await bumpRatingsVersion(tx, userId);
      const [row]: RatingRow[] = await tx.query(
        `INSERT INTO ratings (user_id, movie_id, rating, rated_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
         RETURNING user_id, movie_id, rating, rated_at`,
        [userId, movieId, rating],
      );
      return { saved: toRating(row), version };
    });
    await this.notify(userId, version);
    return saved;
  }

  /** Returns whether there was a rating to remove. */
  async remove(userId: number, movieId: number): Promise<boolean> {
    const { removed, version } = await transactionWithRetry(this.db, async (tx) => {
      await this.assertMoviesExist(tx, [movieId]);
      // First, like every write of ratings (lock order: the user's row, then movies); a removal of
      // nothing still makes a version, which costs other instances one recomputation of this user.
      const version = await bumpRatingsVersion(tx, userId);
      // A CTE so the statement returns rows: TypeORM reshapes a bare DELETE's result into [rows, count].
      const [{ removed }]: { removed: number }[] = await tx.query(
        `WITH gone AS (DELETE FROM ratings WHERE user_id = $1 AND movie_id = $2 RETURNING 1)
         SELECT count(*)::int AS removed FROM gone`,
        [userId, movieId],
      );
      return { removed: removed > 0, version };
    });
    if (removed) await this.notify(userId, version);
    return removed;
  }

  /**
   * Inserts a new user's first ratings inside the caller's transaction (onboarding); returns their
   * ratings version, for notify() after the commit.
   */
  async insertInitial(
    tx: EntityManager,
    userId: number,
    ratings: readonly { movieId: number; rating: number }[],
  ): Promise<number> {
    const seen = new Set<number>();
    for (const r of ratings) {
      checkRatingValue(r.rating);
      if (seen.has(r.movieId)) throw new ServiceError('BAD_USER_INPUT', `movie ${r.movieId} is rated twice`);
      seen.add(r.movieId);
    }
    await this.assertMoviesExist(tx, [...seen]);
    // Even with no ratings: another instance may hold the id's empty history from before it existed.
    const version = await bumpRatingsVersion(tx, userId);
    if (ratings.length === 0) return version;
    // In movie id order, like every write of ratings: the statistics trigger then locks the movies'
    // rows in one global order, so concurrent onboards over the same movies cannot deadlock.
    const sorted = [...ratings].sort((a, b) => a.movieId - b.movieId);
    await tx.query(
      `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
       SELECT $1, movie_id, rating, now() FROM unnest($2::int[], $3::real[]) AS r(movie_id, rating)`,
      [userId, sorted.map((r) => r.movieId), sorted.map((r) => r.rating)],
    );
    return version;
  }

  /** Runs the listeners; call after the commit that gave the user's ratings `version`. */
  async notify(userId: number, version: number): Promise<void> {
    for (const listener of this.listeners) await listener(userId, version);
  }

  /** movieId → rating, for the orchestrator and engines. */
  async ratingsOf(userId: number): Promise<Map<number, number>> {
    const rows: { movie_id: number; rating: number }[] = await this.reads.ofUser(userId, (db) =>
      db.query(`SELECT movie_id, rating FROM ratings WHERE user_id = $1`, [userId]),
    );
    return new Map(rows.map((r) => [r.movie_id, r.rating]));
  }

  async countsByUser(userIds: readonly number[]): Promise<Map<number, number>> {
    const rows: { user_id: number; count: string }[] = await this.reads.ofUser(userIds, (db) =>
      db.query(
        `SELECT user_id, count(*) AS count FROM ratings WHERE user_id = ANY($1::int[]) GROUP BY user_id`,
        [userIds],
      ),
    );
    return new Map(rows.map((r) => [r.user_id, Number(r.count)]));
  }

  /** Newest first; the cursor is the last row's (rated_at, movie_id). */
  async page(
    userId: number,
    first: number,
    after: { ratedAt: Date; movieId: number } | null,
  ): Promise<RatingPage> {
    const params: unknown[] = [userId, first + 1];
    let keyset = '';
    if (after) {
      params.push(after.ratedAt, after.movieId);
      keyset = `AND (rated_at, movie_id) < ($3::timestamptz, $4::int)`;
    }
    const rows: RatingRow[] = await this.reads.ofUser(userId, (db) =>
      db.query(
        `SELECT user_id, movie_id, rating, rated_at FROM ratings WHERE user_id = $1 ${keyset}
         ORDER BY rated_at DESC, movie_id DESC LIMIT $2`,
        params,
      ),
    );
    return { ratings: rows.slice(0, first).map(toRating), hasNextPage: rows.length > first };
  }

  private async assertMoviesExist(tx: EntityManager, movieIds: readonly number[]): Promise<void> {
    if (movieIds.length === 0) return;
    const rows: { id: number }[] = await tx.query(`SELECT id FROM movies WHERE id = ANY($1::int[])`, [
      movieIds,
    ]);
    const found = new Set(rows.map((r) => r.id));
    const missing = movieIds.filter((id) => !found.has(id));
    if (missing.length)
      throw new ServiceError(
        'NOT_FOUND',
        `unknown movie id${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      );
  }
}
