import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSyntheticCatalog } from '../../fixtures/synthetic';
import { UsageError } from '../../training/cli';
import { datasetFromRows } from '../../training/dataset';
import { fileModelSink, readModelFiles } from '../../training/model-files';
import {
  DEFAULT_BIASED_MF_OPTIONS,
  DEFAULT_EASE_OPTIONS,
  DEFAULT_IALS_OPTIONS,
  DEFAULT_PURE_SVD_OPTIONS,
} from '../../training/options';
import { parseTrainArgs } from '../../training/train-cli';
import { trainModels } from '../../training/train';
import { sampleUsers, selectTopNModel, type TopNCandidates } from '../../training/topn-strategies';
import { carveValidation } from '../../training/validation-split';

const catalog = generateSyntheticCatalog({ seed: 13, users: 200, movies: 150 });
const dataset = datasetFromRows(catalog.ratings);

const GOOD = {
  puresvd: { ...DEFAULT_PURE_SVD_OPTIONS, rank: 8 },
  ials: { ...DEFAULT_IALS_OPTIONS, rank: 8, epochs: 6 },
  ease: { ...DEFAULT_EASE_OPTIONS, minRatings: 1 },
} satisfies TopNCandidates;
const figure = (value: number | undefined) => {
  if (value === undefined) throw new Error('a candidate was not fitted');
  return value;
};

describe('validation splits carved from training data', () => {
  it('temporal: each user’s latest ratings, every user keeping at least one to fit on', () => {
    const { fit, validation } = carveValidation(dataset, 'temporal', 1);
    expect(fit.size + validation.size).toBe(dataset.size);
    const latestFit = new Map<number, number>();
    for (let n = 0; n < fit.size; n++)
      latestFit.set(fit.users[n], Math.max(latestFit.get(fit.users[n]) ?? -Infinity, fit.timestamps[n]));
    for (let n = 0; n < validation.size; n++)
      expect(validation.timestamps[n]).toBeGreaterThanOrEqual(latestFit.get(validation.users[n])!);
    expect(latestFit.size).toBe(new Set(dataset.users).size);
    expect(validation.size / dataset.size).toBeGreaterThan(0.18);
  });

  it('random: a seeded 10% of the ratings', () => {
    const a = carveValidation(dataset, 'random', 1);
    const b = carveValidation(dataset, 'random', 1);
    expect(a.validation.size).toBe(Math.round(0.1 * dataset.size));
    expect(a.validation.items).toEqual(b.validation.items);
  });
});

describe('user samples for the choice at scale', () => {
  it('keeps every rating of at most n users, the same users for the same seed', () => {
    const usersOf = (d: typeof dataset) => new Set(Array.from(d.users));
    const sample = sampleUsers(dataset, 50, 3);
    const kept = usersOf(sample);
    expect(kept.size).toBe(50);
    let expected = 0;
    for (let n = 0; n < dataset.size; n++) if (kept.has(dataset.users[n])) expected++;
    expect(sample.size).toBe(expected);
    expect(usersOf(sampleUsers(dataset, 50, 3))).toEqual(kept);
    expect(usersOf(sampleUsers(dataset, 50, 4))).not.toEqual(kept);
    expect(sampleUsers(dataset, dataset.numUsers, 3)).toBe(dataset);
  });
});

describe('choosing the top-N model on validation', () => {
  it('keeps the candidate with the higher validation NDCG@10, whichever it is', async () => {
    // A crippled candidate on each side in turn: the choice must follow the figures.
    const crippledIals = { puresvd: GOOD.puresvd, ials: { ...GOOD.ials, regularization: 1e4 } };
    const first = await selectTopNModel(dataset, crippledIals, 'temporal', 1);
    expect(figure(first.validationNdcg10.puresvd)).toBeGreaterThan(figure(first.validationNdcg10.ials));
    expect(first.validationNdcg10.ease).toBeUndefined();
    expect(first.kind).toBe('puresvd');

    const crippledPureSvd = { ...GOOD.puresvd, rank: 1, popularityExponent: -3 };
    const second = await selectTopNModel(
      dataset,
      { puresvd: crippledPureSvd, ials: GOOD.ials },
      'temporal',
      1,
    );
    expect(figure(second.validationNdcg10.ials)).toBeGreaterThan(figure(second.validationNdcg10.puresvd));
    expect(second.kind).toBe('ials');
    expect(second.validationRatings).toBeGreaterThan(0);

    // Three candidates, two of them crippled: the third wins.
    const third = await selectTopNModel(
      dataset,
      { puresvd: crippledPureSvd, ials: crippledIals.ials, ease: GOOD.ease },
      'temporal',
      1,
    );
    const ease = figure(third.validationNdcg10.ease);
    expect(ease).toBeGreaterThan(figure(third.validationNdcg10.puresvd));
    expect(ease).toBeGreaterThan(figure(third.validationNdcg10.ials));
    expect(third.kind).toBe('ease');
  });

  it('training stores the chosen kind and its figures; files round-trip an iALS model', async () => {
    const biased = { ...DEFAULT_BIASED_MF_OPTIONS, factors: 4, epochs: 3 };
    const chosen = await trainModels(dataset, {
      biased,
      topN: GOOD.puresvd,
      ials: GOOD.ials,
      topNModel: 'select',
    });
    const selection = chosen.metrics.topNSelection!;
    expect(chosen.topN.kind).toBe(
      figure(selection.validationNdcg10.ials) > figure(selection.validationNdcg10.puresvd)
        ? 'ials'
        : 'puresvd',
    );
    expect(chosen.metrics.topNKind).toBe(chosen.topN.kind);

    const forced = await trainModels(dataset, {
      biased,
      topN: GOOD.puresvd,
      ials: GOOD.ials,
      topNModel: 'ials',
    });
    expect(forced.metrics.topNSelection).toBeNull();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-ials-files-'));
    try {
      const loaded = await readModelFiles(await fileModelSink(dir).save(forced));
      if (loaded.topN.kind !== 'ials' || forced.topN.kind !== 'ials') throw new Error('expected iALS');
      expect(loaded.topN.unobservedWeight).toBe(GOOD.ials.unobservedWeight);
      expect(loaded.topN.regularization).toBe(GOOD.ials.regularization);
      expect(Array.from(loaded.topN.itemFactors)).toEqual(Array.from(forced.topN.itemFactors));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('files round-trip an EASE model', async () => {
    const forced = await trainModels(dataset, {
      biased: { ...DEFAULT_BIASED_MF_OPTIONS, factors: 4, epochs: 3 },
      topN: GOOD.puresvd,
      ease: { ...GOOD.ease, minRatings: 5 },
      topNModel: 'ease',
    });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cinegraph-ease-files-'));
    try {
      const loaded = await readModelFiles(await fileModelSink(dir).save(forced));
      if (loaded.topN.kind !== 'ease' || forced.topN.kind !== 'ease') throw new Error('expected EASE');
      expect(forced.topN.columns.length).toBeGreaterThan(10);
      expect(forced.topN.columns.length).toBeLessThan(dataset.numItems);
      expect(loaded.topN.lambda).toBe(forced.topN.lambda);
      expect(loaded.topN.numItems).toBe(dataset.numItems);
      expect(Array.from(loaded.topN.columns)).toEqual(Array.from(forced.topN.columns));
      expect(Array.from(loaded.topN.weights)).toEqual(Array.from(forced.topN.weights));
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('train CLI: top-N flags', () => {
  it('maps the iALS and selection flags', () => {
    const args = parseTrainArgs([
      '--data',
      'x',
      '--topn-model',
      'ials',
      '--topn-validation',
      'random',
      '--ials-factors',
      '32',
      '--ials-unobserved',
      '0.7',
    ]);
    if (args === 'help') throw new Error('unexpected help');
    expect(args.options.topNModel).toBe('ials');
    expect(args.options.topNValidation).toBe('random');
    expect(args.options.ials).toEqual({ ...DEFAULT_IALS_OPTIONS, rank: 32, unobservedWeight: 0.7 });
  });

  it('rejects bad values', () => {
    expect(() => parseTrainArgs(['--data', 'x', '--topn-model', 'svd'])).toThrow(/topn-model/);
    expect(() => parseTrainArgs(['--data', 'x', '--topn-candidates', 'puresvd,knn'])).toThrow(
      /topn-candidates/,
    );
    expect(() => parseTrainArgs(['--data', 'x', '--topn-validation', 'future'])).toThrow(/topn-validation/);
    expect(() => parseTrainArgs(['--data', 'x', '--ials-factors', 'many'])).toThrow(UsageError);
  });
});
