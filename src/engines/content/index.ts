import { DataSource } from 'typeorm';
import { Logger } from '../../logger';
import { ContentEngine, ContentEngineOptions } from './content-engine';
import type { Embedder } from './embedders/embedder';
import { ContentIndexer, IndexRunSummary } from './indexer';

export { ContentEngine, DEFAULT_EF_SEARCH, MAX_LIMIT, MAX_QUERY_LENGTH } from './content-engine';
export type { ContentEngineOptions, ContentQueryOptions } from './content-engine';
export { ContentIndexer, DEFAULT_BATCH_SIZE } from './indexer';
export type { ContentIndexerOptions, IndexProgress, IndexRunSummary, IndexState, IndexView } from './indexer';
export { IndexFollower } from './index-follower';
export type { IndexFollowerOptions } from './index-follower';
export {
  DEFAULT_EXACT_FILTER_LIMIT,
  EmbeddingStore,
  moviesNeighbourQuerySql,
  neighbourQuerySql,
} from './embedding-store';
export type {
  EmbeddingModel,
  MoviesNeighbourQuery,
  Neighbour,
  NeighbourQuery,
  SearchTuning,
} from './embedding-store';
export { computeTasteProfile } from './taste-profile';
export type { RatedVector, TasteProfile } from './taste-profile';

export interface StartContentEngineOptions extends Omit<ContentEngineOptions, 'indexer'> {
  dataSource: DataSource;
  /** A promise is fine: the engine reports "loading embedding model" until it resolves. */
  embedder: Embedder | Promise<Embedder>;
  batchSize?: number;
  logger?: Logger;
}

/**
 * Wires the indexer and the engine and starts bringing the index up to date in the background, so the
 * server can start serving at once; the engine reports "index building: N%" until the run completes.
 */
export function startContentEngine(options: StartContentEngineOptions): {
  engine: ContentEngine;
  indexer: ContentIndexer;
  indexed: Promise<IndexRunSummary>;
} {
  const { embedder, batchSize, logger, ...engineOptions } = options;
  const indexer = new ContentIndexer({ dataSource: options.dataSource, embedder, batchSize, logger });
  const engine = new ContentEngine({ ...engineOptions, indexer });
  return { engine, indexer, indexed: indexer.startInBackground() };
}
