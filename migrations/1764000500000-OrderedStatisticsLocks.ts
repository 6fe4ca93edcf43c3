import { MigrationInterface, QueryRunner } from 'typeorm';

/** As in StatisticalAggregates: drop movies with no votes left, and recompute a possibly removed maximum. */
function settleAfterRemoving(removedRatings: string): string {
  return `
        DELETE FROM movie_rating_stats AS s
        USING (SELECT DISTINCT movie_id FROM ${removedRatings}) AS touched
        WHERE s.movie_id = touched.movie_id AND s.votes <= 0;
        UPDATE movie_rating_stats AS s
        SET last_rated_at = (SELECT max(r.rated_at) FROM ratings AS r WHERE r.movie_id = s.movie_id)
        FROM (SELECT movie_id, max(rated_at) AS rated_at FROM ${removedRatings} GROUP BY movie_id) AS removed
        WHERE s.movie_id = removed.movie_id AND removed.rated_at >= s.last_rated_at;`;
}

/** Locks the existing statistics rows of the touched movies, in movie id order. */
function lockInOrder(touchedRatings: string): string {
  return `
        PERFORM 1 FROM movie_rating_stats
        WHERE movie_id IN (SELECT movie_id FROM ${touchedRatings})
        ORDER BY movie_id
        FOR UPDATE;`;
}

/**
 * The statistics triggers take their row locks in movie id order. They upserted in the order the
 * grouping happened to produce, which differs between statements over the same movies: 20
 * concurrent onboards of the same 60 movies in different orders deadlocked 9 of 20 times
 * (tests/hostile/db-concurrency.test.ts). With one global order two writers can wait for each other
 * but never in a cycle. Inserts upsert in order (rows that do not exist yet cannot be locked
 * first); updates and deletes lock the existing rows in order before changing any.
 */
export class OrderedStatisticsLocks1764000500000 implements MigrationInterface {
  name = 'OrderedStatisticsLocks1764000500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE OR REPLACE FUNCTION movie_rating_stats_after_insert() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO movie_rating_stats AS s (movie_id, votes, rating_sum, rating_sq_sum, last_rated_at)
        SELECT movie_id, count(*), sum(rating::float8), sum(rating::float8 * rating::float8), max(rated_at)
        FROM inserted_ratings
        GROUP BY movie_id
        ORDER BY movie_id
        ON CONFLICT (movie_id) DO UPDATE SET
          votes = s.votes + EXCLUDED.votes,
          rating_sum = s.rating_sum + EXCLUDED.rating_sum,
          rating_sq_sum = s.rating_sq_sum + EXCLUDED.rating_sq_sum,
          last_rated_at = greatest(s.last_rated_at, EXCLUDED.last_rated_at);
        RETURN NULL;
      END $$`);

    await db.query(`
      CREATE OR REPLACE FUNCTION movie_rating_stats_after_update() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        ${lockInOrder('(SELECT movie_id FROM updated_ratings_new UNION SELECT movie_id FROM updated_ratings_old) AS touched')}
        INSERT INTO movie_rating_stats AS s (movie_id, votes, rating_sum, rating_sq_sum, last_rated_at)
        SELECT movie_id, sum(votes), sum(rating), sum(rating_sq), coalesce(max(added_at), '-infinity')
        FROM (
          SELECT movie_id, 1 AS votes, rating::float8 AS rating, rating::float8 * rating::float8 AS rating_sq,
                 rated_at AS added_at
          FROM updated_ratings_new
          UNION ALL
          SELECT movie_id, -1, -rating::float8, -(rating::float8 * rating::float8), NULL
          FROM updated_ratings_old
        ) AS change
        GROUP BY movie_id
        ORDER BY movie_id
        ON CONFLICT (movie_id) DO UPDATE SET
          votes = s.votes + EXCLUDED.votes,
          rating_sum = s.rating_sum + EXCLUDED.rating_sum,
          rating_sq_sum = s.rating_sq_sum + EXCLUDED.rating_sq_sum,
          last_rated_at = greatest(s.last_rated_at, EXCLUDED.last_rated_at);
        ${settleAfterRemoving('updated_ratings_old')}
        RETURN NULL;
      END $$`);

    await db.query(`
      CREATE OR REPLACE FUNCTION movie_rating_stats_after_delete() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        ${lockInOrder('deleted_ratings')}
        UPDATE movie_rating_stats AS s SET
          votes = s.votes - removed.votes,
          rating_sum = s.rating_sum - removed.rating_sum,
          rating_sq_sum = s.rating_sq_sum - removed.rating_sq_sum
        FROM (
          SELECT movie_id, count(*) AS votes, sum(rating::float8) AS rating_sum,
                 sum(rating::float8 * rating::float8) AS rating_sq_sum
          FROM deleted_ratings
          GROUP BY movie_id
        ) AS removed
        WHERE s.movie_id = removed.movie_id;
        ${settleAfterRemoving('deleted_ratings')}
        RETURN NULL;
      END $$`);
  }

  async down(): Promise<void> {
    // The previous bodies differ only in lock order; StatisticalAggregates' down drops them all.
  }
}
