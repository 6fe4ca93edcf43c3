import { DataSource } from 'typeorm';
import { Logger, silentLogger } from '../../logger';
import { ProgressReporter, type ProgressReporterOptions } from '../../progress';
import type { Embedder } from './embedders/embedder';
import { describeError } from './embedders/errors';
import { EmbeddingModel, EmbeddingStore, MovieTextSource } from './embedding-store';
import { buildMovieText, contentHash, MovieTextOptions } from './movie-text';

export type IndexState = 'idle' | 'loading-model' | 'building' | 'ready' | 'failed';

export interface IndexProgress {
  state: IndexState;
  /** Movies whose embedding is current for the active model (embedded now, unchanged, or unembeddable). */
  done: number;
  /** Movies in the catalog when the run started; 0 until counted. */
  total: number;
  /** done / total, 0..1 (1 for an empty catalog). */
  fraction: number;
  /** Texts embedded by the current (or last) run. */
  embedded: number;
  /** The active model, once loaded. */
  model: EmbeddingModel | null;
  /** Whether a run has completed for the active model, so queries can be served. */
  complete: boolean;
  /** Why the last run failed. */
  error?: string;
  /**
   * Changes when the index changed without this process embedding anything (another process's run
   * completed); caches of vectors compare it.
   */
  generation?: number;
}

/** What the content engine needs of the index: its state, and the model to embed queries with. */
export interface IndexView {
  progress(): IndexProgress;
  activeEmbedder(): Embedder | null;
}

export interface IndexRunSummary {
  model: EmbeddingModel;
  total: number;
  /** Movies whose text and model were unchanged. */
  unchanged: number;
  embedded: number;
  /** Movies without usable text (blank title); logged and left out. */
  skipped: number;
  seconds: number;
}

export interface ContentIndexerOptions {
  dataSource: DataSource;
  /**
   * The model, or a promise of it: the server starts the indexer before the model has finished loading,
   * and the status reports "loading embedding model" meanwhile.
   */
  embedder: Embedder | Promise<Embedder>;
  /** Texts per embed call and per INSERT. */
  batchSize?: number;
  /** Movies read per page while looking for stale embeddings. */
  scanPageSize?: number;
  /**
   * A run that embeds at least this many movies and keeps none drops the HNSW index and builds it once
   * at the end (see dropIndexForBulkWrite). Default DEFAULT_BULK_INDEX_MIN_STALE.
   */
  bulkIndexMinStale?: number;
  movieText?: MovieTextOptions;
  /** Called whenever progress changes (after each batch is written). */
  onProgress?: (progress: IndexProgress) => void;
  logger?: Logger;
  /**
   * Progress lines while embedding (n/N texts, texts/s, ETA) through `logger`, at most one per interval
   * (default 5 s); false leaves progress to `onProgress` alone (the embed CLI's progress bar).
   */
  progressLog?: false | Pick<ProgressReporterOptions, 'intervalMs' | 'now'>;
}

export const DEFAULT_BATCH_SIZE = 64;
const DEFAULT_SCAN_PAGE_SIZE = 2000;
/** Below this, a first build's row-by-row index maintenance costs seconds; not worth a window without index. */
export const DEFAULT_BULK_INDEX_MIN_STALE = 2000;

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

interface StaleMovie {
  movieId: number;
}

/**
 * Keeps movie_embeddings current for one model: finds movies whose text (title, year, genres, top tags,
 * overview) or model changed since they were embedded, embeds those in batches and upserts the vectors.
 * Runs are resumable because unchanged movies are recognised by their stored text hash and model id.
 */
export class ContentIndexer implements IndexView {
  private readonly store: EmbeddingStore;
  private readonly batchSize: number;
  private readonly scanPageSize: number;
  private readonly bulkIndexMinStale: number;
  private readonly logger: Logger;
  private embedder: Embedder | null = null;
  private current: Promise<IndexRunSummary> | null = null;
  private state: IndexProgress = {
    state: 'idle',
    done: 0,
    total: 0,
    fraction: 0,
    embedded: 0,
    model: null,
    complete: false,
  };

  constructor(private readonly options: ContentIndexerOptions) {
    this.store = new EmbeddingStore(options.dataSource);
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.scanPageSize = options.scanPageSize ?? DEFAULT_SCAN_PAGE_SIZE;
    this.bulkIndexMinStale = options.bulkIndexMinStale ?? DEFAULT_BULK_INDEX_MIN_STALE;
    for (const [name, value] of [
      ['batchSize', this.batchSize],
      ['scanPageSize', this.scanPageSize],
      ['bulkIndexMinStale', this.bulkIndexMinStale],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
    }
    this.logger = options.logger ?? silentLogger;
    if (isPromise(options.embedder)) {
      // The run reports a failed load; this only keeps an unawaited rejection from crashing the process.
      options.embedder.catch(() => undefined);
    } else this.embedder = options.embedder;
  }

  /** A snapshot of the progress; synchronous so status() never waits on the database. */
  progress(): IndexProgress {
    return { ...this.state };
  }

  /** The loaded model, or null while it is loading (or failed to load). */
  activeEmbedder(): Embedder | null {
    return this.embedder;
  }

  /** The model this indexer embeds with, once it has loaded. */
  async model(): Promise<EmbeddingModel> {
    const embedder = this.embedder ?? (await this.options.embedder);
    return { modelId: embedder.modelId, dimension: embedder.dimension };
  }

  /**
   * Brings the index up to date. Concurrent calls share one run. `force` re-embeds every movie even if
   * unchanged.
   */
  run(options: { force?: boolean } = {}): Promise<IndexRunSummary> {
    if (this.current) return this.current;
    this.current = this.runOnce(options.force ?? false).finally(() => {
      this.current = null;
    });
    return this.current;
  }

  /**
   * Starts a run without making anyone wait for it; failures are logged and visible through progress().
   * The returned promise settles when the run ends, for callers that do want to know.
   */
  startInBackground(options: { force?: boolean } = {}): Promise<IndexRunSummary> {
    const run = this.run(options);
    run.catch((error: unknown) => this.logger.error(`content index build failed: ${describeError(error)}`));
    return run;
  }

  private update(patch: Partial<IndexProgress>): void {
    const next = { ...this.state, ...patch };
    next.fraction = next.total > 0 ? Math.min(1, next.done / next.total) : next.state === 'ready' ? 1 : 0;
    this.state = next;
    this.options.onProgress?.(this.progress());
  }

  private async loadEmbedder(): Promise<Embedder> {
    if (this.embedder) return this.embedder;
    this.update({ state: 'loading-model' });
    this.embedder = await this.options.embedder;
    return this.embedder;
  }

  private async runOnce(force: boolean): Promise<IndexRunSummary> {
    const started = performance.now();
    try {
      const embedder = await this.loadEmbedder();
      const model = { modelId: embedder.modelId, dimension: embedder.dimension };
      const complete = this.state.complete && this.state.model?.modelId === model.modelId;
      this.update({ state: 'building', model, complete, done: 0, total: 0, embedded: 0, error: undefined });
      this.update({ total: await this.store.countMovies() });

      const { stale, unchanged, skipped } = await this.findStale(model, force);
      this.logger.info(
        `content index (${model.modelId}): ${unchanged} movies up to date, ${stale.length} to embed` +
          (skipped > 0 ? `, ${skipped} without usable text` : ''),
      );
      const bulk = await this.dropIndexForBulkWrite(model, stale.length, unchanged, force);
      const embedded = await this.embedStale(embedder, model, stale);
      await this.ensureHnswIndex(model, bulk);
      // New vectors change the table the searches plan against; PGlite never analyses on its own.
      if (embedded > 0 || (await this.store.neverAnalyzed())) await this.store.analyze();
      // Movies added while the run was going are left for the next run; the index is complete for the
      // catalog it started from.
      this.update({ state: 'ready', complete: true, done: this.state.total });
      return {
        model,
        total: this.state.total,
        unchanged,
        embedded,
        skipped: skipped + (stale.length - embedded),
        seconds: (performance.now() - started) / 1000,
      };
    } catch (error) {
      this.update({ state: 'failed', error: describeError(error) });
      throw error;
    }
  }

  /**
   * A first build (or one for a new model) writes every vector anew; maintaining the HNSW graph for each
   * inserted row then costs more than building the index once at the end (at 62K movies, README:
   * Performance at scale), and nothing is served from this model's vectors until the run completes. Runs
   * that keep current vectors, and --force re-embeds, keep the index: queries are being answered from it.
   */
  private async dropIndexForBulkWrite(
    model: EmbeddingModel,
    stale: number,
    unchanged: number,
    force: boolean,
  ): Promise<boolean> {
    if (!this.store.hasHnswIndex(model.dimension) || force || unchanged > 0) return false;
    if (stale < this.bulkIndexMinStale) return false;
    if (!(await this.store.hnswIndexPresent(model.dimension))) return true;
    this.logger.info(
      `content index (${model.modelId}): dropping the HNSW index while ${stale} vectors are written; ` +
        'it is rebuilt at the end',
    );
    await this.store.dropHnswIndex(model.dimension);
    return true;
  }

  /**
   * Builds the HNSW index when it is missing: after a bulk write, and after a bulk write that was
   * interrupted (the resumed run sees current vectors, so it does not drop the index itself, but finds it
   * gone).
   */
  private async ensureHnswIndex(model: EmbeddingModel, bulk: boolean): Promise<void> {
    if (!this.store.hasHnswIndex(model.dimension)) return;
    if (!bulk && (await this.store.hnswIndexPresent(model.dimension))) return;
    const started = performance.now();
    this.logger.info(`content index (${model.modelId}): building the HNSW index`);
    await this.store.createHnswIndex(model.dimension);
    this.logger.info(
      `content index (${model.modelId}): HNSW index built in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }

  /** The text for a movie, or null (logged) when it has nothing to embed. */
  private textOf(source: MovieTextSource): string | null {
    try {
      return buildMovieText(source.input, this.options.movieText);
    } catch (error) {
      this.logger.warn(`movie ${source.movieId} is left out of the content index: ${describeError(error)}`);
      return null;
    }
  }

  private async findStale(model: EmbeddingModel, force: boolean) {
    const stale: StaleMovie[] = [];
    let unchanged = 0;
    let skipped = 0;
    let afterId = 0;
    for (;;) {
      const page = await this.store.movieTextSources({ afterId, limit: this.scanPageSize });
      if (page.length === 0) break;
      afterId = page[page.length - 1].movieId;
      for (const source of page) {
        const text = this.textOf(source);
        if (text === null) skipped++;
        else if (
          !force &&
          source.storedModelId === model.modelId &&
          source.storedTextHash === contentHash(text)
        )
          unchanged++;
        else stale.push({ movieId: source.movieId });
      }
      this.update({ done: unchanged + skipped });
    }
    return { stale, unchanged, skipped };
  }

  /**
   * Embeds in batches, writing each batch while the next one is being embedded. Texts are read again per
   * batch (rather than kept from the scan) so memory stays bounded by the batch, and the stored hash is
   * always that of the text actually embedded.
   */
  private async embedStale(embedder: Embedder, model: EmbeddingModel, stale: StaleMovie[]): Promise<number> {
    let embedded = 0;
    const progressLog = this.options.progressLog ?? {};
    const reporter =
      progressLog === false
        ? null
        : new ProgressReporter({
            ...progressLog,
            logger: this.logger,
            label: `content index (${model.modelId})`,
            unit: 'texts',
            total: stale.length,
          });
    let pendingWrite: Promise<unknown> | null = null;
    const settle = async () => {
      const outcome = await pendingWrite;
      pendingWrite = null;
      if (outcome instanceof Error) throw outcome;
    };
    try {
      for (let start = 0; start < stale.length; start += this.batchSize) {
        const ids = stale.slice(start, start + this.batchSize).map((movie) => movie.movieId);
        const sources = await this.store.movieTextSources({ ids });
        const batch = sources.flatMap((source) => {
          const text = this.textOf(source);
          return text === null ? [] : [{ movieId: source.movieId, text }];
        });
        // Until the index is complete nothing is served from it, so no request waits on these vectors.
        const background = !this.state.complete;
        const vectors =
          batch.length > 0
            ? await embedder.embed(
                batch.map((movie) => movie.text),
                { background },
              )
            : [];
        if (vectors.length !== batch.length)
          throw new Error(`${model.modelId} returned ${vectors.length} vectors for ${batch.length} texts`);
        await settle();
        const rows = batch.map((movie, i) => ({
          movieId: movie.movieId,
          textHash: contentHash(movie.text),
          vector: vectors[i],
        }));
        const batchSize = ids.length;
        // Captured as a value, not left as a rejected promise: nothing awaits it until the next batch is embedded.
        pendingWrite = this.store.upsert(model, rows).then(
          (written) => {
            embedded += written;
            this.update({ done: this.state.done + batchSize, embedded });
            reporter?.update(start + batchSize);
          },
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
      }
    } catch (error) {
      // The batch written while this one was embedded finishes first: a run that reports failure has
      // no write of its own still in flight, which a resumed run would race (and embed again).
      await pendingWrite;
      throw error;
    }
    await settle();
    return embedded;
  }
}
