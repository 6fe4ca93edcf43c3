import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { predictBiased } from '../../src/engines/collaborative/kernels/biased-mf';
import { pureSvdScores, pureSvdUserVector } from '../../src/engines/collaborative/kernels/pure-svd';
import { topK } from '../../src/engines/collaborative/kernels/top-k';
import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { UsageError } from '../../training/cli';
import { datasetFromRows } from '../../training/dataset';
import { fileModelSink, readModelFiles } from '../../training/model-files';
import { DEFAULT_BIASED_MF_OPTIONS, DEFAULT_PURE_SVD_OPTIONS } from '../../training/options';
import { learningCurveSvg, niceTicks, writeTrainingReport } from '../../training/report';
import { parseTrainArgs } from '../../training/train-cli';
import {
  trainModels,
  type TrainedModels,
  type TrainingProgress,
  type TrainOptions,
} from '../../training/train';
import { factorsOf } from '../helpers/top-n';

const options: TrainOptions = {
  biased: {
    ...DEFAULT_BIASED_MF_OPTIONS,
    factors: 8,
    epochs: 30,
    lrFactor: 0.02,
    regFactor: 0.05,
    initStd: 0.1,
    validationFraction: 0.1,
    patience: 5,
  },
  topN: { ...DEFAULT_PURE_SVD_OPTIONS, rank: 6 },
  topNModel: 'puresvd',
};

describe('trainModels', () => {
  const catalog = generateSyntheticCatalog({ seed: 11, users: 200, movies: 200 });
  const dataset = datasetFromRows(catalog.ratings);
  let models: TrainedModels;
  const progress: TrainingProgress[] = [];
  let dir: string;

  beforeAll(async () => {
    models = await trainModels(dataset, options, (p) => progress.push(p));
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-train-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it('trains both models with ids, metrics, curve and progress', () => {
    expect(models.biased.k).toBe(8);
    expect(models.biased.userIds).toBe(dataset.userIds);
    expect(models.biased.userFactors).toHaveLength(dataset.numUsers * 8);
    expect(factorsOf(models.topN)).toHaveLength(dataset.numItems * 6);
    expect(models.metrics.numRatings).toBe(dataset.size);
    expect(models.metrics.validationRatings).toBe(Math.round(0.1 * dataset.size));
    expect(models.metrics.validationRmse).toBeLessThan(0.8);
    expect(models.curve.length).toBe(models.metrics.epochsRun);
    const epochs = progress.filter((p) => p.stage === 'biased');
    expect(epochs).toHaveLength(models.metrics.epochsRun);
    expect(progress.at(-1)).toEqual({ stage: 'topN', done: true });
  });

  it('ranks a user’s planted favourites with the top-N model', () => {
    // For one user, compare the top 20 of the PureSVD scores with the top 20 of the planted scores.
    const { truth } = catalog;
    const userId = 42;
    const user = Array.from(dataset.userIds).indexOf(userId);
    const positions = Array.from(dataset.users.keys()).filter((n) => dataset.users[n] === user);
    const topN = models.topN;
    if (topN.kind !== 'puresvd') throw new Error('this model was forced to PureSVD');
    const vector = new Float64Array(topN.rank);
    pureSvdUserVector(
      topN,
      positions.map((n) => dataset.items[n]),
      positions.map((n) => dataset.ratings[n]),
      vector,
    );
    const scores = new Float32Array(dataset.numItems);
    pureSvdScores(topN, vector, scores);
    const planted = Float32Array.from(
      dataset.itemIds,
      (movieId) =>
        truth.movieBias[movieId - 1] +
        truth.userFactors[userId - 1].reduce((s, p, f) => s + p * truth.movieFactors[movieId - 1][f], 0),
    );
    const top = new Set(topK(scores, 20));
    const plantedTop = topK(planted, 60);
    const bottom = topK(
      planted.map((v) => -v),
      60,
    );
    const overlap = (list: Int32Array) => list.filter((item) => top.has(item)).length;
    expect(overlap(plantedTop)).toBeGreaterThan(overlap(bottom));
  });

  it('writes and reads back model files', async () => {
    const location = await fileModelSink(path.join(dir, 'models')).save(models);
    const loaded = await readModelFiles(location);
    expect(Array.from(loaded.biased.userFactors)).toEqual(Array.from(models.biased.userFactors));
    expect(Array.from(loaded.biased.itemIds)).toEqual(Array.from(models.biased.itemIds));
    expect(Array.from(factorsOf(loaded.topN))).toEqual(Array.from(factorsOf(models.topN)));
    expect(loaded.biased.mu).toBe(models.biased.mu);
    expect(predictBiased(loaded.biased, 3, 5)).toBe(predictBiased(models.biased, 3, 5));
    expect(loaded.metrics).toEqual(models.metrics);
  });

  it('writes the report JSON and a learning-curve SVG', async () => {
    const paths = await writeTrainingReport(path.join(dir, 'report'), {
      createdAt: '2024-01-01T00:00:00.000Z',
      source: 'synthetic',
      options,
      metrics: models.metrics,
      curve: models.curve,
      modelLocation: null,
    });
    const report = JSON.parse(await fs.readFile(paths.json, 'utf8'));
    expect(report.metrics.bestEpochs).toEqual(models.metrics.bestEpochs);
    expect(report.curve).toHaveLength(models.curve.length);
    const svg = await fs.readFile(paths.svg, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain(`best epoch ${models.metrics.bestEpochs[0]}`);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
  });
});

describe('learning curve SVG', () => {
  it('plots one point per epoch for each series', () => {
    const curve = [1, 2, 3].map((epoch) => ({
      restart: 0,
      epoch,
      trainRmse: 1 / epoch,
      validationRmse: epoch === 2 ? null : 1.1 / epoch,
      lrFactor: 0.01,
      seconds: 0.1,
    }));
    const svg = learningCurveSvg(curve, null);
    const [train, validation] = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1].split(' '));
    expect(train).toHaveLength(3);
    expect(validation).toHaveLength(2);
    expect(svg).not.toContain('best epoch');
  });

  it('picks round tick values', () => {
    expect(niceTicks(0.81, 0.99)).toEqual([0.85, 0.9, 0.95]);
    expect(niceTicks(0.8, 1, 10)).toEqual([0.8, 0.82, 0.84, 0.86, 0.88, 0.9, 0.92, 0.94, 0.96, 0.98, 1]);
    expect(niceTicks(1, 20, 10)).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
  });
});

describe('train CLI arguments', () => {
  it('maps flags onto the options, defaulting to the tuned values', () => {
    const args = parseTrainArgs(
      [
        '--data',
        'ratings.csv',
        '--factors',
        '64',
        '--lr',
        '0.01',
        '--validation',
        '0.1',
        '--topn-factors',
        '30',
      ],
      new Date('2024-05-06T07:08:09.010Z'),
    );
    if (args === 'help') throw new Error('unexpected help');
    expect(args.out).toBe(path.join('reports', 'train-2024-05-06T07-08-09-010Z'));
    expect(args.options.biased).toEqual({
      ...DEFAULT_BIASED_MF_OPTIONS,
      factors: 64,
      lrFactor: 0.01,
      validationFraction: 0.1,
    });
    expect(args.options.topN).toEqual({ ...DEFAULT_PURE_SVD_OPTIONS, rank: 30 });
  });

  it('rejects bad values', () => {
    expect(() => parseTrainArgs([])).toThrow('--data is required');
    expect(() => parseTrainArgs(['--data', 'x', '--factors', 'many'])).toThrow(UsageError);
    expect(() => parseTrainArgs(['--data', 'x', '--bias-init', 'random'])).toThrow(/bias-init/);
    expect(() => parseTrainArgs(['--data', 'x', '--topn-encoding', 'stars'])).toThrow(/topn-encoding/);
  });
});
