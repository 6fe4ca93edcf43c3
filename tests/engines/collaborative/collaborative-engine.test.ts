import { generateSyntheticCatalog } from '../../../fixtures/synthetic';
import { CollaborativeEngine } from '../../../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../../../src/engines/collaborative/model-store';
import { EngineNotReadyError } from '../../../src/engines/engine';
import { trainFromDatabase } from '../../../training/database';
import { DEFAULT_TRAIN_OPTIONS, TrainedModels, TrainOptions } from '../../../training/train';
import { createTestDatabase, TestDatabase } from '../../helpers/database';
import { importSyntheticCatalog } from '../../helpers/synthetic-database';
import { factorsOf } from '../../helpers/top-n';

const OPTIONS: TrainOptions = {
  biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 30 },
  topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
};

describe('collaborative engine over Postgres', () => {
  let db: TestDatabase;
  let store: ModelStore;
  let engine: CollaborativeEngine;
  const catalog = generateSyntheticCatalog({ seed: 7, users: 150, movies: 120 });
  let trained: TrainedModels;

  beforeAll(async () => {
    db = await createTestDatabase();
    await importSyntheticCatalog(db.dataSource, catalog);
    store = new ModelStore(db.dataSource);
    engine = new CollaborativeEngine(db.dataSource, store);
  });

  afterAll(async () => {
    await db.drop();
  });

  it('is not ready before a model exists, and says so', async () => {
    expect(engine.status()).toEqual({ ready: false, reason: 'no trained model yet' });
    await expect(engine.recommend({ userId: 1, limit: 5 })).rejects.toThrow(EngineNotReadyError);
    expect(await engine.reload()).toBe(false);
  });

  it('trains from the ratings table, activates the version and serves it', async () => {
    const { version, models } = await trainFromDatabase(db.dataSource, store, OPTIONS);
    trained = models;
    expect(version).toMatch(/^model version \d+$/);
    expect(await engine.reload()).toBe(true);
    expect(engine.status()).toEqual({ ready: true });
    const [active] = (await store.versions()).filter((v) => v.status === 'active');
    expect(active.id).toBe(engine.activeVersionId());
  });

  it('round-trips factors through real[] exactly (float32)', async () => {
    const loaded = (await store.loadActive())!;
    expect(loaded.biased.itemIds).toEqual(trained.biased.itemIds);
    expect(loaded.biased.itemFactors).toEqual(trained.biased.itemFactors);
    expect(loaded.biased.userFactors).toEqual(trained.biased.userFactors);
    expect(factorsOf(loaded.topN)).toEqual(factorsOf(trained.topN));
    expect(loaded.biased.mu).toBe(trained.biased.mu);
  });

  it('recommends unseen movies only, best first, with evidence from the user’s own ratings', async () => {
    const userId = 3;
    const rated = new Set(catalog.ratings.filter((r) => r.userId === userId).map((r) => r.movieId));
    const list = await engine.recommend({ userId, limit: 15 });
    expect(list).toHaveLength(15);
    expect(list.some((s) => rated.has(s.movieId))).toBe(false);
    for (let i = 1; i < list.length; i++) expect(list[i - 1].score).toBeGreaterThanOrEqual(list[i].score);
    const evidence = list[0].evidence ?? [];
    expect(evidence.length).toBeGreaterThan(0);
    for (const e of evidence) expect(rated.has(e.movieId)).toBe(true);
  });

  it('ranks movies the planted model likes above those it dislikes', async () => {
    // Compare, over users, the planted score of the engine's top 10 against a random unseen 10.
    let topPlanted = 0;
    let allPlanted = 0;
    let count = 0;
    const { truth } = catalog;
    const planted = (u: number, m: number) =>
      truth.globalMean +
      truth.userBias[u - 1] +
      truth.movieBias[m - 1] +
      truth.userFactors[u - 1].reduce((s, f, i) => s + f * truth.movieFactors[m - 1][i], 0);
    for (let userId = 1; userId <= 40; userId++) {
      const list = await engine.recommend({ userId, limit: 10 });
      const rated = new Set(catalog.ratings.filter((r) => r.userId === userId).map((r) => r.movieId));
      const unseen = catalog.movies.map((m) => m.movieId).filter((m) => !rated.has(m));
      topPlanted += list.reduce((s, x) => s + planted(userId, x.movieId), 0) / list.length;
      allPlanted += unseen.reduce((s, m) => s + planted(userId, m), 0) / unseen.length;
      count++;
    }
    expect(topPlanted / count).toBeGreaterThan(allPlanted / count + 0.3);
  });

  it('scores other engines’ candidates and predicts ratings near the observed ones', async () => {
    const userId = 5;
    const own = catalog.ratings.filter((r) => r.userId === userId);
    const predicted = await engine.predictRatings(
      userId,
      own.map((r) => r.movieId),
    );
    const errors = own.map((r) => (predicted.get(r.movieId) as number) - r.rating);
    const rmse = Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);
    expect(rmse).toBeLessThan(0.9);
    const unseen = catalog.movies.map((m) => m.movieId).filter((m) => !own.some((r) => r.movieId === m));
    const scored = await engine.scoreMovies(userId, unseen.slice(0, 5));
    expect([...scored.keys()].sort((a, b) => a - b)).toEqual(unseen.slice(0, 5).sort((a, b) => a - b));
  });

  it('remembers a user’s lists per request shape, the least recently asked forgotten first', async () => {
    const userId = 11;
    const counts = engine.cacheCounts.lists;
    const retrievals = () => Object.values(engine.retrievals).reduce((sum, n) => sum + n, 0);
    const ask = (limit: number) => engine.recommend({ userId, limit });
    const first = await ask(1);
    const [hits, misses, picked] = [counts.hits, counts.misses, retrievals()];
    // The same shape again: the same movies, scores and evidence, and nothing ranked again.
    const again = await ask(1);
    expect(again.map((m) => [m.movieId, m.score, m.evidence])).toEqual(
      first.map((m) => [m.movieId, m.score, m.evidence]),
    );
    expect([counts.hits, counts.misses, retrievals()]).toEqual([hits + 1, misses, picked]);
    // REMEMBERED_SHAPES_PER_USER (8) shapes: 1 is asked for again as the ninth comes, so 2 goes.
    for (let limit = 2; limit <= 8; limit++) await ask(limit);
    await ask(1);
    await ask(9);
    const before = retrievals();
    await ask(1);
    expect(retrievals()).toBe(before);
    await ask(2);
    expect(retrievals()).toBe(before + 1);
  });

  it('folds in a new rating at once: predictions and rankings move, without retraining', async () => {
    const userId = 9;
    const versionBefore = engine.activeVersionId();
    const rated = new Set(catalog.ratings.filter((r) => r.userId === userId).map((r) => r.movieId));
    const before = await engine.recommend({ userId, limit: 5 });
    const target = before[0].movieId;
    const [predictedBefore] = (await engine.predictRatings(userId, [target])).values();
    await db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES ($1, $2, 0.5)`, [
      userId,
      target,
    ]);
    await engine.foldIn(userId);
    const [predictedAfter] = (await engine.predictRatings(userId, [target])).values();
    expect(predictedAfter).toBeLessThan(predictedBefore);
    const after = await engine.recommend({ userId, limit: 5 });
    expect(after.map((s) => s.movieId)).not.toContain(target);
    expect(rated.has(target)).toBe(false);
    expect(engine.activeVersionId()).toBe(versionBefore);
    const [stored] = await db.dataSource.query(
      `SELECT folded_in_at IS NOT NULL AS folded FROM model_user_factors WHERE model_id = $1 AND user_id = $2`,
      [versionBefore, userId],
    );
    expect(stored.folded).toBe(true);
  });

  it('gives a user unknown to the model factors by fold-in once they have ratings', async () => {
    const [{ id }] = await db.dataSource.query(`INSERT INTO users DEFAULT VALUES RETURNING id`);
    const liked = catalog.movies.slice(0, 6).map((m) => m.movieId);
    for (const movieId of liked)
      await db.dataSource.query(`INSERT INTO ratings (user_id, movie_id, rating) VALUES ($1, $2, 5)`, [
        id,
        movieId,
      ]);
    const predicted = await engine.predictRatings(id, [catalog.movies[10].movieId]);
    expect(predicted.size).toBe(1);
    const list = await engine.recommend({ userId: id, limit: 5 });
    expect(list).toHaveLength(5);
    expect(list.some((s) => liked.includes(s.movieId))).toBe(false);
  });

  it('leaves the active model serving when writing a new version fails half-way', async () => {
    const active = await store.loadActive();
    const versionsBefore = await store.versions();
    const broken = {
      ...active!,
      // A duplicate movie id violates the primary key after the version row and some factors are written.
      biased: {
        ...active!.biased,
        itemIds: Int32Array.from(active!.biased.itemIds, (id, i) =>
          i === 5 ? active!.biased.itemIds[4] : id,
        ),
      },
      topN: {
        ...active!.topN,
        itemIds: Int32Array.from(active!.biased.itemIds, (id, i) =>
          i === 5 ? active!.biased.itemIds[4] : id,
        ),
      },
    };
    await expect(store.save(broken)).rejects.toThrow(/duplicate key/);
    expect(await store.versions()).toEqual(versionsBefore);
    expect(await store.activeVersionId()).toBe(active!.versionId);
    expect(await engine.recommend({ userId: 3, limit: 3 })).toHaveLength(3);
  });

  it('keeps the active version and one previous for rollback', async () => {
    await trainFromDatabase(db.dataSource, store, OPTIONS);
    await trainFromDatabase(db.dataSource, store, OPTIONS);
    const versions = await store.versions();
    expect(versions).toHaveLength(2);
    expect(versions.map((v) => v.status)).toEqual(['retired', 'active']);
  });

  it('predicts a catalog movie nobody rated from its genres and decade, without ranking it', async () => {
    const [genre] = catalog.movies[0].genres;
    const unrated = 1_000_000;
    await db.dataSource.query(
      `INSERT INTO movies (id, title, year, genres) VALUES ($1, 'Unrated', 1999, $2)`,
      [unrated, [genre]],
    );
    const { models } = await trainFromDatabase(db.dataSource, store, OPTIONS);
    await engine.reload();
    const item = Array.from(models.biased.itemIds).indexOf(unrated);
    expect(item).toBeGreaterThanOrEqual(0);
    expect(models.biased.itemBias[item]).not.toBe(0);
    const userId = 3;
    const predicted = await engine.predictRatings(userId, [unrated]);
    expect(predicted.has(unrated)).toBe(true);
    expect((await engine.scoreMovies(userId, [unrated])).size).toBe(0);
    const list = await engine.recommend({ userId, limit: 200, genres: [genre] });
    expect(list.map((s) => s.movieId)).not.toContain(unrated);
  });
  it("serves the full pass's lists from the candidate index once a version has one, with the same filters", async () => {
    const indexed = new CollaborativeEngine(db.dataSource, store, { candidates: { minMovies: 0 } });
    expect(await indexed.reload()).toBe(true);
    expect(indexed.candidateIndexBuilt()).toBe(true);
    expect(engine.candidateIndexBuilt()).toBe(false); // 120 movies: below the default threshold
    const [genre] = catalog.movies[0].genres;
    const genreMovies = new Set(catalog.movies.filter((m) => m.genres.includes(genre)).map((m) => m.movieId));
    for (const userId of [2, 3, 4, 6, 8, 10, 12, 14]) {
      const rated = new Set(catalog.ratings.filter((r) => r.userId === userId).map((r) => r.movieId));
      const exact = await engine.recommend({ userId, limit: 10 });
      const found = await indexed.recommend({ userId, limit: 10 });
      expect(found).toHaveLength(10);
      expect(found.map((s) => [s.movieId, s.score])).toEqual(exact.map((s) => [s.movieId, s.score]));
      for (const s of found) expect(rated.has(s.movieId)).toBe(false);
      const filtered = await indexed.recommend({ userId, limit: 5, genres: [genre] });
      for (const s of filtered) expect(genreMovies.has(s.movieId)).toBe(true);
      const exactFiltered = await engine.recommend({ userId, limit: 5, genres: [genre] });
      expect(filtered.map((s) => s.movieId)).toEqual(exactFiltered.map((s) => s.movieId));
    }
    expect(indexed.retrievals).toEqual({ fullPass: 0, indexed: 16, rankedOnly: 0 });
    expect(engine.retrievals.indexed).toBe(0);
    // A new version gets an index of its own factors.
    const before = indexed.activeVersionId();
    await trainFromDatabase(db.dataSource, store, OPTIONS);
    expect(await indexed.reload()).toBe(true);
    expect(indexed.activeVersionId()).not.toBe(before);
    expect(indexed.candidateIndexBuilt()).toBe(true);
  });
});
