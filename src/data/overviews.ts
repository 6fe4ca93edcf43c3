import { createReadStream } from 'node:fs';
import path from 'node:path';
import { parse, type CsvError } from 'csv-parse';
import { MovieLensParseError } from './movielens/formats';

export interface OverviewRecord {
  tmdbId: number;
  overview: string;
}

/** Either a usable record or the reason one record (not the whole file) is unusable. */
export type OverviewLine = { line: number; record: OverviewRecord } | { line: number; problem: string };

/**
 * Streams (tmdbId, overview) pairs out of the Kaggle TMDB 5000 `tmdb_5000_movies.csv` (or any CSV
 * with `id` and `overview` columns). Its fields are quoted JSON blobs and prose that can span lines,
 * so this needs a real CSV parser rather than the line splitter the MovieLens files get away with.
 * A structural CSV error ends the file and is thrown as MovieLensParseError with the line.
 */
export async function* readOverviews(file: string): AsyncGenerator<OverviewLine> {
  const name = path.basename(file);
  const parser = createReadStream(file).pipe(
    parse({ columns: true, bom: true, info: true, skip_empty_lines: true }),
  );
  let previousEnd = 1;
  try {
    for await (const item of parser as AsyncIterable<{
      record: Record<string, string>;
      info: { lines: number };
    }>) {
      const line = previousEnd + 1;
      previousEnd = item.info.lines;
      const { id, overview } = item.record;
      if (id === undefined || overview === undefined) {
        throw new MovieLensParseError(name, 1, 'expected a header with "id" and "overview" columns');
      }
      const text = id.trim();
      if (!/^\d+$/.test(text) || Number(text) <= 0 || Number(text) > 2147483647) {
        yield { line, problem: `id must be a positive integer TMDB id, got "${id}"` };
        continue;
      }
      const trimmed = overview.trim();
      if (trimmed === '') continue;
      if (trimmed.includes('\0')) {
        yield { line, problem: 'overview contains a NUL character' };
        continue;
      }
      yield { line, record: { tmdbId: Number(text), overview: trimmed } };
    }
  } catch (error) {
    if (error instanceof MovieLensParseError) throw error;
    const csvError = error as CsvError & { lines?: number };
    const line = typeof csvError.lines === 'number' ? csvError.lines : parser.info.lines;
    throw new MovieLensParseError(name, line, csvError.message);
  } finally {
    parser.destroy();
  }
}
