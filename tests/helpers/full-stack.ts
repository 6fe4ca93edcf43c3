import { generateSyntheticCatalog, SyntheticCatalog } from '../../fixtures/synthetic';
import { Versions } from '../../src/cache';
import { CollaborativeEngine } from '../../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { ContentEngine, ContentIndexer } from '../../src/engines/content';
import { CachedRatingHistory, SqlRatingHistory } from '../../src/engines/rating-history';
import { StatisticalEngine } from '../../src/engines/statistical';
import { hybridWeightsInForce, refreshOnRatings } from '../../src/app';
import { loadConfig } from '../../src/config';
import { Logger, silentLogger } from '../../src/logger';
import { trainFromDatabase } from '../../training/database';
import { DEFAULT_TRAIN_OPTIONS } from '../../training/train';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';
import { startTestApi, TestApi } from './api';
import { createTestDatabase, TestDatabase } from './database';
import { importSyntheticCatalog } from './synthetic-database';

export interface FullStack {
  db: TestDatabase;
  api: TestApi;
  catalog: SyntheticCatalog;
  collaborative: CollaborativeEngine;
  stop(): Promise<void>;
}

/**
 * The whole API over a synthetic catalog in its own schema: imported, a small collaborative model
 * trained and activated, the content index built (with a deterministic hashing embedder), and the
 * same rating listeners as the service.
 */
export async function startFullStack(
  env: Record<string, string> = {},
  logger: Logger = silentLogger,
  poolSize = 6,
): Promise<FullStack> {
  const db = await createTestDatabase(poolSize);
  const catalog = generateSyntheticCatalog({ seed: 11, users: 120, movies: 150 });
  await importSyntheticCatalog(db.dataSource, catalog);
  // The content index first: training calibrates the hybrid weights on its vectors.
  const indexer = new ContentIndexer({ dataSource: db.dataSource, embedder: new HashingEmbedder() });
  await indexer.run();
  const store = new ModelStore(db.dataSource);
  await trainFromDatabase(db.dataSource, store, {
    biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 15 },
    topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
  });
  // Wired as the service wires them: one cached read of a user's ratings shared by every engine.
  const versions = new Versions();
  const history = new CachedRatingHistory(new SqlRatingHistory(db.dataSource), versions);
  const collaborative = new CollaborativeEngine(db.dataSource, store, { history, versions });
  await collaborative.reload();
  const content = new ContentEngine({ dataSource: db.dataSource, indexer, history, versions });
  const statistical = new StatisticalEngine(db.dataSource, { globalStatsMaxAgeMs: 0 }, history, versions);
  const api = await startTestApi(
    db.dataSource,
    {
      statistical,
      content,
      predictor: collaborative,
      all: [collaborative, content, statistical],
      history,
      versions,
      weightsInForce: hybridWeightsInForce(loadConfig({ ...env }).hybridWeights, collaborative),
    },
    env,
    logger,
  );
  refreshOnRatings(api.services.ratings, { versions, history, content, collaborative });
  return {
    db,
    api,
    catalog,
    collaborative,
    async stop() {
      await api.stop();
      await db.drop();
    },
  };
}
