import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { detectRelease, readRecords, type MovieRow } from '../src/data/movielens/formats';

/** One movie of the Kaggle TMDB 5000 file, as far as matching and text need it. */
export interface TmdbMovie {
  readonly tmdbId: number;
  readonly title: string;
  readonly originalTitle: string;
  readonly year: number | null;
  readonly overview: string;
}

/** Reads `tmdb_5000_movies.csv` (columns id, title, original_title, release_date, overview). */
export async function readTmdbMovies(file: string): Promise<TmdbMovie[]> {
  const movies: TmdbMovie[] = [];
  const parser = createReadStream(file).pipe(parse({ columns: true, bom: true, skip_empty_lines: true }));
  for await (const record of parser as AsyncIterable<Record<string, string | undefined>>) {
    const tmdbId = Number(record.id);
    const overview = (record.overview ?? '').trim();
    if (!Number.isInteger(tmdbId) || tmdbId <= 0 || overview === '') continue;
    const year = /^(\d{4})/.exec(record.release_date ?? '')?.[1];
    movies.push({
      tmdbId,
      title: record.title ?? '',
      originalTitle: record.original_title ?? '',
      year: year ? Number(year) : null,
      overview,
    });
  }
  return movies;
}

const TRAILING_ARTICLE = /^(.*), (the|a|an|les|la|le|il|el|das|der|die)$/i;

/**
 * A comparable form of a title: MovieLens writes "Usual Suspects, The" and appends alternative
 * titles in parentheses ("Shanghai Triad (Yao a yao …)"); TMDB writes "The Usual Suspects".
 * Lower case, the article moved back to the front, punctuation and "&"/"and" differences removed.
 */
export function comparableTitle(title: string): string {
  let text = title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  text = text.replace(/\s*\([^)]*\)\s*$/g, '').trim();
  const article = TRAILING_ARTICLE.exec(text);
  if (article) text = `${article[2]} ${article[1]}`;
  return text
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * movieId → TMDB overview for a MovieLens release: through links.csv's tmdbId where the release has
 * one, otherwise (ml-100k, ml-1m) by title and release year (±1 year, as the two catalogs date some
 * films by festival and some by general release).
 */
export async function overviewsForRelease(
  directory: string,
  tmdbFile: string,
  movies: readonly MovieRow[],
): Promise<Map<number, string>> {
  const tmdb = await readTmdbMovies(tmdbFile);
  const overviews = new Map<number, string>();
  const release = await detectRelease(directory).catch(() => null);
  if (release?.linksFile) {
    const byTmdbId = new Map(tmdb.map((movie) => [movie.tmdbId, movie.overview]));
    for await (const link of readRecords(release.linksFile, 'links', release.format)) {
      const overview = link.tmdbId === null ? undefined : byTmdbId.get(link.tmdbId);
      if (overview) overviews.set(link.movieId, overview);
    }
    return overviews;
  }
  const byTitle = new Map<string, TmdbMovie[]>();
  for (const movie of tmdb) {
    for (const title of new Set([comparableTitle(movie.title), comparableTitle(movie.originalTitle)])) {
      const list = byTitle.get(title) ?? [];
      list.push(movie);
      byTitle.set(title, list);
    }
  }
  for (const movie of movies) {
    const candidates = byTitle.get(comparableTitle(movie.title)) ?? [];
    const match =
      candidates.find((c) => c.year !== null && c.year === movie.year) ??
      candidates.find((c) => c.year !== null && movie.year !== null && Math.abs(c.year - movie.year) <= 1);
    if (match) overviews.set(movie.movieId, match.overview);
  }
  return overviews;
}
