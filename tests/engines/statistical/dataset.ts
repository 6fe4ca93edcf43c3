import { DataSource } from 'typeorm';

export interface MovieSpec {
  id: number;
  year?: number | null;
  genres?: string[];
}

export interface RatingSpec {
  userId: number;
  movieId: number;
  rating: number;
  ratedAt: Date;
}

export interface StatsRow {
  movieId: number;
  votes: number;
  ratingSum: number;
  ratingSqSum: number;
  lastRatedAt: string;
}

export const DAY_MS = 86_400_000;

export function daysBefore(date: Date, days: number): Date {
  return new Date(date.getTime() - days * DAY_MS);
}

export async function insertMovies(dataSource: DataSource, movies: MovieSpec[]): Promise<void> {
  await dataSource.query(
    `INSERT INTO movies (id, title, year, genres)
     SELECT id, 'Movie ' || id, year, string_to_array(genres, '|')
     FROM unnest($1::int[], $2::int[], $3::text[]) AS m (id, year, genres)`,
    [
      movies.map((m) => m.id),
      movies.map((m) => m.year ?? null),
      movies.map((m) => (m.genres ?? []).join('|')),
    ],
  );
}

/** One INSERT statement for all rows, as the bulk importer does, so the statement trigger sees them together. */
export async function insertRatings(dataSource: DataSource, ratings: RatingSpec[]): Promise<void> {
  const userIds = [...new Set(ratings.map((r) => r.userId))];
  await dataSource.query(`INSERT INTO users (id) SELECT unnest($1::int[]) ON CONFLICT DO NOTHING`, [userIds]);
  await dataSource.query(
    `INSERT INTO ratings (user_id, movie_id, rating, rated_at)
     SELECT * FROM unnest($1::int[], $2::int[], $3::real[], $4::timestamptz[])`,
    [
      ratings.map((r) => r.userId),
      ratings.map((r) => r.movieId),
      ratings.map((r) => r.rating),
      ratings.map((r) => r.ratedAt.toISOString()),
    ],
  );
}

const STATS_COLUMNS = `movie_id AS "movieId", votes::int AS votes, rating_sum AS "ratingSum",
  rating_sq_sum AS "ratingSqSum", to_char(last_rated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS "lastRatedAt"`;

export async function maintainedStats(dataSource: DataSource): Promise<StatsRow[]> {
  return dataSource.query(`SELECT ${STATS_COLUMNS} FROM movie_rating_stats ORDER BY movie_id`);
}

/** What movie_rating_stats must hold, recomputed from scratch. */
export async function recomputedStats(dataSource: DataSource): Promise<StatsRow[]> {
  return dataSource.query(
    `SELECT ${STATS_COLUMNS}
     FROM (SELECT movie_id, count(*) AS votes, sum(rating::float8) AS rating_sum,
                  sum(rating::float8 * rating::float8) AS rating_sq_sum, max(rated_at) AS last_rated_at
           FROM ratings GROUP BY movie_id) AS recomputed
     ORDER BY movie_id`,
  );
}

/** A small seeded generator (mulberry32) so randomised operation sequences replay identically. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
