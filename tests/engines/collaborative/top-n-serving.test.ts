import { generateSyntheticCatalog } from '../../../fixtures/synthetic';
import { CollaborativeEngine } from '../../../src/engines/collaborative/collaborative-engine';
import { foldInIalsUser, gramian } from '../../../src/engines/collaborative/kernels/ials';
import { factorScores } from '../../../src/engines/collaborative/kernels/linalg';
import { topK } from '../../../src/engines/collaborative/kernels/top-k';
import { ModelStore } from '../../../src/engines/collaborative/model-store';
import { postgresRatingsSource, trainFromDatabase } from '../../../training/database';
import { trainIals } from '../../../training/ials';
import { DEFAULT_EASE_OPTIONS } from '../../../training/options';
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from '../../../training/train';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { importSyntheticCatalog } from '../../helpers/synthetic-database';
import { factorsOf } from '../../helpers/top-n';

const IALS = {
  rank: 8,
  epochs: 6,
  cgSteps: 3,
  regularization: 0.01,
  regExponent: 1,
  unobservedWeight: 0.3,
  confidenceScale: 0,
  recencyHalfLifeDays: 0,
  initScale: 0.1,
  seed: 3,
};

const BASE: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 10 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
  ials: IALS,
};

describe('serving the top-N model kind a version stores', () => {
  let db: TestDatabase;
  let store: ModelStore;
  let engine: CollaborativeEngine;
  const catalog = generateSyntheticCatalog({ seed: 21, users: 120, movies: 100 });

  beforeAll(async () => {
    db = await createTestDatabase();
    await importSyntheticCatalog(db.dataSource, catalog);
    store = new ModelStore(db.dataSource);
    engine = new CollaborativeEngine(db.dataSource, store);
  });

  afterAll(async () => {
    await db.drop();
  });

  const kindOfActive = async () =>
    (
      (await db.dataSource.query(`SELECT topn_kind FROM model_versions WHERE status = 'active'`)) as {
        topn_kind: string;
      }[]
    )[0].topn_kind;

  it('stores and serves the kind training chose, with the validation figures that chose it', async () => {
    const { models } = await trainFromDatabase(db.dataSource, store, { ...BASE, topNModel: 'select' });
    const selection = models.metrics.topNSelection!;
    expect(selection.split).toBe('temporal');
    const figures = Object.entries(selection.validationNdcg10);
    expect(figures.map(([kind]) => kind).sort()).toEqual(['ease', 'ials', 'puresvd']);
    const winner = figures.reduce((best, next) => (next[1] > best[1] ? next : best))[0];
    expect(models.topN.kind).toBe(winner);
    expect(await kindOfActive()).toBe(winner);
    await engine.reload();
    expect((await store.loadActive())!.topN.kind).toBe(winner);
  });

  it('serves PureSVD when a version says so, iALS when it says so', async () => {
    await trainFromDatabase(db.dataSource, store, { ...BASE, topNModel: 'puresvd' });
    await engine.reload();
    expect(await kindOfActive()).toBe('puresvd');
    const pureSvdList = (await engine.recommend({ userId: 4, limit: 10 })).map((s) => s.movieId);

    const { models } = await trainFromDatabase(db.dataSource, store, { ...BASE, topNModel: 'ials' });
    await engine.reload();
    expect(await kindOfActive()).toBe('ials');
    const loaded = (await store.loadActive())!;
    if (loaded.topN.kind !== 'ials' || models.topN.kind !== 'ials') throw new Error('expected iALS');
    expect(loaded.topN.unobservedWeight).toBe(IALS.unobservedWeight);
    expect(loaded.topN.itemFactors).toEqual(models.topN.itemFactors);
    const ialsList = (await engine.recommend({ userId: 4, limit: 10 })).map((s) => s.movieId);
    expect(ialsList).not.toEqual(pureSvdList);
  });

  it('serves EASE when a version says so: scores are x_u B, explained by the same terms', async () => {
    const ease = { ...DEFAULT_EASE_OPTIONS, minRatings: 5, maxColumns: 60 };
    const { models } = await trainFromDatabase(db.dataSource, store, { ...BASE, ease, topNModel: 'ease' });
    await engine.reload();
    expect(await kindOfActive()).toBe('ease');
    const loaded = (await store.loadActive())!;
    if (loaded.topN.kind !== 'ease' || models.topN.kind !== 'ease') throw new Error('expected EASE');
    expect(loaded.topN.columns.length).toBe(60);
    expect(Array.from(loaded.topN.weights)).toEqual(Array.from(models.topN.weights));
    const { columns, weights } = loaded.topN;
    const ids = loaded.topN.itemIds;
    const userId = 4;
    const rated = catalog.ratings.filter((r) => r.userId === userId);
    const ratedIds = new Set(rated.map((r) => r.movieId));
    // By hand: the sum over the user's rated movies with a column of rating × B[rated, candidate].
    const columnOfId = new Map(Array.from(columns, (item, c) => [ids[item], c]));
    const expected = Array.from(columns, (item, c) => {
      let score = 0;
      for (const r of rated) {
        const row = columnOfId.get(r.movieId);
        if (row !== undefined) score += r.rating * weights[row * columns.length + c];
      }
      return { movieId: ids[item], score: Math.fround(score) };
    })
      .filter((s) => !ratedIds.has(s.movieId))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10);
    const before = { ...engine.retrievals };
    const list = await engine.recommend({ userId, limit: 10 });
    expect(list.map((s) => s.movieId)).toEqual(expected.map((s) => s.movieId));
    expect(list[0].score).toBeCloseTo(expected[0].score, 5);
    // Picked from the columns alone, with the catalog's filters: a genre, and movies asked to be left out.
    expect(engine.retrievals).toEqual({ ...before, rankedOnly: before.rankedOnly + 1 });
    const [genre] = catalog.movies[0].genres;
    const inGenre = new Set(catalog.movies.filter((m) => m.genres.includes(genre)).map((m) => m.movieId));
    const exclude = new Set([expected[0].movieId, expected[2].movieId]);
    const filtered = await engine.recommend({ userId, limit: 5, genres: [genre], exclude });
    const allScored = Array.from(columns, (item) => ids[item]).filter((id) => !ratedIds.has(id));
    const scoredAll = await engine.scoreMovies(userId, allScored);
    const filteredByHand = allScored
      .filter((id) => inGenre.has(id) && !exclude.has(id))
      .sort((a, b) => scoredAll.get(b)!.score - scoredAll.get(a)!.score || a - b)
      .slice(0, 5);
    expect(filtered.map((s) => s.movieId)).toEqual(filteredByHand);
    // Only movies with a column are ranked.
    for (const s of list) expect(columnOfId.has(s.movieId)).toBe(true);
    for (const e of list[0].evidence ?? []) expect(ratedIds.has(e.movieId)).toBe(true);
    // A new rating changes the list at once, with no solve.
    const target = list[0].movieId;
    await db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES ($1, $2, 5)`, [
      userId,
      target,
    ]);
    await engine.foldIn(userId);
    expect((await engine.recommend({ userId, limit: 10 })).map((s) => s.movieId)).not.toContain(target);
    await db.dataSource.query(`DELETE FROM ratings WHERE user_id = $1 AND movie_id = $2`, [userId, target]);
    await engine.foldIn(userId);
    // Back to iALS for the tests below.
    await trainFromDatabase(db.dataSource, store, { ...BASE, topNModel: 'ials' });
    await engine.reload();
  });

  it('ranks a trained user exactly as training’s own solve for that user does', async () => {
    // Train iALS on the same data outside the store; the engine's fold-in must reproduce the
    // training's final (converged) user factors, hence the same top 10.
    const dataset = await postgresRatingsSource(db.dataSource).load();
    const { model, userFactors: solved } = trainIals(dataset, IALS);
    const userFactors = solved!;
    const served = (await store.loadActive())!.topN;
    expect(factorsOf(served)).toEqual(model.itemFactors);
    for (const userId of [1, 4, 60]) {
      const user = Array.from(dataset.userIds).indexOf(userId);
      const scores = new Float32Array(dataset.numItems);
      factorScores(model.itemFactors, model.rank, userFactors.subarray(user * 8, user * 8 + 8), scores);
      for (let n = 0; n < dataset.size; n++)
        if (dataset.users[n] === user) scores[dataset.items[n]] = -Infinity;
      const expected = Array.from(topK(scores, 10), (item) => dataset.itemIds[item]);
      const list = await engine.recommend({ userId, limit: 10 });
      expect(list.map((s) => s.movieId)).toEqual(expected);
      expect(list[0].score).toBeCloseTo(scores[Array.from(dataset.itemIds).indexOf(expected[0])], 4);
    }
  });

  it('explains an iALS recommendation by the user’s own ratings', async () => {
    const list = await engine.recommend({ userId: 7, limit: 5 });
    const rated = new Set(catalog.ratings.filter((r) => r.userId === 7).map((r) => r.movieId));
    const evidence = list[0].evidence ?? [];
    expect(evidence.length).toBeGreaterThan(0);
    for (const e of evidence) expect(rated.has(e.movieId)).toBe(true);
  });

  it('a new rating changes the user’s iALS list at once (exact fold-in, no retraining)', async () => {
    const userId = 9;
    const before = await engine.recommend({ userId, limit: 5 });
    const target = before[0].movieId;
    await db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES ($1, $2, 4)`, [
      userId,
      target,
    ]);
    await engine.foldIn(userId);
    const after = await engine.recommend({ userId, limit: 5 });
    expect(after.map((s) => s.movieId)).not.toContain(target);
    // The new list is the exact solve for the user's ratings now, against the served item factors.
    const active = (await store.loadActive())!;
    if (active.topN.kind !== 'ials') throw new Error('expected iALS');
    const ratings: { movie_id: number; rating: number }[] = await db.dataSource.query(
      `SELECT movie_id, rating FROM ratings WHERE user_id = $1`,
      [userId],
    );
    const index = new Map(Array.from(active.topN.itemIds, (id, i) => [id, i]));
    const items = ratings.map((r) => index.get(r.movie_id)!);
    const system = foldInIalsUser(
      active.topN,
      gramian(active.topN.itemFactors, active.topN.rank, new Float64Array(64)),
      items,
      ratings.map((r) => r.rating),
    );
    const scores = new Float32Array(active.topN.itemIds.length);
    factorScores(active.topN.itemFactors, active.topN.rank, system.vector, scores);
    for (const item of items) scores[item] = -Infinity;
    expect(after.map((s) => s.movieId)).toEqual(Array.from(topK(scores, 5), (i) => active.topN.itemIds[i]));
  });

  it('a new user with a few ratings gets an iALS list', async () => {
    const [{ id }] = await db.dataSource.query(`INSERT INTO users DEFAULT VALUES RETURNING id`);
    const liked = catalog.movies.slice(0, 6).map((m) => m.movieId);
    for (const movieId of liked)
      await db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES ($1, $2, 5)`, [
        id,
        movieId,
      ]);
    const list = await engine.recommend({ userId: id, limit: 5 });
    expect(list).toHaveLength(5);
    expect(list.some((s) => liked.includes(s.movieId))).toBe(false);
  });
});
