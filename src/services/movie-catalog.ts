import { DataSource } from 'typeorm';
import { CacheCounts, readMany, VersionedCache, Versions } from '../cache';
import { Movie } from '../db/entities';
import { type NamedStatement, queryNamed } from '../db/prepared';
import { primaryReads, Reads } from '../db/read-routing';

export interface MovieFilter {
  genre?: string | null;
  yearFrom?: number | null;
  yearTo?: number | null;
  titleContains?: string | null;
}

export interface MoviePage {
  movies: Movie[];
  hasNextPage: boolean;
}

export interface RatingSummary {
  count: number;
  average: number | null;
}

interface MovieRow {
  id: number;
  title: string;
  year: number | null;
  genres: string[];
  imdb_id: string | null;
  tmdb_id: number | null;
  overview: string | null;
}

const MAX_CACHED_MOVIES = 200_000;

/** Movies per statement when the cache is filled ahead of requests. */
const PRELOAD_BATCH = 5_000;

const MOVIE_COLUMNS = 'id, title, year, genres, imdb_id, tmdb_id, overview';

/** Every list reads the movies it has not seen yet (prepared: parsed once per connection; planned per call). */
const MOVIES_BY_ID: NamedStatement = {
  name: 'cinegraph_movies_by_id',
  text: `SELECT ${MOVIE_COLUMNS} FROM movies WHERE id = ANY($1::int[])`,
};

function toMovie(row: MovieRow): Movie {
  return Object.assign(new Movie(), {
    id: row.id,
    title: row.title,
    year: row.year,
    genres: row.genres,
    imdbId: row.imdb_id,
    tmdbId: row.tmdb_id,
    overview: row.overview,
  });
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Reads of the movie catalog; every method is one SQL statement so loaders can batch on it. All are
 * shared reads (a replica's when there is one): the catalog is the same for every user.
 */
export class MovieCatalog {
  /**
   * Every recommendation list reads a hundred movies or more; movies change only with the catalog
   * version (a statement on movies bumps it), so they are kept until it moves.
   */
  private readonly movies: VersionedCache<number, Movie>;

  private readonly reads: Reads;

  constructor(db: DataSource, reads: Reads = primaryReads(db), versions: Versions | null = null) {
    this.reads = reads;
    this.movies = new VersionedCache({ max: MAX_CACHED_MOVIES, versions });
  }

  /** Hits and misses of the movie cache, for /metrics. */
  get cacheCounts(): CacheCounts {
    return this.movies.counts;
  }

  async findByIds(ids: readonly number[]): Promise<Movie[]> {
    return readMany(ids, this.movies, 0, async (missing) => {
      const rows = await this.reads.shared((db) => queryNamed<MovieRow>(db, MOVIES_BY_ID, [missing]));
      return rows.map(toMovie);
    });
  }

  /**
   * The catalog read into the cache before the server listens, most-rated movies first, up to the
   * cache's bound. Lists read a hundred movies or more each, and a cache filling from requests'
   * misses kept a fresh server's first lists slow: ml-latest-small's distinct-user HYBRID at 64
   * connections (`bench:serve`, 600 lists a cell after 300 to warm up and 600 at 16 connections),
   * this build and the one before in turns (2026-12-07 18:33–18:51 UTC, load average 1.0–1.8):
   * p99 97–132 ms at 627–856 lists/s in four rounds with it, 141–189 ms at 590–757 in five without.
   * A catalog version that moves later (an import) empties it, and requests' misses refill it.
   */
  async preload(limit = MAX_CACHED_MOVIES): Promise<number> {
    const rows: { id: number }[] = await this.reads.shared((db) =>
      db.query(
        `SELECT m.id FROM movies AS m LEFT JOIN movie_rating_stats AS s ON s.movie_id = m.id
          ORDER BY coalesce(s.votes, 0) DESC, m.id LIMIT $1`,
        [Math.min(limit, MAX_CACHED_MOVIES)],
      ),
    );
    const ids = rows.map((row) => row.id);
    for (let from = 0; from < ids.length; from += PRELOAD_BATCH)
      await this.findByIds(ids.slice(from, from + PRELOAD_BATCH));
    return ids.length;
  }

  /** Keyset pagination by id: stable under inserts, O(page) whatever the offset. */
  async page(filter: MovieFilter, first: number, afterId: number | null): Promise<MoviePage> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    if (afterId !== null) conditions.push(`id > ${param(afterId)}`);
    if (filter.genre) conditions.push(`genres @> ARRAY[${param(filter.genre)}::text]`);
    if (filter.yearFrom != null) conditions.push(`year >= ${param(filter.yearFrom)}`);
    if (filter.yearTo != null) conditions.push(`year <= ${param(filter.yearTo)}`);
    if (filter.titleContains)
      conditions.push(`title ILIKE ${param(`%${escapeLike(filter.titleContains)}%`)}`);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const limit = param(first + 1);
    const rows: MovieRow[] = await this.reads.shared((db) =>
      db.query(`SELECT ${MOVIE_COLUMNS} FROM movies ${where} ORDER BY id LIMIT ${limit}`, params),
    );
    return { movies: rows.slice(0, first).map(toMovie), hasNextPage: rows.length > first };
  }

  /** From the trigger-maintained aggregates, not by scanning the ratings of every movie on the page. */
  async ratingSummaries(movieIds: readonly number[]): Promise<Map<number, RatingSummary>> {
    const rows: { movie_id: number; count: number; average: number | null }[] = await this.reads.shared(
      (db) =>
        db.query(
          `SELECT movie_id, votes AS count, CASE WHEN votes > 0 THEN rating_sum / votes END AS average
             FROM movie_rating_stats WHERE movie_id = ANY($1::int[])`,
          [movieIds],
        ),
    );
    return new Map(rows.map((r) => [r.movie_id, { count: Number(r.count), average: r.average }]));
  }
}
