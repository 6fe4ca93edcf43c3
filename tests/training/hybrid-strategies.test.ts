import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Embedder } from '../../src/engines/content/embedders';
import { mergeScores } from '../../src/orchestrator/merge';
import { DEFAULT_WEIGHTS } from '../../src/orchestrator/weights';
import { CONTENT_SCORING, MERGED_CONTENT_SCORING } from '../../src/engines/content/neighbour-score';
import { PureSvdStrategy } from '../../training/builtin-strategies';
import { datasetFromRows, type RatingRecord, type RatingsDataset } from '../../training/dataset';
import {
  CANDIDATE_POOL_SIZE,
  cachedEmbeddings,
  ContentStrategy,
  embeddedItemVectors,
  HybridStrategy,
  NEIGHBOUR_SCORING,
  StatisticalStrategy,
  CalibratedHybridStrategy,
  weightGrid,
  type EngineScoreArrays,
  type NormalisationScope,
} from '../../training/hybrid-strategies';
import { topK } from '../../src/engines/collaborative/kernels/top-k';
import { calibrateHybridWeights, calibrationValidationSplit } from '../../training/calibration';
import { CUTOFF, RankingAccumulator, RELEVANCE_THRESHOLD } from '../../training/metrics';

const row = (userId: number, movieId: number, rating: number): RatingRecord => ({
  userId,
  movieId,
  rating,
  timestamp: 0,
});

/** Letter frequencies of the text, normalised: deterministic, and similar texts get similar vectors. */
class LetterCountEmbedder implements Embedder {
  readonly provider = 'use-lite' as const;
  readonly modelId = 'letter-counts';
  readonly dimension = 26;
  embeddedTexts = 0;

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    this.embeddedTexts += texts.length;
    return texts.map((text) => {
      const vector = new Float32Array(this.dimension);
      for (const char of text.toLowerCase()) {
        const letter = char.charCodeAt(0) - 97;
        if (letter >= 0 && letter < 26) vector[letter]++;
      }
      const norm = Math.hypot(...vector);
      return vector.map((value) => value / norm);
    });
  }
}

function dotOf(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += a[d] * b[d];
  return sum;
}

describe('statistical strategy', () => {
  it('predicts the Bayesian weighted rating (m at the 90th percentile of vote counts) and ranks by WR·ln(1 + votes)', () => {
    const train = datasetFromRows(
      [
        row(1, 10, 5),
        row(2, 10, 4),
        row(1, 11, 3),
        row(1, 12, 4),
        row(2, 12, 4),
        row(3, 12, 2),
        row(4, 12, 2),
      ],
      { userIds: Int32Array.of(1, 2, 3, 4), itemIds: Int32Array.of(10, 11, 12, 13) },
    );
    const strategy = new StatisticalStrategy();
    strategy.fit(train);

    // Vote counts 2, 1, 4 (item 13 has none) sort to [1, 2, 4]: the 0.9 quantile sits at rank 1.8,
    // so m = 2 + 0.8·(4 − 2) = 3.6. C = 24/7, the mean of all seven ratings.
    const m = 3.6;
    const C = 24 / 7;
    const expected = [(2 * 4.5 + m * C) / (2 + m), (1 * 3 + m * C) / (1 + m), (4 * 3 + m * C) / (4 + m), C];
    const votes = [2, 1, 4, 0];
    const scores = new Float32Array(4);
    strategy.scoreAll(0, scores);
    expected.forEach((value, item) => {
      expect(scores[item]).toBeCloseTo(value * Math.log(1 + votes[item]), 5);
      expect(strategy.predict(3, item)).toBeCloseTo(value, 10);
    });
    // The widely rated but middling item 12 outranks item 10's two high ratings.
    expect(scores[2]).toBeGreaterThan(scores[0]);
  });
});

/** 12 users × 160 items with deterministic, user-dependent ratings. */
function syntheticTrain(): RatingsDataset {
  const rows: RatingRecord[] = [];
  for (let user = 1; user <= 12; user++)
    for (let movie = 1; movie <= 160; movie++)
      if ((user * 7 + movie * 3) % 5 < 2) rows.push(row(user, movie, 1 + ((user * movie) % 5)));
  return datasetFromRows(rows);
}

const genresByMovie = ['Comedy', 'Drama', 'Horror', 'Western'];
const movieTexts = async (itemIds: Int32Array) =>
  new Map(Array.from(itemIds, (id) => [id, `Film ${id}. Genres: ${genresByMovie[id % 4]}.`]));

describe('hybrid strategy', () => {
  let cacheDirectory: string;
  beforeEach(async () => {
    cacheDirectory = await fs.mkdtemp(path.join(os.tmpdir(), 'hybrid-strategies-'));
  });
  afterEach(async () => {
    await fs.rm(cacheDirectory, { recursive: true, force: true });
  });

  function createEngines() {
    const embedder = new LetterCountEmbedder();
    return {
      collaborative: new PureSvdStrategy({
        rank: 4,
        encoding: 'rating',
        popularityExponent: -0.5,
        oversampling: 4,
        powerIterations: 2,
        seed: 7,
      }),
      content: new ContentStrategy(
        embeddedItemVectors(
          movieTexts,
          cachedEmbeddings(embedder.modelId, cacheDirectory, async () => embedder),
        ),
      ),
      statistical: new StatisticalStrategy(),
    };
  }

  async function fittedHybrid(scope: NormalisationScope) {
    const engines = createEngines();
    const hybrid = new HybridStrategy('hybrid', engines, scope);
    const train = syntheticTrain();
    await hybrid.fit(train);
    return { hybrid, engines, train };
  }

  function componentScores(
    engines: Awaited<ReturnType<typeof fittedHybrid>>['engines'],
    user: number,
    numItems: number,
  ): EngineScoreArrays {
    const scores = {
      collaborative: new Float32Array(numItems),
      content: new Float32Array(numItems),
      statistical: new Float32Array(numItems),
    };
    engines.collaborative.scoreAll(user, scores.collaborative);
    engines.content.scoreAll(user, scores.content);
    engines.statistical.scoreAll(user, scores.statistical);
    return scores;
  }

  function ratedItems(train: RatingsDataset, user: number): Set<number> {
    const rated = new Set<number>();
    for (let n = 0; n < train.size; n++) if (train.users[n] === user) rated.add(train.items[n]);
    return rated;
  }

  /** The production Map-based merge over the given candidates. */
  function productionMerge(scores: EngineScoreArrays, candidates: readonly number[]): Map<number, number> {
    const asMap = (values: Float32Array) => new Map(candidates.map((item) => [item, values[item]]));
    const merged = mergeScores(
      {
        collaborative: asMap(scores.collaborative),
        content: asMap(scores.content),
        statistical: asMap(scores.statistical),
      },
      DEFAULT_WEIGHTS,
    );
    return new Map(merged.map((candidate) => [candidate.movieId, candidate.score]));
  }

  it('over all items, scores each unrated item with the production merge of the three engines', async () => {
    const { hybrid, engines, train } = await fittedHybrid('all-items');
    const user = 3;
    const out = new Float32Array(train.numItems);
    hybrid.scoreAll(user, out);

    const rated = ratedItems(train, user);
    const unrated = Array.from({ length: train.numItems }, (_, item) => item).filter(
      (item) => !rated.has(item),
    );
    const expected = productionMerge(componentScores(engines, user, train.numItems), unrated);
    for (let item = 0; item < train.numItems; item++) {
      if (rated.has(item)) expect(out[item]).toBe(-Infinity);
      else expect(out[item]).toBeCloseTo(expected.get(item) as number, 5);
    }
  });

  it('over the candidate pool, normalises over the union of each engine’s top unrated items', async () => {
    const { hybrid, engines, train } = await fittedHybrid('candidate-pool');
    const user = 5;
    const out = new Float32Array(train.numItems);
    hybrid.scoreAll(user, out);

    const rated = ratedItems(train, user);
    const scores = componentScores(engines, user, train.numItems);
    const union = new Set<number>();
    for (const values of Object.values(scores)) {
      const masked = values.map((value: number, item: number) => (rated.has(item) ? -Infinity : value));
      for (const item of topK(masked, CANDIDATE_POOL_SIZE)) union.add(item);
    }
    expect(union.size).toBeLessThan(train.numItems - rated.size);
    const expected = productionMerge(scores, [...union]);
    for (let item = 0; item < train.numItems; item++) {
      if (union.has(item)) expect(out[item]).toBeCloseTo(expected.get(item) as number, 5);
      else expect(out[item]).toBe(-Infinity);
    }
  });

  it('calibrates the weights on a validation split of train, then scores as the hybrid with those weights', async () => {
    const train = syntheticTrain();
    const tuned = new CalibratedHybridStrategy('hybrid-calibrated', createEngines, {
      scheme: 'random',
      seed: 11,
    });
    await tuned.fit(train);
    const chosen = tuned.chosen as NonNullable<typeof tuned.chosen>;
    expect(weightGrid()).toContainEqual(chosen.weights);
    expect(weightGrid()).toHaveLength(66);

    const reference = new HybridStrategy('hybrid', createEngines(), 'candidate-pool', chosen.weights);
    await reference.fit(train);
    const fromTuned = new Float32Array(train.numItems);
    const fromReference = new Float32Array(train.numItems);
    tuned.scoreAll(4, fromTuned);
    reference.scoreAll(4, fromReference);
    expect(fromTuned).toEqual(fromReference);
  });

  it.each([1, 3])(
    'calibration on %i split(s) scores every weight triple as a HybridStrategy with those weights would over the same users, to the bit',
    async (splits) => {
      const train = syntheticTrain();
      const parts = Array.from({ length: splits }, (_, part) => {
        const { fit, validation } = calibrationValidationSplit(train, 'random', 11, part);
        const relevantByUser = new Map<number, Set<number>>();
        for (let n = 0; n < validation.size; n++)
          if (validation.ratings[n] >= RELEVANCE_THRESHOLD)
            relevantByUser.set(
              validation.users[n],
              (relevantByUser.get(validation.users[n]) ?? new Set()).add(validation.items[n]),
            );
        const users = [...relevantByUser.keys()].sort((a, b) => a - b);
        expect(users.length).toBeGreaterThan(3);
        return { fit, relevantByUser, users };
      });
      const grid = weightGrid(4);
      const expected: number[] = [];
      const calibrated: number[] = [];
      for (const weights of grid) {
        // One accumulator over every part's users: a triple is judged on all of them together.
        const accumulator = new RankingAccumulator(train.numItems, CUTOFF);
        for (const { fit, relevantByUser, users } of parts) {
          const hybrid = new HybridStrategy('hybrid', createEngines(), 'candidate-pool', weights);
          await hybrid.fit(fit);
          const scores = new Float32Array(fit.numItems);
          for (const user of users) {
            hybrid.scoreAll(user, scores);
            for (let n = 0; n < fit.size; n++) if (fit.users[n] === user) scores[fit.items[n]] = -Infinity;
            accumulator.add(topK(scores, CUTOFF), relevantByUser.get(user) as Set<number>);
          }
        }
        expected.push(accumulator.result()?.ndcg10 ?? 0);
        const chosen = await calibrateHybridWeights(train, createEngines, {
          scheme: 'random',
          seed: 11,
          grid: [weights],
          splits,
        });
        expect(chosen.splits).toBe(splits);
        expect(chosen.validationUsers).toBe(parts.reduce((sum, part) => sum + part.users.length, 0));
        calibrated.push(chosen.validationNdcg10);
      }
      expect(new Set(expected).size).toBeGreaterThan(2);
      expect(calibrated).toEqual(expected);
    },
  );

  it('calibrates temporal data on its one split and refuses several', async () => {
    const train = syntheticTrain();
    await expect(
      calibrateHybridWeights(train, createEngines, {
        scheme: 'temporal',
        seed: 1,
        splits: 2,
        grid: weightGrid(2),
      }),
    ).rejects.toThrow(/only random calibration has several splits/);
    const chosen = await calibrateHybridWeights(train, createEngines, {
      scheme: 'temporal',
      seed: 1,
      grid: weightGrid(2),
    });
    expect(chosen.splits).toBe(1);
  });

  it('embeds the catalog once and reads the vectors back from the cache file', async () => {
    const train = syntheticTrain();
    const first = new LetterCountEmbedder();
    const firstStrategy = new ContentStrategy(
      embeddedItemVectors(
        movieTexts,
        cachedEmbeddings(first.modelId, cacheDirectory, async () => first),
      ),
    );
    await firstStrategy.fit(train);
    expect(first.embeddedTexts).toBe(train.numItems);
    expect(await fs.readdir(cacheDirectory)).toHaveLength(1);

    const second = new LetterCountEmbedder();
    const secondStrategy = new ContentStrategy(
      embeddedItemVectors(
        movieTexts,
        cachedEmbeddings(second.modelId, cacheDirectory, async () => second),
      ),
    );
    await secondStrategy.fit(train);
    expect(second.embeddedTexts).toBe(0);
    const fromEmbedder = new Float32Array(train.numItems);
    const fromCache = new Float32Array(train.numItems);
    firstStrategy.scoreAll(2, fromEmbedder);
    secondStrategy.scoreAll(2, fromCache);
    expect(fromCache).toEqual(fromEmbedder);
  });
});

describe('content strategy', () => {
  /** Items 10, 11 and 12 embedded at (1, 0), (0, 1) and (0.6, 0.8); item 13 has no text. */
  const threeEmbeddedMovies = () => {
    const vectors: Record<string, Float32Array> = {
      a: Float32Array.of(1, 0),
      b: Float32Array.of(0, 1),
      c: Float32Array.of(0.6, 0.8),
    };
    const texts = async () =>
      new Map([
        [10, 'a'],
        [11, 'b'],
        [12, 'c'],
      ]);
    return embeddedItemVectors(texts, async (wanted) => wanted.map((text) => vectors[text]));
  };

  it('scores items by the cos^8-weighted average of the user’s centred ratings', async () => {
    const train = datasetFromRows([row(1, 10, 5), row(1, 11, 1)], {
      userIds: Int32Array.of(1),
      itemIds: Int32Array.of(10, 11, 12, 13),
    });
    const scores = new Float32Array(4);
    const vectorsOf = threeEmbeddedMovies();
    const neighbours = new ContentStrategy(vectorsOf, NEIGHBOUR_SCORING);
    await neighbours.fit(train);
    neighbours.scoreAll(0, scores);
    // Mean 3: weights +2 (item 10) and −2 (item 11). Item 12 has cosines 0.6 and 0.8; item 13 no text.
    const expected = (2 * 0.6 ** 8 - 2 * 0.8 ** 8) / (0.6 ** 8 + 0.8 ** 8);
    expect(Array.from(scores)).toEqual([2, -2, expect.closeTo(expected, 5), 0]);

    const profile = new ContentStrategy(vectorsOf, 'taste-profile');
    await profile.fit(train);
    profile.scoreAll(0, scores);
    // Profile (2, −2)/‖·‖ = (1, −1)/√2.
    expect(scores[2]).toBeCloseTo((0.6 - 0.8) / Math.SQRT2, 5);
  });

  it("as served through a neighbour table: with every pair in it, brings the vote's own best movies; with one a movie, only rated movies' nearest", async () => {
    const items = 40;
    let state = 7;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31 - 0.5;
    };
    const vectors = Array.from({ length: items }, () => {
      const vector = Float32Array.from({ length: 8 }, next);
      const norm = Math.hypot(...vector);
      return vector.map((value) => value / norm);
    });
    const vectorsOf = async (itemIds: Int32Array) => Array.from(itemIds, (id) => vectors[id - 100]);
    const rated = [3, 9, 14, 22, 31, 38];
    const train = datasetFromRows(
      [...rated.map((item, n) => row(1, 100 + item, 1 + (n % 5))), row(2, 100, 4)],
      { userIds: Int32Array.of(1, 2), itemIds: Int32Array.from({ length: items }, (_, i) => 100 + i) },
    );
    const everyMovie = new ContentStrategy(vectorsOf, MERGED_CONTENT_SCORING);
    await everyMovie.fit(train);
    const scores = new Float32Array(items);
    everyMovie.scoreAll(0, scores);
    const best = [...Array(items).keys()]
      .filter((item) => !rated.includes(item))
      .sort((a, b) => scores[b] - scores[a] || a - b)
      .slice(0, 8);
    const served = (neighboursPerMovie: number) =>
      new ContentStrategy(vectorsOf, MERGED_CONTENT_SCORING, undefined, {
        candidates: 8,
        popular: 0,
        listOnly: false,
        neighboursPerMovie,
      });
    const complete = served(items - 1);
    await complete.fit(train);
    expect([...(complete.candidatesOf(0) ?? [])].sort((a, b) => a - b)).toEqual(best.sort((a, b) => a - b));

    // Scored through a table of every pair, the vote is the exact one (a rated movie's own term aside).
    const throughTable = new ContentStrategy(vectorsOf, MERGED_CONTENT_SCORING, undefined, {
      candidates: 8,
      popular: 0,
      listOnly: false,
      neighboursPerMovie: items - 1,
      voteThroughTable: true,
    });
    await throughTable.fit(train);
    const tableScores = new Float32Array(items);
    throughTable.scoreAll(0, tableScores);
    for (let item = 0; item < items; item++)
      if (!rated.includes(item)) expect(tableScores[item]).toBeCloseTo(scores[item], 5);

    const nearestOnly = served(1);
    await nearestOnly.fit(train);
    const nearest = new Set(
      rated.map((item) =>
        [...Array(items).keys()]
          .filter((other) => other !== item)
          .reduce((a, b) => (dotOf(vectors[item], vectors[b]) > dotOf(vectors[item], vectors[a]) ? b : a)),
      ),
    );
    const found = [...(nearestOnly.candidatesOf(0) ?? [])];
    expect(found.length).toBeGreaterThan(0);
    for (const item of found) {
      expect(nearest.has(item)).toBe(true);
      expect(rated).not.toContain(item);
    }
  });

  it('as served: sums cos^p-weighted centred ratings and adds the weighted popularity prior', async () => {
    const train = datasetFromRows([row(1, 10, 5), row(1, 11, 1), row(2, 10, 4)], {
      userIds: Int32Array.of(1, 2),
      itemIds: Int32Array.of(10, 11, 12, 13),
    });
    const vectorsOf = threeEmbeddedMovies();
    const served = new ContentStrategy(vectorsOf, CONTENT_SCORING);
    await served.fit(train);
    const scores = new Float32Array(4);
    served.scoreAll(0, scores);
    const { exponent: p, popularityWeight: beta } = CONTENT_SCORING;
    // Votes: item 10 twice, item 11 once (prior ln 3/ln 3 = 1 and ln 2/ln 3); 12 and 13 none.
    expect(scores[2]).toBeCloseTo(2 * 0.6 ** p - 2 * 0.8 ** p, 5);
    expect(scores[3]).toBe(0);
    expect(scores[1]).toBeCloseTo(-2 + beta * (Math.log(2) / Math.log(3)), 4);
    expect(scores[0]).toBeCloseTo(2 + beta, 4);

    // Inside HYBRID the same vote, without the prior: the statistical engine brings popularity.
    const merged = new ContentStrategy(vectorsOf, MERGED_CONTENT_SCORING);
    await merged.fit(train);
    merged.scoreAll(0, scores);
    expect(scores[2]).toBeCloseTo(2 * 0.6 ** p - 2 * 0.8 ** p, 5);
    expect(scores[1]).toBeCloseTo(-2, 4);
    expect(scores[0]).toBeCloseTo(2, 4);
  });
});
