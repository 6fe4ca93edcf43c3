import { MigrationInterface, QueryRunner } from 'typeorm';

export class CoreCatalog1764000000000 implements MigrationInterface {
  name = 'CoreCatalog1764000000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE EXTENSION IF NOT EXISTS vector`);
    await db.query(`
      CREATE TABLE movies (
        id integer PRIMARY KEY CHECK (id > 0),
        title text NOT NULL,
        year integer CHECK (year BETWEEN 1870 AND 2100),
        genres text[] NOT NULL DEFAULT '{}',
        imdb_id text,
        tmdb_id integer,
        overview text
      )`);
    await db.query(`CREATE INDEX movies_genres_idx ON movies USING gin (genres)`);
    await db.query(`CREATE INDEX movies_year_idx ON movies (year)`);
    await db.query(`
      CREATE TABLE users (
        id serial PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`
      CREATE TABLE ratings (
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        movie_id integer NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
        rating real NOT NULL CHECK (rating BETWEEN 0.5 AND 5 AND rating * 2 = round(rating * 2)),
        rated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, movie_id)
      )`);
    await db.query(`CREATE INDEX ratings_movie_idx ON ratings (movie_id)`);
    await db.query(`CREATE INDEX ratings_rated_at_idx ON ratings (rated_at)`);
    await db.query(`
      CREATE TABLE tags (
        id bigserial PRIMARY KEY,
        user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        movie_id integer NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
        tag text NOT NULL CHECK (tag <> ''),
        tagged_at timestamptz NOT NULL,
        CONSTRAINT tags_natural_key UNIQUE (user_id, movie_id, tag, tagged_at)
      )`);
    await db.query(`CREATE INDEX tags_movie_idx ON tags (movie_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS tags, ratings, users, movies`);
  }
}
