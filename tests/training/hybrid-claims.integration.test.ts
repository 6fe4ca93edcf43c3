import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_WEIGHTS } from '../../src/orchestrator/weights';
import { runEvaluation } from '../../training/evaluate';
import { registerBuiltinStrategies } from '../../training/builtin-strategies';
import { registerHybridStrategies } from '../../training/hybrid-strategies';
import { loadEvaluationPlan, type ProtocolName } from '../../training/protocols';
import { registerTopNStrategies } from '../../training/topn-strategies';

/**
 * The issue-14 claims on real data, each test set evaluated once:
 * - ml-100k u1: the served top-N model (`topn`, EASE or PureSVD chosen on a validation split of
 *   u1.base) is at least 5% above PureSVD; hybrid-calibrated (weights chosen on a validation split)
 *   beats every single engine: statistical, content, PureSVD and the served top-N model;
 * - ml-latest-small temporal: the same top-N claim; the content engine beats popularity; hybrid (the
 *   specified weights 0.5 / 0.3 / 0.2) and hybrid-calibrated beat every single engine.
 * Measured (docs/quality/): u1 hybrid-calibrated 0.4855 against topn 0.4820 (five validation parts); temporal hybrid 0.1221
 * and hybrid-calibrated 0.1228 against topn 0.1200. Inside HYBRID the content engine scores by its
 * vote alone (MERGED_CONTENT_SCORING); with its popularity prior, as before, both temporal hybrid
 * claims failed (0.1140 and 0.1200).
 * Needs MOVIELENS_100K_DIR / MOVIELENS_DIR (and TMDB_OVERVIEWS for the overviews the reported
 * figures use); skips without them. Minutes of CPU: the temporal content engine builds a
 * 9,742² cosine matrix.
 */
const ml100k = process.env.MOVIELENS_100K_DIR;
const latestSmall = process.env.MOVIELENS_DIR;
const overviews = process.env.TMDB_OVERVIEWS || undefined;
/**
 * The temporal claims take over ten minutes (use-lite embeds all 9,742 movies, then a 9,742² cosine
 * matrix per fit), more than CI's whole budget: they run with QUALITY_TEMPORAL=1 and are skipped,
 * with a message, otherwise. The u1 claim (three to six minutes) runs whenever ml-100k is there.
 */
const temporalClaims = process.env.QUALITY_TEMPORAL === '1';
const hasLatestSmall = temporalClaims && !!latestSmall && existsSync(path.join(latestSmall, 'ratings.csv'));

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
  registerTopNStrategies();
  const plan = await loadEvaluationPlan(protocol, { data });
  const report = await runEvaluation(plan, strategies, {
    seed: 42,
    threads: 1,
    validationSplit: protocol === 'temporal' ? 'temporal' : 'random',
  });
  return Object.fromEntries(report.results.map((result) => [result.strategy, result.ndcg10 as number]));
}

describe('issue 14 quality claims on MovieLens', () => {
  let cache: string;
  let temporal: Promise<Record<string, number>> | null = null;
  /** The temporal evaluation (each test set is evaluated once). */
  const temporalNdcg = () =>
    (temporal ??= ndcgByStrategy(
      latestSmall as string,
      'temporal',
      ['popularity', 'statistical', 'content', 'svd', 'topn', 'hybrid', 'hybrid-calibrated'],
      cache,
    ));
  beforeAll(async () => {
    cache = await fs.mkdtemp(path.join(os.tmpdir(), 'hybrid-claims-'));
  });
  afterAll(async () => {
    await fs.rm(cache, { recursive: true, force: true });
  });

  let u1: Promise<Record<string, number>> | null = null;
  const hasMl100k = !!ml100k && existsSync(path.join(ml100k, 'u1.base'));
  /** The u1 evaluation. */
  const u1Ndcg = () =>
    (u1 ??= ndcgByStrategy(
      ml100k as string,
      'ml100k-u1',
      ['statistical', 'content', 'svd', 'topn', 'hybrid-calibrated'],
      cache,
    ));

  it('ml-100k u1: the served top-N model is 5% above PureSVD; hybrid-calibrated beats every single engine', async () => {
    if (!hasMl100k) {
      console.warn('skipped: set MOVIELENS_100K_DIR to an ml-100k directory with u1.base/u1.test and u.item');
      return;
    }
    const ndcg = await u1Ndcg();
    expect(ndcg.topn).toBeGreaterThanOrEqual(1.05 * ndcg.svd);
    for (const single of ['statistical', 'content', 'svd', 'topn'])
      expect(ndcg['hybrid-calibrated']).toBeGreaterThan(ndcg[single]);
  }, 900_000);

  it('the specified default weights: collaborative 0.5, content 0.3, statistical 0.2', () => {
    // In the engine order of the specification: a swapped reading (content 0.2, statistical 0.3, as
    // before issue 14) fails here.
    expect(DEFAULT_WEIGHTS).toEqual({ collaborative: 0.5, content: 0.3, statistical: 0.2 });
  });

  it('temporal: the served top-N model is 5% above PureSVD; content beats popularity; both hybrids beat every single engine', async () => {
    if (!hasLatestSmall) {
      console.warn(
        'skipped: set QUALITY_TEMPORAL=1 and MOVIELENS_DIR to an ml-latest-small directory (over ten minutes)',
      );
      return;
    }
    const ndcg = await temporalNdcg();
    expect(ndcg.topn).toBeGreaterThanOrEqual(1.05 * ndcg.svd);
    expect(ndcg.content).toBeGreaterThan(ndcg.popularity);
    for (const hybrid of ['hybrid', 'hybrid-calibrated'])
      for (const single of ['statistical', 'content', 'svd', 'topn'])
        expect(ndcg[hybrid]).toBeGreaterThan(ndcg[single]);
  }, 3_600_000);
});
