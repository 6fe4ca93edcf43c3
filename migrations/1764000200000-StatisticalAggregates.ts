import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * After ratings left some movies: drop movies with no votes left, and recompute last_rated_at only where
 * a removed rating may have been the newest (a maximum cannot be decremented).
 */
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

/**
 * Per-movie rating aggregates for the statistical engine, kept exact by statement-level triggers on
 * `ratings` so they are correct in the same transaction whoever writes (API, importer, psql).
 *
 * Statement-level triggers with transition tables do one grouped upsert per statement, so the bulk
 * import of ml-latest-small's 100,836 ratings in one INSERT pays about what a full recompute would
 * (+80 ms on an idle dev box, where the plain insert took ~500 ms), while a row-level trigger (one
 * upsert per row) added 2–3 s; scripts/bench-statistical.ts measures all variants. Plain PL/pgSQL,
 * so PGlite runs it too.
 *
 * Sums are double precision: ratings are half steps, so sums and sums of squares are multiples of 0.25
 * and stay exact under any order of increments and decrements.
 *
 * There is deliberately no per-day aggregate table: on ml-latest-small, 100,836 ratings fall into
 * 99,538 distinct (movie, day) pairs, so it would double the maintenance cost for no read saving; a
 * trending window reads `ratings` through ratings_rated_at_idx instead (~0.5 ms for 30 days).
 */
export class StatisticalAggregates1764000200000 implements MigrationInterface {
  name = 'StatisticalAggregates1764000200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE movie_rating_stats (
        movie_id integer PRIMARY KEY REFERENCES movies (id) ON DELETE CASCADE,
        votes integer NOT NULL,
        rating_sum double precision NOT NULL,
        rating_sq_sum double precision NOT NULL,
        last_rated_at timestamptz NOT NULL
      )`);

    // Functions capture the migration's search_path so the triggers find their table whatever the
    // search_path of the session that writes ratings.
    await db.query(`
      CREATE FUNCTION movie_rating_stats_after_insert() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO movie_rating_stats AS s (movie_id, votes, rating_sum, rating_sq_sum, last_rated_at)
        SELECT movie_id, count(*), sum(rating::float8), sum(rating::float8 * rating::float8), max(rated_at)
        FROM inserted_ratings
        GROUP BY movie_id
        ON CONFLICT (movie_id) DO UPDATE SET
          votes = s.votes + EXCLUDED.votes,
          rating_sum = s.rating_sum + EXCLUDED.rating_sum,
          rating_sq_sum = s.rating_sq_sum + EXCLUDED.rating_sq_sum,
          last_rated_at = greatest(s.last_rated_at, EXCLUDED.last_rated_at);
        RETURN NULL;
      END $$`);

    await db.query(`
      CREATE FUNCTION movie_rating_stats_after_update() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        -- An update may move a rating to another movie (its key changes), so apply new minus old per movie.
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
        ON CONFLICT (movie_id) DO UPDATE SET
          votes = s.votes + EXCLUDED.votes,
          rating_sum = s.rating_sum + EXCLUDED.rating_sum,
          rating_sq_sum = s.rating_sq_sum + EXCLUDED.rating_sq_sum,
          last_rated_at = greatest(s.last_rated_at, EXCLUDED.last_rated_at);
        ${settleAfterRemoving('updated_ratings_old')}
        RETURN NULL;
      END $$`);

    await db.query(`
      CREATE FUNCTION movie_rating_stats_after_delete() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
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

    await db.query(`
      CREATE FUNCTION movie_rating_stats_after_truncate() RETURNS trigger
      LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
      BEGIN
        DELETE FROM movie_rating_stats;
        RETURN NULL;
      END $$`);

    await db.query(`
      CREATE TRIGGER movie_rating_stats_on_insert AFTER INSERT ON ratings
      REFERENCING NEW TABLE AS inserted_ratings
      FOR EACH STATEMENT EXECUTE FUNCTION movie_rating_stats_after_insert()`);
    await db.query(`
      CREATE TRIGGER movie_rating_stats_on_update AFTER UPDATE ON ratings
      REFERENCING OLD TABLE AS updated_ratings_old NEW TABLE AS updated_ratings_new
      FOR EACH STATEMENT EXECUTE FUNCTION movie_rating_stats_after_update()`);
    await db.query(`
      CREATE TRIGGER movie_rating_stats_on_delete AFTER DELETE ON ratings
      REFERENCING OLD TABLE AS deleted_ratings
      FOR EACH STATEMENT EXECUTE FUNCTION movie_rating_stats_after_delete()`);
    await db.query(`
      CREATE TRIGGER movie_rating_stats_on_truncate AFTER TRUNCATE ON ratings
      FOR EACH STATEMENT EXECUTE FUNCTION movie_rating_stats_after_truncate()`);

    // A database that already holds ratings starts with correct aggregates.
    await db.query(`
      INSERT INTO movie_rating_stats (movie_id, votes, rating_sum, rating_sq_sum, last_rated_at)
      SELECT movie_id, count(*), sum(rating::float8), sum(rating::float8 * rating::float8), max(rated_at)
      FROM ratings
      GROUP BY movie_id`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TRIGGER IF EXISTS movie_rating_stats_on_truncate ON ratings`);
    await db.query(`DROP TRIGGER IF EXISTS movie_rating_stats_on_delete ON ratings`);
    await db.query(`DROP TRIGGER IF EXISTS movie_rating_stats_on_update ON ratings`);
    await db.query(`DROP TRIGGER IF EXISTS movie_rating_stats_on_insert ON ratings`);
    await db.query(`
      DROP FUNCTION IF EXISTS movie_rating_stats_after_truncate(), movie_rating_stats_after_delete(),
        movie_rating_stats_after_update(), movie_rating_stats_after_insert()`);
    await db.query(`DROP TABLE IF EXISTS movie_rating_stats`);
  }
}
