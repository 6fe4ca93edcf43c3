import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticCatalog, writeSyntheticRelease } from '../../fixtures/synthetic';
import { UsageError } from '../../training/cli';
import { evaluateMain, parseEvaluateArgs } from '../../training/evaluate-cli';
import {
  prepareFold,
  rankingMetrics,
  runEvaluation,
  validationPlan,
  type EvaluationReport,
} from '../../training/evaluate';
import { ProtocolError, temporalSplit, loadEvaluationPlan } from '../../training/protocols';
import { qualityMarkdown } from '../../training/quality-report';
import { registerStrategy, type EvaluationStrategy } from '../../training/strategies';
import type { RatingRecord } from '../../training/dataset';

const row = (userId: number, movieId: number, rating: number, timestamp: number): RatingRecord => ({
  userId,
  movieId,
  rating,
  timestamp,
});

describe('temporal split', () => {
  it('moves each user’s last ceil(20%) ratings, ordered by (timestamp, movieId), to test', () => {
    const rows = [
      // user 1: 6 ratings → ceil(1.2) = 2 in test; the tie at t=50 is broken by movieId.
      row(1, 10, 4, 10),
      row(1, 11, 3, 20),
      row(1, 15, 5, 50),
      row(1, 12, 2, 50),
      row(1, 13, 1, 30),
      row(1, 14, 4, 40),
      // user 2: 2 ratings → ceil(0.4) = 1 in test.
      row(2, 10, 5, 200),
      row(2, 11, 4, 100),
    ];
    const { train, test } = temporalSplit(rows);
    expect(test.map((r) => [r.userId, r.movieId])).toEqual([
      [1, 12],
      [1, 15],
      [2, 10],
    ]);
    expect(train).toHaveLength(5);
  });
});

describe('evaluate CLI arguments', () => {
  it('rejects an unknown protocol with the list of valid ones', () => {
    expect(() => parseEvaluateArgs(['--data', 'x', '--protocol', 'kfold'])).toThrow(UsageError);
    expect(() => parseEvaluateArgs(['--data', 'x', '--protocol', 'kfold'])).toThrow(
      'unknown protocol "kfold" (expected one of: ml100k-folds, ml100k-u1, temporal, split)',
    );
  });

  it('requires what each protocol needs', () => {
    expect(() => parseEvaluateArgs(['--data', 'x'])).toThrow('--protocol is required');
    expect(() => parseEvaluateArgs(['--protocol', 'temporal'])).toThrow('--protocol temporal needs --data');
    expect(() => parseEvaluateArgs(['--protocol', 'split', '--train', 'a'])).toThrow(
      /needs --train <file> and --test/,
    );
    expect(() => parseEvaluateArgs(['--protocol', 'ml100k-u1', '--data', 'x', '--train', 'a'])).toThrow(
      /only apply to --protocol split/,
    );
  });

  it('rejects unknown strategies and flags', () => {
    expect(() =>
      parseEvaluateArgs(['--protocol', 'temporal', '--data', 'x', '--strategies', 'popularity,magic']),
    ).toThrow(/unknown strategy magic \(known: popularity, baseline, svd/);
    expect(() => parseEvaluateArgs(['--protocol', 'temporal', '--data', 'x', '--bogus'])).toThrow(UsageError);
    expect(() => parseEvaluateArgs(['--protocol', 'temporal', '--data', 'x', '--threads', '0'])).toThrow(
      /threads/,
    );
  });

  it('parses a complete command line', () => {
    expect(
      parseEvaluateArgs([
        '--protocol',
        'split',
        '--train',
        'a',
        '--test',
        'b',
        '--strategies',
        'popularity, svd',
      ]),
    ).toEqual({
      protocol: 'split',
      data: undefined,
      train: 'a',
      test: 'b',
      strategies: ['popularity', 'svd'],
      json: undefined,
      seed: 42,
      threads: 1,
      validationOnly: false,
    });
    expect(parseEvaluateArgs(['--help'])).toBe('help');
  });

  it('reports a missing ml-100k directory clearly', async () => {
    await expect(loadEvaluationPlan('ml100k-u1', { data: '/nonexistent/ml-100k' })).rejects.toThrow(
      ProtocolError,
    );
  });
});

describe('ranking harness', () => {
  it('ranks only items unrated in train, over the train ∪ test catalog', () => {
    // Items 1..4; user 1 rated 1 and 2 in train; item 4 appears only in test.
    const fold = {
      name: 'tiny',
      train: [row(1, 1, 5, 1), row(1, 2, 4, 2), row(2, 3, 5, 3)],
      test: [row(1, 4, 5, 4), row(1, 3, 3, 5)],
      ratingMetrics: true,
      rankingMetrics: true,
    };
    const { train, test } = prepareFold(fold);
    expect(Array.from(train.itemIds)).toEqual([1, 2, 3, 4]);
    // Scores by item index: prefers train items, then 3, then 4.
    const strategy: EvaluationStrategy = {
      name: 'fixed',
      fit: () => undefined,
      scoreAll: (_user, out) => out.set([10, 9, 2, 1]),
    };
    const metrics = rankingMetrics(strategy, train, test);
    // Only item 4 (rated 5) is relevant; the list is [3, 4] once 1 and 2 are excluded: a hit at rank 2.
    expect(metrics?.users).toBe(1);
    expect(metrics?.ndcg10).toBeCloseTo(1 / Math.log2(3), 12);
    expect(metrics?.coverage).toBeCloseTo(2 / 4, 12);
  });
});

describe('validation-only evaluation', () => {
  it('replaces each test set by the latest part of its own training data, never reading the test set', () => {
    const train = [1, 2, 3].flatMap((userId) =>
      Array.from({ length: 10 }, (_, n) => row(userId, 10 + n, 1 + (n % 5), 1000 + n)),
    );
    const test = [row(1, 99, 5, 5000), row(2, 98, 4, 5001)];
    const plan = {
      dataset: 'tiny',
      protocol: 'temporal' as const,
      folds: [{ name: 'f', train, test, ratingMetrics: true, rankingMetrics: true }],
    };
    const [fold] = validationPlan(plan, 'temporal', 1).folds;
    expect(fold.train.length + fold.test.length).toBe(train.length);
    expect(fold.test.some((r) => r.movieId >= 98)).toBe(false);
    // Each user's latest 20% (2 of 10) are held out, the rest is what strategies fit on.
    expect(fold.test.map((r) => `${r.userId}:${r.movieId}`).sort()).toEqual([
      '1:18',
      '1:19',
      '2:18',
      '2:19',
      '3:18',
      '3:19',
    ]);
    expect(fold.test.every((r) => r.timestamp >= 1008)).toBe(true);
  });

  it('refuses to record a validation run in the quality report', async () => {
    await expect(
      evaluateMain(['--protocol', 'temporal', '--data', 'x', '--validation-only', '--report', 'r']),
    ).rejects.toThrow(UsageError);
  });
});

describe('evaluation end to end', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-evaluate-'));
    const catalog = generateSyntheticCatalog({ seed: 5, users: 120, movies: 150 });
    await writeSyntheticRelease(path.join(dir, 'release'), catalog);
    // The same ratings as an ml-100k style tab-separated train/test pair, for the split protocol.
    const { train, test } = temporalSplit(catalog.ratings);
    const tsv = (rows: RatingRecord[]) =>
      rows.map((r) => `${r.userId}\t${r.movieId}\t${Math.round(r.rating)}\t${r.timestamp}`).join('\n') + '\n';
    await fs.writeFile(path.join(dir, 'train.base'), tsv(train));
    await fs.writeFile(path.join(dir, 'test.test'), tsv(test));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('runs the temporal protocol on a release directory and writes the JSON report', async () => {
    const json = path.join(dir, 'out', 'temporal.json');
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await evaluateMain([
        '--data',
        path.join(dir, 'release'),
        '--protocol',
        'temporal',
        '--strategies',
        'popularity,baseline,svd',
        '--json',
        json,
      ]);
      expect(String(write.mock.calls[0][0])).toMatch(
        /^\*\*release\*\*, protocol `temporal`\n\n\| strategy \| RMSE/,
      );
    } finally {
      write.mockRestore();
      stderr.mockRestore();
    }
    const report = JSON.parse(await fs.readFile(json, 'utf8')) as EvaluationReport;
    expect(report.dataset).toBe('release');
    expect(report.protocol).toBe('temporal');
    expect(report.results.map((r) => r.strategy)).toEqual(['popularity', 'baseline', 'svd']);
    const [popularity, baseline, svd] = report.results;
    expect(Object.keys(popularity).sort()).toEqual(
      [
        'coverage',
        'fitNotes',
        'folds',
        'hitRate10',
        'mae',
        'ndcg10',
        'precision10',
        'recall10',
        'rmse',
        'strategy',
        'trainSeconds',
      ].sort(),
    );
    expect(popularity.rmse).toBeNull();
    expect(popularity.mae).toBeNull();
    expect(popularity.folds).toBeNull();
    for (const result of [popularity, baseline, svd]) {
      expect(result.ndcg10).toBeGreaterThan(0);
      expect(result.coverage).toBeGreaterThan(0);
    }
    expect(svd.rmse).toBeLessThan(baseline.rmse as number);
  });

  it('adds a run to the one-page quality report (Markdown + SVG) and re-renders it on its own', async () => {
    const reportDir = path.join(dir, 'quality');
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const args = ['--protocol', 'split', '--train', path.join(dir, 'train.base')];
      await evaluateMain([
        ...args,
        '--test',
        path.join(dir, 'test.test'),
        '--strategies',
        'popularity,svd',
        '--report',
        reportDir,
      ]);
      const page = await fs.readFile(path.join(reportDir, 'README.md'), 'utf8');
      expect(page).toMatch(/\| strategy \| train\.base\+test\.test · split \|/);
      expect(page).toMatch(/\| popularity \| 0\.\d{4} \|/);
      expect(page).toContain('![NDCG@10, Recall@10 and coverage per strategy and protocol](quality.svg)');
      expect(page).toMatch(/load average [\d.]+ [\d.]+ [\d.]+ on \d+ cores/);
      const svg = await fs.readFile(path.join(reportDir, 'quality.svg'), 'utf8');
      // Two strategies × three metrics, each a bar with its value as a tooltip.
      expect(
        svg.match(/<title>(popularity|svd) (NDCG@10|Recall@10|Coverage) 0\.\d{4}<\/title>/g),
      ).toHaveLength(6);
      await fs.rm(path.join(reportDir, 'README.md'));
      await evaluateMain(['--report', reportDir, '--render-only']);
      expect(await fs.readFile(path.join(reportDir, 'README.md'), 'utf8')).toBe(page);
    } finally {
      write.mockRestore();
      stderr.mockRestore();
    }
  });

  it('runs the split protocol with a plugged-in strategy', async () => {
    registerStrategy({
      name: 'test-constant',
      description: 'predicts 3 everywhere',
      create: () => ({ name: 'test-constant', fit: () => undefined, predict: () => 3 }),
    });
    const plan = await loadEvaluationPlan('split', {
      train: path.join(dir, 'train.base'),
      test: path.join(dir, 'test.test'),
    });
    const report = await runEvaluation(plan, ['test-constant', 'popularity'], { seed: 1, threads: 1 });
    expect(report.dataset).toBe('train.base+test.test');
    const constant = report.results[0];
    expect(constant.rmse).toBeGreaterThan(0);
    // Constant scores rank by index: still a valid (if poor) ranking.
    expect(constant.ndcg10).not.toBeNull();
    expect(report.comparisons).toBeUndefined();
  });

  it('compares a strategy that blends engines with the best one that does not, on the page too', async () => {
    // Scores items by index: a poor blend, so the interval must sit below zero.
    registerStrategy({
      name: 'test-blend-by-index',
      blendsEngines: true,
      description: 'ranks by item index',
      create: () => ({
        name: 'test-blend-by-index',
        fit: () => undefined,
        scoreAll: (_user, out) => out.forEach((_, item) => (out[item] = -item)),
      }),
    });
    const plan = await loadEvaluationPlan('split', {
      train: path.join(dir, 'train.base'),
      test: path.join(dir, 'test.test'),
    });
    const report = await runEvaluation(plan, ['popularity', 'test-blend-by-index'], { seed: 1, threads: 1 });
    const [popularity, blend] = report.results;
    expect(report.comparisons).toHaveLength(1);
    const [comparison] = report.comparisons ?? [];
    expect(comparison).toMatchObject({ strategy: 'test-blend-by-index', against: 'popularity', users: 120 });
    expect(comparison.difference).toBeCloseTo((blend.ndcg10 as number) - (popularity.ndcg10 as number), 12);
    expect(comparison.high).toBeLessThan(0);
    const page = qualityMarkdown([
      { report, measuredAt: '2026-12-06T00:00:00.000Z', loadAverage: [1, 1, 1], cores: 2, arguments: [] },
    ]);
    expect(page).toContain('## Blends against the best single strategy');
    expect(page).toMatch(/\| test-blend-by-index \| −0\.\d{4} \[−0\.\d{4}, −0\.\d{4}\] vs popularity \|/);
    expect(page).toMatch(
      /\| split \| test-blend-by-index \| popularity \| −0\.\d{4} \| .* \| 120 \| behind \|/,
    );
  });
});
