import { promises as fs } from 'node:fs';
import path from 'node:path';
import { detectRelease, readRatingsFile } from '../src/data/movielens/formats';
import type { RatingRecord } from './dataset';

export const PROTOCOLS = ['ml100k-folds', 'ml100k-u1', 'temporal', 'split'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

export function isProtocolName(name: string): name is ProtocolName {
  return (PROTOCOLS as readonly string[]).includes(name);
}

export interface EvaluationFold {
  readonly name: string;
  readonly train: readonly RatingRecord[];
  readonly test: readonly RatingRecord[];
  /** Whether RMSE/MAE are measured on this fold. */
  readonly ratingMetrics: boolean;
  /** Whether ranking metrics are measured on this fold. */
  readonly rankingMetrics: boolean;
}

export interface EvaluationPlan {
  readonly dataset: string;
  readonly protocol: ProtocolName;
  readonly folds: EvaluationFold[];
}

export interface ProtocolSource {
  /** A MovieLens directory (or, for temporal, also a single ratings file). */
  readonly data?: string;
  readonly train?: string;
  readonly test?: string;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export const TEMPORAL_TEST_FRACTION = 0.2;

/**
 * Per-user temporal split: each user's ratings sorted by (timestamp, movieId), the last
 * ceil(fraction · n) go to test. Every user therefore keeps their oldest ratings in train (a user with
 * a single rating is entirely in test).
 */
export function temporalSplit(
  rows: readonly RatingRecord[],
  fraction = TEMPORAL_TEST_FRACTION,
): { train: RatingRecord[]; test: RatingRecord[] } {
  const byUser = new Map<number, RatingRecord[]>();
  for (const row of rows) {
    const list = byUser.get(row.userId);
    if (list) list.push(row);
    else byUser.set(row.userId, [row]);
  }
  const train: RatingRecord[] = [];
  const test: RatingRecord[] = [];
  for (const userId of [...byUser.keys()].sort((a, b) => a - b)) {
    const list = byUser.get(userId) as RatingRecord[];
    list.sort((a, b) => a.timestamp - b.timestamp || a.movieId - b.movieId);
    const testCount = Math.ceil(fraction * list.length);
    train.push(...list.slice(0, list.length - testCount));
    test.push(...list.slice(list.length - testCount));
  }
  return { train, test };
}

async function isDirectory(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (stat) => stat.isDirectory(),
    () => false,
  );
}

async function requireFile(file: string, hint: string): Promise<string> {
  const found = await fs.stat(file).then(
    (stat) => stat.isFile(),
    () => false,
  );
  if (!found) throw new ProtocolError(`${file} not found (${hint})`);
  return file;
}

async function ml100kFold(dir: string, fold: number, ratingMetrics: boolean, rankingMetrics: boolean) {
  const hint = 'the ml100k protocols need the official ml-100k directory with u1..u5 .base/.test';
  const [train, test] = await Promise.all([
    requireFile(path.join(dir, `u${fold}.base`), hint).then(readRatingsFile),
    requireFile(path.join(dir, `u${fold}.test`), hint).then(readRatingsFile),
  ]);
  return { name: `u${fold}`, train, test, ratingMetrics, rankingMetrics };
}

/** Resolves a protocol to its train/test folds, reading the rating files it names. */
export async function loadEvaluationPlan(
  protocol: ProtocolName,
  source: ProtocolSource,
): Promise<EvaluationPlan> {
  switch (protocol) {
    case 'ml100k-folds':
    case 'ml100k-u1': {
      const dir = source.data;
      if (!dir || !(await isDirectory(dir)))
        throw new ProtocolError(`--protocol ${protocol} needs --data <ml-100k dir>`);
      const folds =
        protocol === 'ml100k-u1'
          ? [await ml100kFold(dir, 1, true, true)]
          : await Promise.all([1, 2, 3, 4, 5].map((fold) => ml100kFold(dir, fold, true, fold === 1)));
      return { dataset: path.basename(path.resolve(dir)), protocol, folds };
    }
    case 'temporal': {
      const data = source.data;
      if (!data) throw new ProtocolError('--protocol temporal needs --data <movielens dir or ratings file>');
      const ratingsFile = (await isDirectory(data)) ? (await detectRelease(data)).ratingsFile : data;
      const { train, test } = temporalSplit(
        await readRatingsFile(await requireFile(ratingsFile, 'ratings file')),
      );
      const dataset = path.basename(path.resolve((await isDirectory(data)) ? data : path.dirname(data)));
      return {
        dataset,
        protocol,
        folds: [{ name: 'temporal', train, test, ratingMetrics: true, rankingMetrics: true }],
      };
    }
    case 'split': {
      if (!source.train || !source.test)
        throw new ProtocolError('--protocol split needs --train <file> and --test <file>');
      const [train, test] = await Promise.all([
        requireFile(source.train, '--train').then(readRatingsFile),
        requireFile(source.test, '--test').then(readRatingsFile),
      ]);
      const dataset = source.data
        ? path.basename(path.resolve(source.data))
        : `${path.basename(source.train)}+${path.basename(source.test)}`;
      return {
        dataset,
        protocol,
        folds: [{ name: 'split', train, test, ratingMetrics: true, rankingMetrics: true }],
      };
    }
  }
}
