import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineWeights } from '../../src/orchestrator/weights';
import { PureSvdStrategy } from '../../training/builtin-strategies';
import { HybridStrategy } from '../../training/calibration';
import { prepareFold, rankingMetrics, runEvaluation } from '../../training/evaluate';
import { registerBuiltinStrategies } from '../../training/builtin-strategies';
import {
  ContentStrategy,
  StatisticalStrategy,
  cachedEmbeddings,
  embeddedItemVectors,
  movieTextsFromRelease,
  registerHybridStrategies,
  sharedCosineMatrix,
} from '../../training/hybrid-strategies';
import { DEFAULT_PURE_SVD_OPTIONS } from '../../training/options';
import { loadEvaluationPlan, type ProtocolName } from '../../training/protocols';
import { createEmbedder } from '../../src/engines/content/embedders';
import { useLiteModelId } from '../../src/engines/content/embedders/use-lite';

/**
 * The issue-14 claims on real data, each test set evaluated once:
 * - ml-100k u1: hybrid-calibrated (weights chosen on a validation split of u1.base) beats the
 *   statistical, content and collaborative engines alone on NDCG@10;
 * - ml-latest-small temporal: so does hybrid with the specified weights (0.5 / 0.3 / 0.2), and
 *   hybrid-calibrated; and the specified weights with content's and statistical's shares swapped
 *   (0.5 / 0.2 / 0.3, the reading issue 14 reverted) rank worse than the specified ones.
 * Needs MOVIELENS_100K_DIR / MOVIELENS_DIR (and TMDB_OVERVIEWS for the overviews the reported
 * figures use); skips without them. Minutes of CPU: the temporal content engine builds a
 * 9,742² cosine matrix.
 */
const ml100k = process.env.MOVIELENS_100K_DIR;
const latestSmall = process.env.MOVIELENS_DIR;
const overviews = process.env.TMDB_OVERVIEWS || undefined;

async function exists(file: string | undefined): Promise<boolean> {
  return (
    !!file &&
    fs.stat(file).then(
      () => true,
      () => false,
    )
  );
}

async function ndcgByStrategy(
  data: string,
  protocol: ProtocolName,
  strategies: string[],
  cache: string,
): Promise<Record<string, number>> {
  registerBuiltinStrategies({ movieDirectory: data });
  registerHybridStrategies({
    movieDirectory: data,
    embeddingCacheDirectory: cache,
    overviewsFile: overviews,
  });
  const plan = await loadEvaluationPlan(protocol, { data });
  const report = await runEvaluation(plan, strategies, {
    seed: 42,
    threads: 1,
    validationScheme: protocol === 'temporal' ? 'temporal' : 'random',
  });
  return Object.fromEntries(report.results.map((result) => [result.strategy, result.ndcg10 as number]));
}

describe('issue 14 quality claims on MovieLens', () => {
  let cache: string;
  beforeAll(async () => {
    cache = await fs.mkdtemp(path.join(os.tmpdir(), 'hybrid-claims-'));
  });
  afterAll(async () => {
    await fs.rm(cache, { recursive: true, force: true });
  });

  it('ml-100k u1: hybrid-calibrated beats every single engine', async () => {
    if (!(await exists(ml100k && path.join(ml100k, 'u1.base')))) {
      console.warn('skipped: set MOVIELENS_100K_DIR to an ml-100k directory with u1.base/u1.test and u.item');
      return;
    }
    const ndcg = await ndcgByStrategy(
      ml100k as string,
      'ml100k-u1',
      ['statistical', 'content', 'svd', 'hybrid-calibrated'],
      cache,
    );
    for (const single of ['statistical', 'content', 'svd'])
      expect(ndcg['hybrid-calibrated']).toBeGreaterThan(ndcg[single]);
  }, 900_000);

  it('temporal: hybrid with the specified weights and hybrid-calibrated beat every single engine; swapped weights lose', async () => {
    if (!(await exists(latestSmall && path.join(latestSmall, 'ratings.csv')))) {
      console.warn('skipped: set MOVIELENS_DIR to an ml-latest-small directory');
      return;
    }
    const data = latestSmall as string;
    const ndcg = await ndcgByStrategy(
      data,
      'temporal',
      ['popularity', 'statistical', 'content', 'svd', 'hybrid', 'hybrid-calibrated'],
      cache,
    );
    for (const single of ['statistical', 'content', 'svd']) {
      expect(ndcg.hybrid).toBeGreaterThan(ndcg[single]);
      expect(ndcg['hybrid-calibrated']).toBeGreaterThan(ndcg[single]);
    }
    expect(ndcg.content).toBeGreaterThan(ndcg.popularity);

    // The same engines merged with content's and statistical's shares swapped.
    const plan = await loadEvaluationPlan('temporal', { data });
    const { train, test } = prepareFold(plan.folds[0]);
    const swapped: EngineWeights = { collaborative: 0.5, content: 0.2, statistical: 0.3 };
    const embed = cachedEmbeddings(useLiteModelId(), cache, () =>
      createEmbedder({ mode: 'use-lite', transformersModel: '', allowRemoteModels: false, workers: 'auto' }),
    );
    const hybrid = new HybridStrategy(
      'hybrid-swapped',
      {
        collaborative: new PureSvdStrategy({ ...DEFAULT_PURE_SVD_OPTIONS, seed: 42 }),
        content: new ContentStrategy(
          embeddedItemVectors(movieTextsFromRelease(data, overviews), embed),
          'served',
          sharedCosineMatrix,
        ),
        statistical: new StatisticalStrategy(),
      },
      'candidate-pool',
      swapped,
    );
    await hybrid.fit(train);
    expect(ndcg.hybrid).toBeGreaterThan(rankingMetrics(hybrid, train, test)?.ndcg10 ?? 0);
  }, 3_600_000);
});
