import { DataSource } from 'typeorm';

export interface TestMovie {
  id: number;
  title: string;
  year?: number;
  genres: string[];
  overview?: string;
}

/** A small catalog whose texts share words on purpose: space films, crime films, romances, cartoons. */
export const MOVIES: TestMovie[] = [
  {
    id: 1,
    title: 'Star Voyage',
    year: 1990,
    genres: ['Sci-Fi', 'Adventure'],
    overview: 'astronauts explore space aliens planet',
  },
  {
    id: 2,
    title: 'Alien Planet',
    year: 1992,
    genres: ['Sci-Fi', 'Horror'],
    overview: 'aliens attack a space crew on a planet',
  },
  {
    id: 3,
    title: 'Galaxy Quest Again',
    year: 1999,
    genres: ['Sci-Fi', 'Comedy'],
    overview: 'space crew comedy aliens',
  },
  {
    id: 4,
    title: 'Bank Heist',
    year: 1995,
    genres: ['Crime', 'Thriller'],
    overview: 'robbers plan a bank heist detective chase',
  },
  {
    id: 5,
    title: 'The Detective',
    year: 1996,
    genres: ['Crime', 'Drama'],
    overview: 'a detective hunts robbers in the city',
  },
  {
    id: 6,
    title: 'Love in Paris',
    year: 2001,
    genres: ['Romance', 'Comedy'],
    overview: 'two strangers fall in love in paris',
  },
  {
    id: 7,
    title: 'Paris Kisses',
    year: 2003,
    genres: ['Romance'],
    overview: 'a romantic love story in paris cafe',
  },
  {
    id: 8,
    title: 'Toy Friends',
    year: 1995,
    genres: ['Animation', 'Children'],
    overview: 'toys come alive kids friendship',
  },
  {
    id: 9,
    title: 'Fish Finders',
    year: 2003,
    genres: ['Animation', 'Children'],
    overview: 'a fish father searches the ocean kids',
  },
  {
    id: 10,
    title: 'Space Toys',
    year: 2005,
    genres: ['Animation', 'Sci-Fi'],
    overview: 'toys travel to space kids',
  },
];

export async function insertMovies(
  dataSource: DataSource,
  movies: readonly TestMovie[] = MOVIES,
): Promise<void> {
  for (const movie of movies) {
    await dataSource.query(
      `INSERT INTO movies (id, title, year, genres, overview) VALUES ($1, $2, $3, $4, $5)`,
      [movie.id, movie.title, movie.year ?? null, movie.genres, movie.overview ?? null],
    );
  }
}

export async function insertRatings(
  dataSource: DataSource,
  userId: number,
  ratings: Record<number, number>,
): Promise<void> {
  await dataSource.query(`INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING`, [userId]);
  for (const [movieId, rating] of Object.entries(ratings)) {
    await dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES ($1, $2, $3)`, [
      userId,
      Number(movieId),
      rating,
    ]);
  }
}

export async function embeddingRows(dataSource: DataSource) {
  const rows: {
    movie_id: number;
    model_id: string;
    dimension: number;
    text_hash: string;
    embedding: string;
  }[] = await dataSource.query(
    `SELECT movie_id, model_id, dimension, text_hash, embedding::text AS embedding FROM movie_embeddings ORDER BY movie_id`,
  );
  return rows;
}
