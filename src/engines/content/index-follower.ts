import type { DataSource } from 'typeorm';
import { Logger, silentLogger } from '../../logger';
import type { Embedder } from './embedders/embedder';
import { describeError } from './embedders/errors';
import type { IndexProgress, IndexView } from './indexer';

export interface IndexFollowerOptions {
  dataSource: DataSource;
  /** The same model the worker embeds with (same EMBEDDINGS settings); queries are embedded here. */
  embedder: Embedder | Promise<Embedder>;
  /**
   * The newest completed index build for a model (an increasing id), or null when none completed:
   * a run finds movies without usable text and leaves them out, so counting vectors cannot tell.
   */
  completedBuild(modelId: string): Promise<number | null>;
  logger?: Logger;
}

/**
 * The content index as an instance that does not build it sees it (WORKER=off): the worker's
 * progress read from the database on every refresh(): vectors written for the model against movies
 * in the catalog while it builds, then the id of its latest completed build, which moves the
 * engine's vector caches on when another build completes.
 */
export class IndexFollower implements IndexView {
  private embedder: Embedder | null = null;
  private readonly logger: Logger;
  private state: IndexProgress = {
    state: 'loading-model',
    done: 0,
    total: 0,
    fraction: 0,
    embedded: 0,
    model: null,
    complete: false,
  };

  constructor(private readonly options: IndexFollowerOptions) {
    this.logger = options.logger ?? silentLogger;
    Promise.resolve(options.embedder).then(
      (embedder) => {
        this.embedder = embedder;
        this.state = {
          ...this.state,
          state: 'idle',
          model: { modelId: embedder.modelId, dimension: embedder.dimension },
        };
      },
      (error: unknown) => {
        this.state = { ...this.state, state: 'failed', error: describeError(error) };
      },
    );
  }

  progress(): IndexProgress {
    return { ...this.state };
  }

  activeEmbedder(): Embedder | null {
    return this.embedder;
  }

  /** Reads the index's state again; a failed read keeps the last state (and is logged at debug). */
  async refresh(): Promise<void> {
    const model = this.state.model;
    if (!model) return;
    try {
      const build = await this.options.completedBuild(model.modelId);
      if (build !== null) {
        if (!this.state.complete || this.state.generation !== build)
          this.state = { ...this.state, state: 'ready', complete: true, fraction: 1, generation: build };
        return;
      }
      const [{ total, done }]: { total: number; done: number }[] = await this.options.dataSource.query(
        `SELECT (SELECT count(*) FROM movies)::int AS total,
                (SELECT count(*) FROM movie_embeddings WHERE model_id = $1)::int AS done`,
        [model.modelId],
      );
      this.state = {
        ...this.state,
        state: 'building',
        total,
        done,
        embedded: done,
        fraction: total > 0 ? Math.min(1, done / total) : 0,
      };
    } catch (error) {
      this.logger.debug(`reading the content index's state failed: ${describeError(error)}`);
    }
  }
}
