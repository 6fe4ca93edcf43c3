import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import iconv from 'iconv-lite';

/** The MovieLens releases the importer understands, and how each lays out its files. */
export type ReleaseFormat = 'ml-latest' | 'ml-100k' | 'ml-1m';

export const KNOWN_FORMATS_DESCRIPTION =
  'ml-latest-small / ml-latest / ml-25m / ml-32m (movies.csv + ratings.csv [+ tags.csv, links.csv]), ' +
  'ml-100k (u.item + u.data), ml-1m (movies.dat + ratings.dat)';

export interface RatingRow {
  userId: number;
  movieId: number;
  rating: number;
  /** Unix seconds. */
  timestamp: number;
}

export interface MovieRow {
  movieId: number;
  title: string;
  year: number | null;
  genres: string[];
}

export interface TagRow {
  userId: number;
  movieId: number;
  tag: string;
  timestamp: number;
}

export interface LinkRow {
  movieId: number;
  imdbId: string | null;
  tmdbId: number | null;
}

export interface ReleaseLayout {
  format: ReleaseFormat;
  dir: string;
  moviesFile: string;
  ratingsFile: string;
  tagsFile: string | null;
  linksFile: string | null;
}

export class MovieLensParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'MovieLensParseError';
  }
}

export class UnknownReleaseError extends Error {
  /** `incomplete` names what a nearly recognised layout lacks, e.g. "ml-1m without ratings.dat". */
  constructor(dir: string, found: string[], incomplete?: string) {
    super(
      `${dir} does not look like a MovieLens release (found: ${found.slice(0, 12).join(', ') || 'nothing'}` +
        `${found.length > 12 ? ', …' : ''})${incomplete ? `; it looks like ${incomplete}` : ''}. ` +
        `Known formats: ${KNOWN_FORMATS_DESCRIPTION}.`,
    );
    this.name = 'UnknownReleaseError';
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function detectRelease(dir: string): Promise<ReleaseLayout> {
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) throw new UnknownReleaseError(dir, []);
  const inDir = (name: string) => path.join(dir, name);
  const optional = async (name: string) => ((await exists(inDir(name))) ? inDir(name) : null);

  if ((await exists(inDir('movies.csv'))) && (await exists(inDir('ratings.csv')))) {
    return {
      format: 'ml-latest',
      dir,
      moviesFile: inDir('movies.csv'),
      ratingsFile: inDir('ratings.csv'),
      tagsFile: await optional('tags.csv'),
      linksFile: await optional('links.csv'),
    };
  }
  if ((await exists(inDir('u.item'))) && (await exists(inDir('u.data')))) {
    return {
      format: 'ml-100k',
      dir,
      moviesFile: inDir('u.item'),
      ratingsFile: inDir('u.data'),
      tagsFile: null,
      linksFile: null,
    };
  }
  if ((await exists(inDir('movies.dat'))) && (await exists(inDir('ratings.dat')))) {
    return {
      format: 'ml-1m',
      dir,
      moviesFile: inDir('movies.dat'),
      ratingsFile: inDir('ratings.dat'),
      tagsFile: await optional('tags.dat'),
      linksFile: null,
    };
  }
  const found = (await fs.readdir(dir)).sort();
  const partial: Array<[string, string, string]> = [
    ['movies.csv', 'ratings.csv', 'an ml-latest release without ratings.csv'],
    ['u.item', 'u.data', 'ml-100k without u.data'],
    ['movies.dat', 'ratings.dat', 'ml-1m without ratings.dat'],
  ];
  const incomplete = partial.find(([present, absent]) => found.includes(present) && !found.includes(absent));
  throw new UnknownReleaseError(dir, found, incomplete?.[2]);
}

/** Latin-1 for the older releases, UTF-8 for the CSV ones. */
function encodingOf(file: string): 'latin1' | 'utf8' {
  return file.endsWith('.csv') ? 'utf8' : 'latin1';
}

/** Yields each non-empty line with its 1-based line number, decoded with the release's encoding. */
export async function* readLines(file: string): AsyncGenerator<{ text: string; line: number }> {
  const encoding = encodingOf(file);
  const input =
    encoding === 'utf8'
      ? createReadStream(file, { encoding: 'utf8' })
      : createReadStream(file).pipe(iconv.decodeStream('latin1'));
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const raw of lines) {
    line++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.length > 0) yield { text, line };
  }
}

/** One CSV field as MovieLens writes it: RFC 4180 quoting, only where a comma, quote or line break needs it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Splits one CSV record (RFC 4180 quoting, quotes doubled inside quoted fields). */
export function splitCsvLine(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"' && field.length === 0) quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new Error('unterminated quoted field');
  fields.push(field);
  return fields;
}

const YEAR_SUFFIX = /\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$/;

/**
 * "Heat (1995)" → { title: "Heat", year: 1995 }. MovieLens moves leading articles to the end
 * ("Misérables, Les (1995)"); the title is kept as MovieLens spells it, only the year is split off.
 */
export function parseTitle(raw: string): { title: string; year: number | null } {
  const trimmed = raw.trim();
  const match = YEAR_SUFFIX.exec(trimmed);
  if (!match) return { title: trimmed, year: null };
  const title = trimmed.slice(0, match.index).trim();
  return { title: title || trimmed, year: Number(match[1]) };
}

export function parseGenres(raw: string): string[] {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed === '(no genres listed)') return [];
  return trimmed.split('|').filter((g) => g.length > 0);
}

/** The 19 genre flags of ml-100k's u.item, in column order (u.genre). */
export const ML100K_GENRES = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

function positiveInt(value: string | undefined, name: string): number {
  const text = (value ?? '').trim();
  if (!/^\d+$/.test(text)) throw new Error(`${name} must be a positive integer, got "${value ?? ''}"`);
  const n = Number(text);
  if (n <= 0 || n > 2147483647) throw new Error(`${name} out of range: ${text}`);
  return n;
}

function ratingValue(value: string | undefined): number {
  const n = Number((value ?? '').trim());
  if (!Number.isFinite(n) || (value ?? '').trim() === '')
    throw new Error(`rating is not a number: "${value ?? ''}"`);
  if (n < 0.5 || n > 5 || Math.round(n * 2) !== n * 2)
    throw new Error(`rating must be 0.5..5.0 in half steps, got ${n}`);
  return n;
}

function timestampValue(value: string | undefined): number {
  const text = (value ?? '').trim();
  if (!/^\d+$/.test(text)) throw new Error(`timestamp must be unix seconds, got "${value ?? ''}"`);
  return Number(text);
}

function expectFields(fields: string[], count: number, what: string): void {
  if (fields.length !== count)
    throw new Error(`expected ${count} fields for ${what}, found ${fields.length}`);
}

/** One line-level parser per file kind and format; each throws a plain Error with the reason. */
export const lineParsers = {
  ratings(format: ReleaseFormat, text: string): RatingRow {
    const fields =
      format === 'ml-latest' ? text.split(',') : format === 'ml-100k' ? text.split('\t') : text.split('::');
    expectFields(fields, 4, 'a rating');
    return {
      userId: positiveInt(fields[0], 'userId'),
      movieId: positiveInt(fields[1], 'movieId'),
      rating: ratingValue(fields[2]),
      timestamp: timestampValue(fields[3]),
    };
  },

  movies(format: ReleaseFormat, text: string): MovieRow {
    if (format === 'ml-100k') {
      const fields = text.split('|');
      expectFields(fields, 5 + ML100K_GENRES.length, 'a movie');
      const { title, year } = parseTitle(fields[1]);
      if (!title) throw new Error('empty title');
      const genres = ML100K_GENRES.filter((g, i) => fields[5 + i] === '1' && g !== 'unknown');
      return { movieId: positiveInt(fields[0], 'movieId'), title, year, genres };
    }
    const fields = format === 'ml-latest' ? splitCsvLine(text) : text.split('::');
    expectFields(fields, 3, 'a movie');
    const { title, year } = parseTitle(fields[1]);
    if (!title) throw new Error('empty title');
    return { movieId: positiveInt(fields[0], 'movieId'), title, year, genres: parseGenres(fields[2]) };
  },

  tags(format: ReleaseFormat, text: string): TagRow {
    const fields = format === 'ml-latest' ? splitCsvLine(text) : text.split('::');
    expectFields(fields, 4, 'a tag');
    const tag = fields[2].trim();
    if (!tag) throw new Error('empty tag');
    return {
      userId: positiveInt(fields[0], 'userId'),
      movieId: positiveInt(fields[1], 'movieId'),
      tag,
      timestamp: timestampValue(fields[3]),
    };
  },

  links(_format: ReleaseFormat, text: string): LinkRow {
    const fields = splitCsvLine(text);
    expectFields(fields, 3, 'a link');
    const imdb = fields[1].trim();
    const tmdb = fields[2].trim();
    if (imdb !== '' && !/^\d+$/.test(imdb)) throw new Error(`imdbId must be digits, got "${imdb}"`);
    return {
      movieId: positiveInt(fields[0], 'movieId'),
      imdbId: imdb === '' ? null : `tt${imdb.padStart(7, '0')}`,
      tmdbId: tmdb === '' ? null : positiveInt(tmdb, 'tmdbId'),
    };
  },
};

export type FileKind = keyof typeof lineParsers;

/** The exact first line each ml-latest CSV file starts with. */
export const CSV_HEADERS: Record<FileKind, string> = {
  ratings: 'userId,movieId,rating,timestamp',
  movies: 'movieId,title,genres',
  tags: 'userId,movieId,tag,timestamp',
  links: 'movieId,imdbId,tmdbId',
};

/** Which release format a standalone file belongs to, from its name and first line. */
export async function formatOfFile(file: string): Promise<ReleaseFormat> {
  if (file.endsWith('.csv')) return 'ml-latest';
  if (file.endsWith('.dat')) return 'ml-1m';
  for await (const { text } of readLines(file)) {
    if (text.includes('::')) return 'ml-1m';
    if (text.includes('\t')) return 'ml-100k';
    if (text.includes(',')) return 'ml-latest';
    break;
  }
  return 'ml-100k';
}

/**
 * Streams the records of one file, throwing MovieLensParseError with file:line on the first bad line.
 * CSV files must start with the release's header.
 */
export async function* readRecords<K extends FileKind>(
  file: string,
  kind: K,
  format: ReleaseFormat,
): AsyncGenerator<ReturnType<(typeof lineParsers)[K]>> {
  const parse = lineParsers[kind] as (
    format: ReleaseFormat,
    text: string,
  ) => ReturnType<(typeof lineParsers)[K]>;
  let first = true;
  for await (const { text, line } of readLines(file)) {
    if (first && format === 'ml-latest') {
      first = false;
      const header = text.replace(/^\uFEFF/, '');
      if (header !== CSV_HEADERS[kind])
        throw new MovieLensParseError(
          file,
          line,
          `expected header "${CSV_HEADERS[kind]}", found "${header}"`,
        );
      continue;
    }
    first = false;
    try {
      yield parse(format, text);
    } catch (error) {
      throw new MovieLensParseError(file, line, (error as Error).message);
    }
  }
}

/** Reads a whole ratings file of any known format (used by training and evaluation on files). */
export async function readRatingsFile(file: string): Promise<RatingRow[]> {
  const format = await formatOfFile(file);
  const rows: RatingRow[] = [];
  for await (const row of readRecords(file, 'ratings', format)) rows.push(row);
  return rows;
}
