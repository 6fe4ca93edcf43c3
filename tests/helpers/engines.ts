import type { DataSource } from 'typeorm';
import type { SyntheticCatalog } from '../../fixtures/synthetic';
import { Versions } from '../../src/cache';
import { CollaborativeEngine } from '../../src/engines/collaborative/collaborative-engine';
import { ModelStore } from '../../src/engines/collaborative/model-store';
import { ContentEngine, ContentIndexer } from '../../src/engines/content';
import { CachedRatingHistory, SqlRatingHistory } from '../../src/engines/rating-history';
import { StatisticalEngine } from '../../src/engines/statistical';
import { trainFromDatabase } from '../../training/database';
import { DEFAULT_TRAIN_OPTIONS } from '../../training/train';
import { HashingEmbedder } from '../engines/content/index/helpers/hashing-embedder';
import { importSyntheticCatalog } from './synthetic-database';

export interface ServingEngines {
  collaborative: CollaborativeEngine;
  content: ContentEngine;
  statistical: StatisticalEngine;
  history: CachedRatingHistory;
  versions: Versions;
}

/**
 * The three engines ready over `catalog`, imported into `dataSource`: the content index built (with
 * a deterministic hashing embedder), a small collaborative model trained and activated, and one
 * cached read of a user's ratings shared by every engine, as the service wires them.
 */
export async function startEngines(
  dataSource: DataSource,
  catalog: SyntheticCatalog,
): Promise<ServingEngines> {
  await importSyntheticCatalog(dataSource, catalog);
  // The content index first: training calibrates the hybrid weights on its vectors.
  const indexer = new ContentIndexer({ dataSource, embedder: new HashingEmbedder() });
  await indexer.run();
  const store = new ModelStore(dataSource);
  await trainFromDatabase(dataSource, store, {
    biased: { ...DEFAULT_TRAIN_OPTIONS.biased, factors: 8, epochs: 15 },
    topN: { ...DEFAULT_TRAIN_OPTIONS.topN, rank: 8 },
  });
  const versions = new Versions();
  const history = new CachedRatingHistory(new SqlRatingHistory(dataSource), versions);
  const collaborative = new CollaborativeEngine(dataSource, store, { history, versions });
  await collaborative.reload();
  const content = new ContentEngine({ dataSource, indexer, history, versions });
  const statistical = new StatisticalEngine(dataSource, { globalStatsMaxAgeMs: 0 }, history, versions);
  return { collaborative, content, statistical, history, versions };
}
