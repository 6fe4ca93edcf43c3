import { generateSyntheticCatalog, SyntheticCatalog } from '../../fixtures/synthetic';
import type { CollaborativeEngine } from '../../src/engines/collaborative/collaborative-engine';
import { hybridWeightsInForce, refreshOnRatings } from '../../src/app';
import { loadConfig } from '../../src/config';
import { Logger, silentLogger } from '../../src/logger';
import { startTestApi, TestApi } from './api';
import { startEngines } from './engines';
import { createTestDatabase, TestDatabase } from './database';

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
  const { collaborative, content, statistical, history, versions } = await startEngines(
    db.dataSource,
    catalog,
  );
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
