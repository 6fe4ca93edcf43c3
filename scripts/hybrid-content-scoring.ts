/**
 * Validation-only comparison of content scorings inside the HYBRID merge: carves a validation split
 * from the protocol's TRAINING data (each user's latest 20% under temporal, a seeded random 10%
 * otherwise), fits the served top-N model, the statistical engine and the content engine under each
 * scoring on the rest, and prints validation NDCG@10 of each engine alone and of the merge with the
 * specified weights and with the best triple of the 0.1 grid. The test ratings are never scored.
 *
 *   node -r @swc-node/register scripts/hybrid-content-scoring.ts --protocol temporal --data <ml-latest-small> \
 *     [--train u1.base --test u1.test (--protocol split)] [--overviews tmdb_5000_movies.csv] \
 *     [--scorings "sum:16:10,sum:16:0,sum:8:0"] [--seed 42] [--max-tags N] [--content-only]
 *
 * --max-tags N adds the release's tags (tags.csv, at most N per movie) to the movie texts, as the content
 * index builds them; without it the texts have no tags. --content-only prints the content engine alone
 * (no top-N model, no weight grid), for comparing movie texts quickly.
 */
import { loadavg } from 'node:os';
import { parseFlags, runCli, stringFlag, integerFlag, UsageError } from '../training/cli';
import { prepareFold, rankingMetrics, validationPlan } from '../training/evaluate';
import { isProtocolName, loadEvaluationPlan } from '../training/protocols';
import { MemoisedScores } from '../training/calibration';
import {
  ContentStrategy,
  HybridStrategy,
  StatisticalStrategy,
  cachedEmbeddings,
  DEFAULT_EMBEDDING_CACHE_DIRECTORY,
  embeddedItemVectors,
  movieTextsFromRelease,
  sharedCosineMatrix,
  weightGrid,
} from '../training/hybrid-strategies';
import { defaultTopNCandidates, SelectedTopNStrategy } from '../training/topn-strategies';
import { createEmbedder } from '../src/engines/content/embedders';
import { useLiteModelId } from '../src/engines/content/embedders/use-lite';
import type { ContentScoring } from '../src/engines/content/neighbour-score';
import { DEFAULT_WEIGHTS } from '../src/orchestrator/weights';

const USAGE =
  'usage: hybrid-content-scoring.ts --protocol temporal|ml100k-u1|split --data <dir> [--train f --test f] ' +
  '[--overviews <csv>] [--scorings "aggregate:exponent:priorWeight,…"] [--seed 42] [--max-tags N] [--content-only]';

function parseScorings(spec: string): ContentScoring[] {
  return spec.split(',').map((part) => {
    const [aggregate, exponent, popularityWeight] = part.trim().split(':');
    if ((aggregate !== 'sum' && aggregate !== 'mean') || !Number.isInteger(Number(exponent)))
      throw new UsageError(`--scorings: "${part}" is not aggregate:exponent:priorWeight (e.g. sum:16:0)`);
    return { aggregate, exponent: Number(exponent), popularityWeight: Number(popularityWeight ?? 0) };
  });
}

async function main(argv: readonly string[]) {
  const values = parseFlags(argv, {
    data: { type: 'string' },
    train: { type: 'string' },
    test: { type: 'string' },
    protocol: { type: 'string' },
    overviews: { type: 'string' },
    scorings: { type: 'string' },
    seed: { type: 'string' },
    'max-tags': { type: 'string' },
    'content-only': { type: 'boolean' },
  });
  const protocol = stringFlag(values, 'protocol') ?? '';
  const data = stringFlag(values, 'data');
  if (!isProtocolName(protocol) || protocol === 'ml100k-folds')
    throw new UsageError('--protocol must be temporal, ml100k-u1 or split');
  if (!data) throw new UsageError('--data <MovieLens directory> is needed for the movie texts');
  const seed = integerFlag(values, 'seed', 42);
  const kind = protocol === 'temporal' ? 'temporal' : 'random';
  const source = { data, train: stringFlag(values, 'train'), test: stringFlag(values, 'test') };
  const plan = validationPlan(await loadEvaluationPlan(protocol, source), kind, seed);
  const { train: fit, test: validation } = prepareFold(plan.folds[0]);
  process.stdout.write(
    `${plan.dataset}: fit ${fit.size}, validation ${validation.size} ratings; load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
  );
  const embed = cachedEmbeddings(useLiteModelId(), DEFAULT_EMBEDDING_CACHE_DIRECTORY, () =>
    createEmbedder({ mode: 'use-lite', transformersModel: '', allowRemoteModels: false, workers: 'auto' }),
  );
  const maxTags =
    stringFlag(values, 'max-tags') === undefined ? undefined : integerFlag(values, 'max-tags', 0);
  const vectors = embeddedItemVectors(
    movieTextsFromRelease(data, stringFlag(values, 'overviews'), { maxTags }),
    embed,
  );
  const fitted = async (strategy: ContentStrategy | SelectedTopNStrategy | StatisticalStrategy) => {
    await strategy.fit(fit);
    return new MemoisedScores(strategy);
  };
  const ndcgOf = (strategy: MemoisedScores | HybridStrategy) =>
    (rankingMetrics(strategy, fit, validation)?.ndcg10 ?? 0).toFixed(4);
  if (values['content-only']) {
    for (const scoring of parseScorings(stringFlag(values, 'scorings') ?? 'sum:16:10,sum:16:0,sum:8:0')) {
      const content = await fitted(new ContentStrategy(vectors, scoring, sharedCosineMatrix));
      const { aggregate, exponent, popularityWeight } = scoring;
      process.stdout.write(
        `content alone (${aggregate}, p = ${exponent}, prior × ${popularityWeight}, ` +
          `tags ${maxTags ?? 'none'}): ${ndcgOf(content)}\n`,
      );
    }
    return;
  }
  const collaborative = await fitted(new SelectedTopNStrategy(defaultTopNCandidates(seed), kind, seed));
  const statistical = await fitted(new StatisticalStrategy());
  process.stdout.write(
    `top-N model alone: ${ndcgOf(collaborative)}; statistical alone: ${ndcgOf(statistical)}\n`,
  );
  process.stdout.write(
    '| content scoring | content alone | hybrid 0.5/0.3/0.2 | best of the 0.1 grid |\n|---|---:|---:|---|\n',
  );
  for (const scoring of parseScorings(stringFlag(values, 'scorings') ?? 'sum:16:10,sum:16:0,sum:8:0')) {
    const content = await fitted(new ContentStrategy(vectors, scoring, sharedCosineMatrix));
    const merged = async (weights: typeof DEFAULT_WEIGHTS) => {
      const hybrid = new HybridStrategy(
        'hybrid',
        { collaborative, content, statistical },
        'candidate-pool',
        weights,
      );
      await hybrid.fit(fit);
      return rankingMetrics(hybrid, fit, validation)?.ndcg10 ?? 0;
    };
    let best = { ndcg: -1, weights: DEFAULT_WEIGHTS };
    for (const weights of weightGrid()) {
      const ndcg = await merged(weights);
      if (ndcg > best.ndcg) best = { ndcg, weights };
    }
    const { aggregate, exponent, popularityWeight } = scoring;
    const { collaborative: c, content: t, statistical: s } = best.weights;
    process.stdout.write(
      `| ${aggregate}, p = ${exponent}, prior × ${popularityWeight} | ${ndcgOf(content)} | ` +
        `${(await merged(DEFAULT_WEIGHTS)).toFixed(4)} | ${best.ndcg.toFixed(4)} at ${c}/${t}/${s} |\n`,
    );
  }
}

runCli(main, USAGE);
