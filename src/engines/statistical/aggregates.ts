import { DataSource } from 'typeorm';

export interface RefreshSummary {
  movies: number;
  votes: number;
}

/**
 * Recomputes movie_rating_stats from ratings in one transaction. The triggers keep the table exact, so
 * this is for after a bulk load that ran with triggers disabled, or to repair by hand. Writers to
 * ratings wait meanwhile (SHARE lock), so no trigger update can interleave with the recompute.
 */
export async function refreshRatingStats(dataSource: DataSource): Promise<RefreshSummary> {
  return dataSource.transaction(async (manager) => {
    await manager.query(`LOCK TABLE ratings IN SHARE MODE`);
    await manager.query(`DELETE FROM movie_rating_stats`);
    await manager.query(`
      INSERT INTO movie_rating_stats (movie_id, votes, rating_sum, rating_sq_sum, last_rated_at)
      SELECT movie_id, count(*), sum(rating::float8), sum(rating::float8 * rating::float8), max(rated_at)
      FROM ratings
      GROUP BY movie_id`);
    const [summary]: { movies: number; votes: number }[] = await manager.query(
      `SELECT count(*)::int AS movies, coalesce(sum(votes), 0)::float8 AS votes FROM movie_rating_stats`,
    );
    return summary;
  });
}
