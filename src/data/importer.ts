import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { allowLongStatements } from '../db/guarded-pool';
import { pgPoolOf } from '../db/pg-pool';
import { bumpCatalogVersion } from '../db/versions';
import type { PoolClient } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../logger';
import { ProgressReporter, type ProgressReporterOptions } from '../progress';
import { readLineBatches } from './line-batches';
import {
  CSV_HEADERS,
  detectRelease,
  lineParsers,
  MovieLensParseError,
  type FileKind,
  type ReleaseFormat,
  type RatingRow,
  type ReleaseLayout,
} from './movielens/formats';
import { readOverviews } from './overviews';
import { scanRatingLine } from './rating-scanner';
import {
  createStagingTableSql,
  createStagingWriter,
  detectBulkLoadMethod,
  type BulkLoadMethod,
  type StagingTable,
  type StagingWriter,
} from './staging';

export type ImportedFileKind = FileKind | 'overviews';

export interface ImportProgress {
  /** File name within the release (or of the overviews CSV). */
  file: string;
  kind: ImportedFileKind;
  /** `reading` while lines stream into staging, `merging` while they go into the real tables. */
  phase: 'reading' | 'merging' | 'done';
  rows: number;
  bytesRead: number;
  totalBytes: number;
  /** Since this file started loading. */
  seconds: number;
  rowsPerSecond: number;
}

export interface FileImportStats {
  file: string;
  kind: ImportedFileKind;
  /** Records read from the file (for overviews: those matching a movie of the release). */
  rows: number;
  /** Reading, parsing and staging the file. */
  loadSeconds: number;
  /** Moving its rows from staging into the real tables. */
  mergeSeconds: number;
  rowsPerSecond: number;
}

export interface ImportSummary {
  format: ReleaseFormat;
  dir: string;
  /** What the release holds (after duplicate ratings collapse), not what changed: a re-import reports the same. */
  movies: number;
  users: number;
  ratings: number;
  tags: number;
  /** Movies of the release that received a TMDB overview. */
  overviews: number;
  seconds: number;
  /** Ratings over the time spent reading, staging and merging them. */
  ratingsPerSecond: number;
  bulkLoad: BulkLoadMethod;
  files: FileImportStats[];
}

/**
 * Runs after the import has committed, in order, e.g. to refresh aggregates or invalidate caches.
 * A failing hook does not undo the import; importRelease rethrows it as AfterImportHookError.
 */
export type AfterImportHook = (manager: EntityManager, summary: ImportSummary) => Promise<void>;

export interface ImportOptions {
  /** A TMDB CSV (`id`, `overview`) whose overviews are joined through links.csv's tmdbId. */
  overviewsFile?: string | null;
  onProgress?: (progress: ImportProgress) => void;
  /**
   * Progress lines per file (rows, rows/s, share of the file read, ETA), at most one per interval (default
   * 5 s); for a server's log, where the import CLI's progress bars do not go.
   */
  progressLog?: { logger: Pick<Logger, 'info'> } & Pick<ProgressReporterOptions, 'intervalMs' | 'now'>;
  afterImport?: readonly AfterImportHook[];
  /** How many malformed lines are described in the error; all of them are counted. Default 20. */
  maxReportedErrors?: number;
  /** `auto` (default) uses COPY, except on PGlite whose socket server cannot take COPY FROM STDIN. */
  bulkLoad?: BulkLoadMethod | 'auto';
}

/** The release has malformed lines; the transaction was rolled back and nothing was imported. */
export class MalformedReleaseError extends Error {
  constructor(
    readonly dir: string,
    /** The first `maxReportedErrors` problems, in file order. */
    readonly errors: readonly MovieLensParseError[],
    readonly malformedLines: number,
  ) {
    const listed = errors.map((e) => `  ${e.message}`).join('\n');
    const more = malformedLines > errors.length ? `\n  … and ${malformedLines - errors.length} more` : '';
    super(
      `${malformedLines} malformed line${malformedLines === 1 ? '' : 's'} in ${dir}; ` +
        `first: ${errors[0]?.message ?? 'unknown'}; nothing was imported.\n${listed}${more}`,
    );
    this.name = 'MalformedReleaseError';
  }
}

/** The release is invalid as a whole before any line is read (bad options, missing overviews file). */
export class ImportSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportSetupError';
  }
}

/** The import committed, but an afterImport hook failed; `summary` describes the committed import. */
export class AfterImportHookError extends Error {
  constructor(
    readonly summary: ImportSummary,
    readonly hookIndex: number,
    override readonly cause: unknown,
  ) {
    super(
      `the import of ${summary.dir} committed, but afterImport hook #${hookIndex + 1} failed: ` +
        `${typeof (cause as Error | null)?.message === 'string' ? (cause as Error).message : String(cause)}`,
    );
    this.name = 'AfterImportHookError';
  }
}

/** The movies.year CHECK constraint; checked per line so a bad year is reported with its line. */
const MIN_YEAR = 1870;
const MAX_YEAR = 2100;

const STAGING = {
  movies: {
    name: 'staging_movies',
    columns: [
      { name: 'id', type: 'integer' },
      { name: 'title', type: 'text' },
      { name: 'year', type: 'integer' },
      { name: 'genres', type: 'text' },
    ],
  },
  ratings: {
    name: 'staging_ratings',
    columns: [
      { name: 'user_id', type: 'integer' },
      { name: 'movie_id', type: 'integer' },
      { name: 'rating', type: 'real' },
      { name: 'rated_at', type: 'bigint' },
    ],
  },
  tags: {
    name: 'staging_tags',
    columns: [
      { name: 'user_id', type: 'integer' },
      { name: 'movie_id', type: 'integer' },
      { name: 'tag', type: 'text' },
      { name: 'tagged_at', type: 'bigint' },
    ],
  },
  links: {
    name: 'staging_links',
    columns: [
      { name: 'movie_id', type: 'integer' },
      { name: 'imdb_id', type: 'text' },
      { name: 'tmdb_id', type: 'integer' },
    ],
  },
  overviews: {
    name: 'staging_overviews',
    columns: [
      { name: 'tmdb_id', type: 'integer' },
      { name: 'overview', type: 'text' },
    ],
  },
} satisfies Record<ImportedFileKind, StagingTable>;

/** Below this many rows, dropping and re-adding foreign keys and indexes costs more than it saves. */
const BULK_LOAD_MIN_ROWS = 10_000;

/** SQLSTATEs of a duplicate key: in a plain INSERT, and when ON CONFLICT DO UPDATE meets a key twice. */
const UNIQUE_VIOLATION = '23505';
const CARDINALITY_VIOLATION = '21000';

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

const RATING_SEPARATORS: Record<ReleaseFormat, string> = { 'ml-latest': ',', 'ml-100k': '\t', 'ml-1m': '::' };

const seconds = (since: number) => (performance.now() - since) / 1000;

/**
 * Imports a MovieLens release directory (ml-latest-small / ml-latest / ml-25m / ml-32m, ml-100k, ml-1m)
 * into movies, users, ratings and tags.
 *
 * Everything happens in one transaction on one connection: the files stream into TEMP staging tables
 * (COPY, or batched INSERTs on PGlite), then one INSERT … SELECT … ON CONFLICT per table merges them
 * (a plain INSERT with foreign keys and indexes rebuilt when a large table starts out empty).
 * Re-importing a release changes nothing (same counts); a malformed line anywhere rolls everything
 * back and throws MalformedReleaseError listing file:line: reason. Rows already in the database that the
 * release does not mention (onboarded users, their ratings) are left alone. The users id sequence is
 * moved past the largest id so onboarded users continue after the imported ones.
 */
export async function importRelease(
  dataSource: DataSource,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportSummary> {
  const layout = await detectRelease(dir);
  const overviewsFile = options.overviewsFile ?? null;
  if (overviewsFile) {
    if (!layout.linksFile)
      throw new ImportSetupError(
        `overviews are joined on links.csv's tmdbId, but ${dir} (${layout.format}) has no links.csv`,
      );
    const stat = await fs.stat(overviewsFile).catch(() => null);
    if (!stat?.isFile()) throw new ImportSetupError(`overviews file not found: ${overviewsFile}`);
  }

  const started = performance.now();
  const client = await connect(dataSource);
  // A connection whose ROLLBACK failed is in an unknown state; the pool must discard it, not reuse it.
  let broken: Error | undefined;
  let summary: ImportSummary;
  try {
    const bulkLoad =
      !options.bulkLoad || options.bulkLoad === 'auto'
        ? await detectBulkLoadMethod(client)
        : options.bulkLoad;
    const run = new ReleaseImport(client, layout, overviewsFile, bulkLoad, options);
    await client.query('BEGIN');
    try {
      // A release import runs statements of minutes and parses files between them; the API's
      // statement and idle-in-transaction timeouts are for requests, not for this transaction.
      await allowLongStatements(client, true);
      summary = await run.execute();
      await client.query('COMMIT');
      summary.seconds = seconds(started);
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      throw error;
    }
  } finally {
    await allowLongStatements(client, false);
    client.release(broken);
  }

  const hooks = options.afterImport ?? [];
  for (let i = 0; i < hooks.length; i++) {
    try {
      await hooks[i](dataSource.manager, summary);
    } catch (error) {
      throw new AfterImportHookError(summary, i, error);
    }
  }
  return summary;
}

/** A connection of the DataSource's own pg pool: COPY needs the raw client, not a TypeORM query runner. */
async function connect(dataSource: DataSource): Promise<PoolClient> {
  const pool = pgPoolOf(dataSource);
  if (!pool) throw new Error('importRelease needs a DataSource of type postgres');
  return pool.connect();
}

interface LoadedFile {
  stats: FileImportStats;
  totalBytes: number;
}

/** One import: the state that the per-file loaders share (known movies, collected errors). */
class ReleaseImport {
  private readonly started = performance.now();
  private readonly maxReportedErrors: number;
  private readonly errors: MovieLensParseError[] = [];
  private malformedLines = 0;
  /** movieId → line in the movies file, to report duplicates and check references. */
  private readonly releaseMovies = new Map<number, number>();
  private existingMovies: number[] = [];
  /** Movies of the release and of the database, once the movies file is read. */
  private knownMovies = new Set<number>();
  /** References are only checked against a movies file that parsed cleanly, lest one bad line cascade. */
  private moviesFileClean = true;
  private readonly linkedTmdbIds = new Set<number>();
  private readonly loaded = new Map<ImportedFileKind, LoadedFile>();
  /** Tables that were empty and got bulk-loaded. */
  private readonly bulkLoadedTables = new Set<'ratings' | 'tags'>();
  private readonly progressLines = new Map<string, ProgressReporter>();

  constructor(
    private readonly client: PoolClient,
    private readonly layout: ReleaseLayout,
    private readonly overviewsFile: string | null,
    private readonly bulkLoad: BulkLoadMethod,
    private readonly options: ImportOptions,
  ) {
    this.maxReportedErrors = Math.max(1, options.maxReportedErrors ?? 20);
  }

  async execute(): Promise<ImportSummary> {
    const { client, layout } = this;
    // Two imports into the same schema would deadlock on each other's upserts; take turns instead.
    await client.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.cinegraph-import'))`);
    // Keeps the aggregates and sorts over staged rows (users, duplicate ratings) and the index rebuilds
    // of a first import in memory, for releases up to a few million ratings.
    await client.query(`SET LOCAL work_mem = '64MB'`);
    await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
    for (const table of Object.values(STAGING)) await client.query(createStagingTableSql(table));
    const existing = await client.query<{ id: number }>('SELECT id FROM movies');
    this.existingMovies = existing.rows.map((r) => r.id);

    await this.loadMovies();
    await this.loadRatings();
    if (layout.tagsFile) await this.loadTags(layout.tagsFile);
    if (layout.linksFile) await this.loadLinks(layout.linksFile);
    if (this.overviewsFile) await this.loadOverviews(this.overviewsFile);

    if (this.malformedLines > 0)
      throw new MalformedReleaseError(layout.dir, this.errors, this.malformedLines);
    return this.merge();
  }

  private recordError(file: string, line: number, reason: string): void {
    this.malformedLines++;
    if (this.errors.length < this.maxReportedErrors)
      this.errors.push(new MovieLensParseError(path.basename(file), line, reason));
  }

  private knownMovie(movieId: number): boolean {
    return !this.moviesFileClean || this.knownMovies.has(movieId);
  }

  private missingMovieReason(movieId: number): string {
    return `movie ${movieId} is not in ${path.basename(this.layout.moviesFile)}`;
  }

  private emit(
    kind: ImportedFileKind,
    file: string,
    phase: ImportProgress['phase'],
    stats: {
      rows: number;
      bytesRead: number;
      totalBytes: number;
      seconds: number;
    },
  ): void {
    this.options.onProgress?.({
      file: path.basename(file),
      kind,
      phase,
      ...stats,
      rowsPerSecond: stats.seconds > 0 ? stats.rows / stats.seconds : 0,
    });
    this.logProgress(path.basename(file), phase, stats);
  }

  private logProgress(
    file: string,
    phase: ImportProgress['phase'],
    stats: { rows: number; bytesRead: number; totalBytes: number },
  ): void {
    const progressLog = this.options.progressLog;
    if (!progressLog || phase === 'done') return;
    let reporter = this.progressLines.get(file);
    if (!reporter) {
      reporter = new ProgressReporter({ ...progressLog, label: `importing ${file}`, unit: 'rows' });
      this.progressLines.set(file, reporter);
    }
    const fraction = stats.totalBytes > 0 ? stats.bytesRead / stats.totalBytes : undefined;
    reporter.update(stats.rows, { fraction: phase === 'reading' ? fraction : undefined, note: phase });
  }

  /**
   * Streams a MovieLens file into its staging table. `stageLine` parses one line and hands the row to
   * the writer, or throws with the reason. Lines keep being parsed after the first error so every
   * malformed line is counted, but once the import is doomed the writer is withheld (null) and nothing
   * more goes to the server.
   */
  private async loadMovieLensFile(
    kind: FileKind,
    file: string,
    stageLine: (text: string, line: number, writer: StagingWriter | null) => void,
    /** Stages lines[from..] in one go and returns true, or returns false to have them staged line by line. */
    stageWholeBatch?: (lines: readonly string[], from: number, writer: StagingWriter) => boolean,
  ): Promise<void> {
    const started = performance.now();
    const totalBytes = (await fs.stat(file)).size;
    const encoding = file.endsWith('.csv') ? 'utf8' : 'latin1';
    const writer = createStagingWriter(this.client, STAGING[kind], this.bulkLoad);
    let headerPending = this.layout.format === 'ml-latest';
    let rows = 0;
    try {
      for await (const batch of readLineBatches(file, encoding)) {
        const { lines, firstLine } = batch;
        let from = 0;
        if (headerPending && lines.length > 0 && lines[0].length > 0) {
          headerPending = false;
          from = 1;
          if (lines[0] !== CSV_HEADERS[kind])
            this.recordError(file, firstLine, `expected header "${CSV_HEADERS[kind]}", found "${lines[0]}"`);
        }
        if (stageWholeBatch && this.malformedLines === 0 && stageWholeBatch(lines, from, writer)) {
          rows += lines.length - from;
          from = lines.length;
        }
        for (let i = from; i < lines.length; i++) {
          const text = lines[i];
          if (text.length === 0) continue;
          const line = firstLine + i;
          if (headerPending) {
            headerPending = false;
            if (text !== CSV_HEADERS[kind])
              this.recordError(file, line, `expected header "${CSV_HEADERS[kind]}", found "${text}"`);
            continue;
          }
          try {
            stageLine(text, line, this.malformedLines === 0 ? writer : null);
            rows++;
          } catch (error) {
            this.recordError(file, line, (error as Error).message);
          }
        }
        await writer.flush();
        this.emit(kind, file, 'reading', {
          rows,
          bytesRead: batch.bytesRead,
          totalBytes,
          seconds: seconds(started),
        });
      }
      if (headerPending) this.recordError(file, 1, `empty file, expected header "${CSV_HEADERS[kind]}"`);
      await writer.finish();
    } catch (error) {
      await writer.abort(error as Error);
      throw error;
    }
    this.loaded.set(kind, {
      totalBytes,
      stats: {
        file: path.basename(file),
        kind,
        rows,
        loadSeconds: seconds(started),
        mergeSeconds: 0,
        rowsPerSecond: 0,
      },
    });
  }

  private async loadMovies(): Promise<void> {
    const { format, moviesFile } = this.layout;
    const errorsBefore = this.malformedLines;
    await this.loadMovieLensFile('movies', moviesFile, (text, line, writer) => {
      const movie = lineParsers.movies(format, text);
      if (movie.year !== null && (movie.year < MIN_YEAR || movie.year > MAX_YEAR))
        throw new Error(`year ${movie.year} is outside ${MIN_YEAR}..${MAX_YEAR}`);
      const firstLine = this.releaseMovies.get(movie.movieId);
      if (firstLine !== undefined)
        throw new Error(`duplicate movieId ${movie.movieId} (first on line ${firstLine})`);
      this.releaseMovies.set(movie.movieId, line);
      writer?.add([movie.movieId, movie.title, movie.year, movie.genres.join('|')]);
    });
    this.moviesFileClean = this.malformedLines === errorsBefore;
    this.knownMovies = new Set([...this.releaseMovies.keys(), ...this.existingMovies]);
  }

  private async loadRatings(): Promise<void> {
    const { format, ratingsFile } = this.layout;
    const separator = RATING_SEPARATORS[format];
    const rating: RatingRow = { userId: 0, movieId: 0, rating: 0, timestamp: 0 };
    // A line the scanner accepts is digits and dots between separators: COPY text once tab-separated.
    const asCopyText = (text: string) => (separator === '\t' ? text : text.replaceAll(separator, '\t'));
    await this.loadMovieLensFile(
      'ratings',
      ratingsFile,
      (text, _line, writer) => {
        const plain = scanRatingLine(text, separator, rating);
        if (!plain) Object.assign(rating, lineParsers.ratings(format, text));
        if (!this.knownMovie(rating.movieId)) throw new Error(this.missingMovieReason(rating.movieId));
        if (!writer) return;
        if (plain && writer.method === 'copy') writer.addCopyText(asCopyText(text));
        else writer.add([rating.userId, rating.movieId, rating.rating, rating.timestamp]);
      },
      // Nearly every batch is nothing but plain lines; converting each as one string instead of line
      // by line spares tens of thousands of small strings per batch, and the garbage collector with them.
      (lines, from, writer) => {
        if (writer.method !== 'copy') return false;
        for (let i = from; i < lines.length; i++) {
          const text = lines[i];
          if (
            text.length === 0 ||
            !scanRatingLine(text, separator, rating) ||
            !this.knownMovie(rating.movieId)
          )
            return false;
        }
        if (from < lines.length)
          writer.addCopyText(asCopyText((from === 0 ? lines : lines.slice(from)).join('\n')));
        return true;
      },
    );
  }

  private async loadTags(file: string): Promise<void> {
    const { format } = this.layout;
    await this.loadMovieLensFile('tags', file, (text, _line, writer) => {
      const tag = lineParsers.tags(format, text);
      if (!this.knownMovie(tag.movieId)) throw new Error(this.missingMovieReason(tag.movieId));
      writer?.add([tag.userId, tag.movieId, tag.tag, tag.timestamp]);
    });
  }

  private async loadLinks(file: string): Promise<void> {
    const { format } = this.layout;
    const linkLines = new Map<number, number>();
    await this.loadMovieLensFile('links', file, (text, line, writer) => {
      const link = lineParsers.links(format, text);
      // Links describe the release's own movies; they are merged together with them.
      if (this.moviesFileClean && !this.releaseMovies.has(link.movieId))
        throw new Error(this.missingMovieReason(link.movieId));
      const firstLine = linkLines.get(link.movieId);
      if (firstLine !== undefined)
        throw new Error(`duplicate movieId ${link.movieId} (first on line ${firstLine})`);
      linkLines.set(link.movieId, line);
      if (link.tmdbId !== null) this.linkedTmdbIds.add(link.tmdbId);
      writer?.add([link.movieId, link.imdbId, link.tmdbId]);
    });
  }

  private async loadOverviews(file: string): Promise<void> {
    const started = performance.now();
    const totalBytes = (await fs.stat(file)).size;
    const writer = createStagingWriter(this.client, STAGING.overviews, this.bulkLoad);
    // TMDB lists some films twice; the first overview wins so the staging table stays one row per id.
    const staged = new Set<number>();
    try {
      for await (const item of readOverviews(file)) {
        if ('problem' in item) {
          this.recordError(file, item.line, item.problem);
          continue;
        }
        const { tmdbId, overview } = item.record;
        if (!this.linkedTmdbIds.has(tmdbId) || staged.has(tmdbId)) continue;
        staged.add(tmdbId);
        if (this.malformedLines === 0) writer.add([tmdbId, overview]);
        if (staged.size % 1000 === 0) await writer.flush();
      }
      await writer.finish();
    } catch (error) {
      await writer.abort(error as Error);
      if (error instanceof MovieLensParseError) {
        this.recordError(file, error.line, error.reason);
        return;
      }
      throw error;
    }
    const loadSeconds = seconds(started);
    this.emit('overviews', file, 'reading', {
      rows: staged.size,
      bytesRead: totalBytes,
      totalBytes,
      seconds: loadSeconds,
    });
    this.loaded.set('overviews', {
      totalBytes,
      stats: {
        file: path.basename(file),
        kind: 'overviews',
        rows: staged.size,
        loadSeconds,
        mergeSeconds: 0,
        rowsPerSecond: 0,
      },
    });
  }

  /** Times one merge step and attributes it to the files whose rows it merged. */
  private async mergeStep<T>(
    kinds: ImportedFileKind | ImportedFileKind[],
    step: () => Promise<T>,
  ): Promise<T> {
    const entries = (Array.isArray(kinds) ? kinds : [kinds])
      .map((kind) => this.loaded.get(kind))
      .filter((entry) => entry !== undefined);
    for (const { stats, totalBytes } of entries) {
      this.emit(stats.kind, stats.file, 'merging', {
        rows: stats.rows,
        bytesRead: totalBytes,
        totalBytes,
        seconds: stats.loadSeconds,
      });
    }
    const started = performance.now();
    const result = await step();
    const elapsed = seconds(started);
    for (const { stats, totalBytes } of entries) {
      stats.mergeSeconds += elapsed;
      const total = stats.loadSeconds + stats.mergeSeconds;
      stats.rowsPerSecond = total > 0 ? stats.rows / total : 0;
      this.emit(stats.kind, stats.file, 'done', {
        rows: stats.rows,
        bytesRead: totalBytes,
        totalBytes,
        seconds: total,
      });
    }
    return result;
  }

  /**
   * Into an empty table (the first import, where millions of rows may arrive) rows go in through
   * bulkInsertIntoEmpty; this takes the exclusive lock that requires and says whether to.
   */
  private async lockForBulkInsert(table: 'ratings' | 'tags', stagedRows: number): Promise<boolean> {
    const { client } = this;
    const isEmpty = async () => (await client.query(`SELECT 1 FROM ${table} LIMIT 1`)).rowCount === 0;
    if (stagedRows < BULK_LOAD_MIN_ROWS || !(await isEmpty())) return false;
    // Checked again under the lock, so that the table is still empty when the plain INSERT runs.
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return isEmpty();
  }

  /**
   * Ratings into a populated table are an upsert that rewrites only rows whose values changed, so a
   * re-import leaves the table (and the aggregates its triggers maintain) untouched.
   *
   * A file may rate a movie twice for one user; the latest rating stands, as it would in the app. Real
   * releases never do, so the rows first go in as they are, and only if the database meets a duplicate
   * (a unique violation, or ON CONFLICT reaching a row twice) is that undone and the sort that keeps the
   * latest of each pair paid for. Returns the number of ratings in the release.
   */
  private async mergeRatings(): Promise<number> {
    const { client } = this;
    const stagedRows = await this.count(`SELECT count(*) AS n FROM staging_ratings`);
    const bulk = await this.lockForBulkInsert('ratings', stagedRows);
    const insert = (source: string) => {
      const sql = `INSERT INTO ratings AS target (user_id, movie_id, rating, rated_at) ${source}`;
      if (bulk) return this.bulkInsertIntoEmpty('ratings', sql);
      return client.query(`${sql}
        ON CONFLICT (user_id, movie_id) DO UPDATE SET rating = EXCLUDED.rating, rated_at = EXCLUDED.rated_at
        WHERE (target.rating, target.rated_at) IS DISTINCT FROM (EXCLUDED.rating, EXCLUDED.rated_at)`);
    };

    await client.query('SAVEPOINT ratings_as_staged');
    try {
      await insert(`SELECT user_id, movie_id, rating, to_timestamp(rated_at) FROM staging_ratings`);
      await client.query('RELEASE SAVEPOINT ratings_as_staged');
      return stagedRows;
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== UNIQUE_VIOLATION && code !== CARDINALITY_VIOLATION) throw error;
      await client.query('ROLLBACK TO SAVEPOINT ratings_as_staged');
    }
    await insert(`
      SELECT DISTINCT ON (user_id, movie_id) user_id, movie_id, rating, to_timestamp(rated_at)
      FROM staging_ratings
      ORDER BY user_id, movie_id, rated_at DESC`);
    return this.count(
      `SELECT count(*) AS n FROM (SELECT DISTINCT user_id, movie_id FROM staging_ratings) AS pairs`,
    );
  }

  /** Tags are few; identical lines collapse, and tags already present are left as they are. */
  private async mergeTags(): Promise<number> {
    const { client } = this;
    const source = `SELECT DISTINCT user_id, movie_id, tag, to_timestamp(tagged_at) FROM staging_tags`;
    const sql = `INSERT INTO tags (user_id, movie_id, tag, tagged_at) ${source}`;
    const stagedRows = await this.count(`SELECT count(*) AS n FROM staging_tags`);
    if (await this.lockForBulkInsert('tags', stagedRows)) return this.bulkInsertIntoEmpty('tags', sql);
    await client.query(`${sql} ON CONFLICT ON CONSTRAINT tags_natural_key DO NOTHING`);
    return this.count(`SELECT count(*) AS n FROM (${source}) AS release_tags`);
  }

  /**
   * The bulk-loading recipe of the Postgres manual ("Populating a Database"), inside the transaction:
   * drop the foreign keys and secondary indexes, insert, then re-add them. Re-adding a foreign key checks
   * all rows with one join where the per-row RI triggers would take longer than the insert itself, and an
   * index built by sorting beats millions of random insertions once it outgrows shared_buffers. The
   * caller holds an exclusive lock, so a plain INSERT cannot meet a conflicting row. Returns rows inserted.
   */
  private async bulkInsertIntoEmpty(table: 'ratings' | 'tags', insertSql: string): Promise<number> {
    const { client } = this;
    this.bulkLoadedTables.add(table);
    const { rows: foreignKeys } = await client.query<{ name: string; definition: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS definition
       FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY conname`,
      [table],
    );
    // Unique indexes stay: they back constraints, and the primary key is filled in its own order anyway.
    const { rows: indexes } = await client.query<{ name: string; definition: string }>(
      `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition
       FROM pg_index WHERE indrelid = $1::regclass AND NOT indisunique AND NOT indisexclusion ORDER BY 1`,
      [table],
    );
    if (foreignKeys.length > 0)
      await client.query(
        `ALTER TABLE ${table} ${foreignKeys.map((k) => `DROP CONSTRAINT ${quoteIdent(k.name)}`).join(', ')}`,
      );
    for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);

    const inserted = await client.query(insertSql);

    for (const index of indexes) await client.query(index.definition);
    if (foreignKeys.length > 0)
      await client.query(
        `ALTER TABLE ${table} ${foreignKeys.map((k) => `ADD CONSTRAINT ${quoteIdent(k.name)} ${k.definition}`).join(', ')}`,
      );
    return inserted.rowCount ?? 0;
  }

  private async count(sql: string): Promise<number> {
    const { rows } = await this.client.query<{ n: string }>(sql);
    return Number(rows[0].n);
  }

  private async merge(): Promise<ImportSummary> {
    const { client } = this;

    // Links and overviews ride along in the movies upsert: updating the fresh rows afterwards would
    // write every movie twice, GIN index on genres included.
    const withLinks = this.loaded.has('links');
    const withOverviews = this.loaded.has('overviews');
    const columns = ['title', 'year', 'genres'];
    if (withLinks) columns.push('imdb_id', 'tmdb_id');
    const incoming = columns.map((c) => `EXCLUDED.${c}`);
    if (withOverviews) {
      columns.push('overview');
      // A movie TMDB has no overview for keeps the one it has.
      incoming.push('coalesce(EXCLUDED.overview, target.overview)');
    }
    if (withLinks) {
      // Without statistics the planner takes the fresh temp tables for tiny and joins them by nested loop.
      await client.query(
        `ANALYZE staging_movies, staging_links${withOverviews ? ', staging_overviews' : ''}`,
      );
    }
    const mergedKinds: ImportedFileKind[] = ['movies'];
    if (withLinks) mergedKinds.push('links');
    if (withOverviews) mergedKinds.push('overviews');
    await this.mergeStep(mergedKinds, () =>
      client.query(`
        INSERT INTO movies AS target (id, ${columns.join(', ')})
        SELECT m.id, m.title, m.year, string_to_array(m.genres, '|')
          ${withLinks ? ', l.imdb_id, l.tmdb_id' : ''} ${withOverviews ? ', o.overview' : ''}
        FROM staging_movies AS m
        ${withLinks ? 'LEFT JOIN staging_links AS l ON l.movie_id = m.id' : ''}
        ${withOverviews ? 'LEFT JOIN staging_overviews AS o ON o.tmdb_id = l.tmdb_id' : ''}
        ON CONFLICT (id) DO UPDATE SET ${columns.map((c, i) => `${c} = ${incoming[i]}`).join(', ')}
        WHERE (${columns.map((c) => `target.${c}`).join(', ')}) IS DISTINCT FROM (${incoming.join(', ')})`),
    );
    const movies = this.releaseMovies.size;
    const overviews = withOverviews
      ? await this.count(`
          SELECT count(*) AS n
          FROM staging_links AS l JOIN staging_overviews AS o ON o.tmdb_id = l.tmdb_id`)
      : 0;

    // Imported users join when they first rated or tagged, not when the import ran.
    const users = await this.count(`
      WITH seen AS (
        SELECT user_id, min(at) AS first_seen
        FROM (
          SELECT user_id, rated_at AS at FROM staging_ratings
          UNION ALL
          SELECT user_id, tagged_at FROM staging_tags
        ) AS activity
        GROUP BY user_id
      ), inserted AS (
        INSERT INTO users (id, created_at)
        SELECT user_id, to_timestamp(first_seen) FROM seen
        ON CONFLICT (id) DO NOTHING
        RETURNING 1
      )
      SELECT count(*) AS n FROM seen`);

    const ratings = await this.mergeStep('ratings', () => this.mergeRatings());

    const tags = this.loaded.has('tags') ? await this.mergeStep('tags', () => this.mergeTags()) : 0;

    // Versions (src/cache/): every user of the release gets a new ratings version, and the catalog
    // version moves, whose one notice (on commit) outdates every instance's caches at once.
    if (this.loaded.has('ratings'))
      await this.client.query(`
        UPDATE users SET ratings_version = nextval('ratings_version_seq')
         WHERE id IN (SELECT DISTINCT user_id FROM staging_ratings)`);
    await bumpCatalogVersion((sql) => this.client.query(sql));

    // Every table the import wrote. Fresh rows have no column statistics until autovacuum comes by
    // (never, on PGlite), and what runs right after the import (afterImport hooks, the first
    // requests) must not plan blind: with movies never analysed, a genre-filtered search took
    // 14–18 s on ml-latest-small instead of 49 ms.
    const touched = new Set<string>(['movies', 'users', ...this.bulkLoadedTables]);
    if (this.loaded.has('ratings')) touched.add('ratings').add('movie_rating_stats');
    if (this.loaded.has('tags')) touched.add('tags');
    await client.query(`ANALYZE ${[...touched].join(', ')}`);

    await client.query(`
      SELECT setval(pg_get_serial_sequence('users', 'id'), coalesce(max(id), 1), max(id) IS NOT NULL) FROM users`);

    const files = [...this.loaded.values()].map((entry) => entry.stats);
    const ratingStats = this.loaded.get('ratings')?.stats;
    const ratingSeconds = ratingStats ? ratingStats.loadSeconds + ratingStats.mergeSeconds : 0;
    return {
      format: this.layout.format,
      dir: this.layout.dir,
      movies,
      users,
      ratings,
      tags,
      overviews,
      // Replaced by the caller once COMMIT is done, which belongs in the total.
      seconds: seconds(this.started),
      ratingsPerSecond: ratingSeconds > 0 ? ratings / ratingSeconds : 0,
      bulkLoad: this.bulkLoad,
      files,
    };
  }
}
