import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { Config } from './config';
import { ensureCatalog } from './data/first-run';
import { openDatabase } from './db/datasource';
import { EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded';
import { RecommendationEngine } from './engines/engine';
import {
  CachedRatingHistory,
  RatedMovie,
  RatingHistorySource,
  SqlRatingHistory,
} from './engines/rating-history';
import { ContentEngine, ContentIndexer, startContentEngine } from './engines/content';
import { createEmbedder, Embedder } from './engines/content/embedders';
import { CollaborativeEngine } from './engines/collaborative/collaborative-engine';
import { ModelStore } from './engines/collaborative/model-store';
import { StatisticalEngine } from './engines/statistical';
import { trainFromDatabase, type CalibrationOutcome } from '../training/database';
import { logTrainingProgress } from '../training/progress-log';
import { trainFirstModelInChild, type FirstModelTraining } from '../training/first-model';
import type { FirstModelResult } from '../training/train-database-cli';
import { createContext } from './graphql/context';
import { buildGraphQLSchema } from './graphql/schema';
import { Logger, structured } from './logger';
import {
  engineStatuses,
  instrumentEngine,
  metricSources,
  ObservedParts,
  ReadinessCheck,
  ServiceMetrics,
} from './observability';
import { LIST_TTL_MS, Orchestrator } from './orchestrator/orchestrator';
import { CalibratedWeightsOfVersion, weightsInForce, WeightsInForce } from './orchestrator/weights';
import { startHttpServer, RunningServer } from './server';
import { queryNestingCap, rateLimitIdentity } from './http/edge-policy';
import { RatingPredictor, Services } from './services';
import { MovieCatalog } from './services/movie-catalog';
import { RatingService } from './services/rating-service';
import { UserService } from './services/user-service';

export interface Database {
  dataSource: DataSource;
  url: string;
  embedded: boolean;
  close(): Promise<void>;
}

/** DATABASE_URL when given; otherwise the embedded PGlite server with its files under DATA_DIR. */
/**
 * PGlite is a single session, and its socket server interleaves the extended-protocol messages of
 * concurrent connections (one connection's Bind can land on another's Parse). One pooled
 * connection keeps every statement whole; the server still admits pool + 2 for tools.
 */
const EMBEDDED_POOL_SIZE = 1;

/** DATABASE_URL when given; otherwise the embedded PGlite server with its files under DATA_DIR. */
export async function connectDatabase(config: Config, logger: Logger): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedDatabase({
      dataDir: `${config.dataDir}/pglite`,
      port: config.embeddedDbPort,
      poolSize: EMBEDDED_POOL_SIZE,
    });
    url = embedded.url;
    logger.info(`DATABASE_URL is unset: started the embedded PGlite database (${config.dataDir}/pglite)`);
  }
  try {
    const dataSource = await openDatabase({
      url,
      poolSize: embedded ? EMBEDDED_POOL_SIZE : config.dbPoolSize,
      // PGlite ignores both server timeouts, and its queries run on this event loop, so a
      // client-side limit could only fail a query that already finished; nothing can stall there.
      timeouts: {
        connectMs: config.dbConnectTimeoutMs,
        statementMs: embedded ? 0 : config.dbStatementTimeoutMs,
        idleInTransactionMs: embedded ? 0 : config.dbIdleTxTimeoutMs,
      },
    });
    return {
      dataSource,
      url,
      embedded: embedded !== null,
      async close() {
        await dataSource.destroy();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

export interface EngineSet {
  statistical: StatisticalEngine;
  content: ContentEngine | null;
  /** Engines in the order the orchestrator should know them. */
  all: RecommendationEngine[];
  predictor: RatingPredictor | null;
  /** The users' ratings as the engines read them; shared so a request reads them once. */
  history?: RatingHistorySource;
  /** HYBRID's weights when a request sends none; the specified defaults when absent. */
  weightsInForce?: () => WeightsInForce;
}

/** What HYBRID_WEIGHTS=calibrated reads: the active collaborative version's calibrated weights. */
export function calibratedWeightsOf(collaborative: CollaborativeEngine): CalibratedWeightsOfVersion | null {
  const found = collaborative.calibratedWeights();
  if (!found) return null;
  const { calibration } = found;
  return {
    modelVersion: found.versionId,
    weights: calibration.weights,
    validationNdcg10: calibration.validationNdcg10,
    defaultValidationNdcg10: calibration.defaultValidationNdcg10,
    validationScheme: calibration.scheme,
  };
}

/** HYBRID_WEIGHTS as the orchestrator reads it, per request, from the loaded model version. */
export function hybridWeightsInForce(
  mode: Config['hybridWeights'],
  collaborative: CollaborativeEngine,
): () => WeightsInForce {
  return () => weightsInForce(mode, calibratedWeightsOf(collaborative), collaborative.activeVersionId());
}

/**
 * The services over these engines. With `metrics`, the orchestrator sees each engine through a
 * wrapper that times its calls (cinegraph_engine_duration_seconds).
 */
export function createServices(
  dataSource: DataSource,
  engines: EngineSet,
  metrics: ServiceMetrics | null = null,
  logger: Logger | null = null,
): Services {
  const catalog = new MovieCatalog(dataSource);
  const ratings = new RatingService(dataSource);
  const users = new UserService(dataSource, ratings);
  const history = engines.history ?? new SqlRatingHistory(dataSource);
  // One Map per ratings array: a cached history hands back the same array while a user's ratings
  // are unchanged, and the orchestrator reuses a finished list only for the very same Map.
  const ratingMaps = new WeakMap<readonly RatedMovie[], ReadonlyMap<number, number>>();
  const structuredLogger = logger ? structured(logger) : null;
  const orchestrator = new Orchestrator(
    metrics ? engines.all.map((engine) => instrumentEngine(engine, metrics, structuredLogger)) : engines.all,
    {
      ratingsOf: async (userId) => {
        const rated = await history.historyOf(userId);
        let ratings = ratingMaps.get(rated);
        if (!ratings) {
          ratings = new Map(rated.map((r) => [r.movieId, r.rating]));
          ratingMaps.set(rated, ratings);
        }
        return ratings;
      },
      moviesByIds: (ids) => catalog.findByIds(ids),
    },
    { coldStartThreshold: 5, listTtlMs: LIST_TTL_MS, weightsInForce: engines.weightsInForce },
  );
  return {
    catalog,
    ratings,
    users,
    orchestrator,
    statistical: engines.statistical,
    content: engines.content,
    predictor: engines.predictor,
  };
}

/**
 * After a user's ratings changed (and committed): drop what is cached of them, then fold their
 * factors in, so their next request already reflects the change.
 */
export function refreshOnRatings(
  ratings: RatingService,
  parts: {
    history: CachedRatingHistory | null;
    content: ContentEngine | null;
    collaborative: CollaborativeEngine | null;
  },
): void {
  ratings.onRatingsChanged(async (userId) => {
    parts.history?.forget(userId);
    parts.content?.forgetUser(userId);
    await parts.collaborative?.foldIn(userId);
  });
}

export interface ApiOptions extends Omit<ObservedParts, 'services'> {
  /** Extra details for /health. */
  health?: () => Promise<Record<string, unknown>>;
  /** The registry the services count into (createServices); null: METRICS=false. */
  metrics?: ServiceMetrics | null;
  /** How long stop() lets requests in flight finish. */
  drainMs?: number;
}

export async function startApi(
  config: Config,
  services: Services,
  logger: Logger,
  options: ApiOptions = {},
): Promise<RunningServer> {
  const schema = await buildGraphQLSchema();
  const { dataSource } = options;
  const metrics = options.metrics ?? null;
  metrics?.watch(metricSources({ services, ...options }));
  const readiness = dataSource
    ? new ReadinessCheck({
        ping: () => dataSource.query('SELECT 1'),
        engines: () => engineStatuses(services),
        timeoutMs: config.readinessTimeoutMs,
      })
    : null;
  if (readiness) services.readiness = () => readiness.check();
  return startHttpServer({
    schema,
    host: config.host,
    port: config.port,
    introspection: config.introspection,
    maxRequestBytes: config.maxRequestBytes,
    corsOrigins: config.corsOrigins,
    playground: config.playground,
    limits: {
      maxDepth: config.maxQueryDepth,
      maxCost: config.maxQueryCost,
      maxTokens: config.maxQueryTokens,
      maxAliases: config.maxQueryAliases,
      maxFragments: config.maxQueryFragments,
      maxNesting: queryNestingCap(config.maxQueryDepth),
    },
    rateLimit: { ratePerSecond: config.rateLimitRps, burst: config.rateLimitBurst },
    verifyToken: (token) => rateLimitIdentity(services.users, token),
    hideSuggestions: config.nodeEnv === 'production',
    logger,
    health: options.health,
    readiness: readiness ? () => readiness.check() : undefined,
    metrics,
    drainMs: options.drainMs,
    context: async (request) => createContext(services, request.headers.authorization),
  });
}

/**
 * Disposes the embedder if it has loaded; one still loading its model (seconds of CPU per worker)
 * is disposed when it arrives instead of holding the shutdown up (3.4 s of a 3.5 s stop, measured
 * on a first start with one use-lite worker).
 */
function disposeWhenLoaded(embedder: Promise<Embedder>): { dispose(): Promise<void> } {
  let loaded: Embedder | null = null;
  let settled = false;
  embedder.then(
    (ready) => {
      loaded = ready;
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return {
    async dispose() {
      if (loaded) await (loaded as Embedder).dispose?.();
      else if (!settled)
        embedder.then(
          (ready) => ready.dispose?.(),
          () => undefined,
        );
    },
  };
}

export function embedderFor(config: Config, logger: Logger): Promise<Embedder> {
  return createEmbedder({
    mode: config.embeddings,
    transformersModel: config.transformersModel,
    localModelPath: config.localModelPath ?? undefined,
    cacheDir: `${config.cacheDir}/transformers`,
    allowRemoteModels: config.allowRemoteModels,
    workers: config.embeddingWorkers,
    logger: (message) => logger.info(message),
  });
}

/** One log line on the hybrid weights a new version calibrated, or why it did not. */
function calibrationSummary(calibration: CalibrationOutcome): string {
  return calibration.calibrated
    ? `calibrated hybrid weights ${JSON.stringify(calibration.calibrated.weights)} (validation NDCG@10 ` +
        `${calibration.calibrated.validationNdcg10.toFixed(4)}, ${calibration.seconds.toFixed(1)} s)`
    : `hybrid weights not calibrated: ${calibration.reason}`;
}

/**
 * Loads the active model; without one, starts training the first in the background and returns at
 * once: until it is active the engine reports "training the first model" and the orchestrator answers
 * COLLABORATIVE with STATISTICAL. On Postgres the training runs in a child process (the server keeps
 * its event loop and survives the training's failure); the embedded database admits one session, so
 * there it runs in this process (demo-sized catalogs).
 */
async function prepareCollaborative(
  database: Database,
  engine: CollaborativeEngine,
  logger: Logger,
): Promise<FirstModelTraining | null> {
  if (await engine.reload()) return null;
  const [{ present }] = await database.dataSource.query(`SELECT EXISTS (SELECT 1 FROM ratings) AS present`);
  if (!present) {
    engine.setNotReadyReason('no ratings to train on yet');
    return null;
  }
  logger.info(
    'no active collaborative model: serving STATISTICAL while the first one trains in the background',
  );
  engine.setNotReadyReason('training the first model');
  const training: FirstModelTraining = database.embedded
    ? {
        done: trainFromDatabase(
          database.dataSource,
          engine.store,
          undefined,
          logTrainingProgress(logger),
        ).then(({ models, version, calibration }) => {
          logger.info(calibrationSummary(calibration));
          return {
            version,
            ratings: models.metrics.numRatings,
            seconds: models.metrics.biasedSeconds + models.metrics.topNSeconds,
            maxRssBytes: process.resourceUsage().maxRSS * 1024,
          };
        }),
        stop: () => undefined,
      }
    : trainFirstModelInChild({
        databaseUrl: database.url,
        onLine: (line, stream) => (stream === 'stderr' ? logger.warn(line) : logger.info(line)),
      });
  training.done
    .then(async (result) => {
      logger.info(
        `trained ${result.version}: ${result.ratings} ratings, ${result.seconds.toFixed(1)} s, ` +
          `peak RSS ${Math.round(result.maxRssBytes / 2 ** 20)} MiB`,
      );
      await engine.reload();
    })
    .catch((error: unknown) => {
      engine.setNotReadyReason(`training failed: ${error instanceof Error ? error.message : String(error)}`);
      logger.error('training the collaborative model failed', error);
    });
  return training;
}

export interface Cinegraph {
  url: string;
  database: Database;
  services: Services;
  indexer: ContentIndexer | null;
  /** The first collaborative model training in the background on a cold start; null when a model was there. */
  firstModel: Promise<FirstModelResult> | null;
  stop(): Promise<void>;
}

/**
 * The whole service: database (embedded unless DATABASE_URL), catalog on first run, engines,
 * then the API. The content index builds in the background; until it is complete the content
 * engine answers "index building: N%" and HYBRID proceeds without it.
 */
export async function startCinegraph(config: Config, logger: Logger): Promise<Cinegraph> {
  const database = await connectDatabase(config, logger);
  const { dataSource } = database;
  let embedder: Promise<Embedder> | null = null;
  let embedderDisposal: { dispose(): Promise<void> } | null = null;
  try {
    const history = new CachedRatingHistory(new SqlRatingHistory(dataSource));
    const statistical = new StatisticalEngine(dataSource, {}, history);
    await ensureCatalog(dataSource, config, logger, {
      afterImport: [async () => statistical.invalidateGlobalStats()],
    });

    let content: ContentEngine | null = null;
    let indexer: ContentIndexer | null = null;
    if (config.contentEngine) {
      embedder = embedderFor(config, logger);
      embedderDisposal = disposeWhenLoaded(embedder);
      const started = startContentEngine({ dataSource, embedder, logger, history });
      content = started.engine;
      indexer = started.indexer;
      const engine = started.engine;
      started.indexed.then(
        (summary) => {
          logger.info(
            `content index ready: ${summary.embedded} embedded, ${summary.unchanged} unchanged ` +
              `(${summary.model.modelId}, ${summary.seconds.toFixed(1)} s)`,
          );
          engine.preloadVectors().then(
            (count) => logger.info(`content vectors in memory: ${count}`),
            (error: unknown) => logger.warn(`preloading content vectors failed: ${String(error)}`),
          );
        },
        () => undefined,
      );
    }

    const collaborative = new CollaborativeEngine(dataSource, new ModelStore(dataSource), {
      logger,
      history,
      candidates: { minMovies: config.collaborativeAnnMinMovies },
    });
    const firstTraining = await prepareCollaborative(database, collaborative, logger);

    const engines: EngineSet = {
      statistical,
      content,
      predictor: collaborative,
      all: [collaborative, ...(content ? [content] : []), statistical],
      history,
      weightsInForce: () =>
        weightsInForce(
          config.hybridWeights,
          calibratedWeightsOf(collaborative),
          collaborative.activeVersionId(),
        ),
    };
    const metrics = config.metrics ? new ServiceMetrics() : null;
    const services = createServices(dataSource, engines, metrics, logger);
    refreshOnRatings(services.ratings, { history, content, collaborative });
    const server = await startApi(config, services, logger, {
      health: async () => ({
        database: database.embedded ? 'embedded' : 'postgres',
        engines: Object.fromEntries(engines.all.map((e) => [e.name, e.status()])),
        model: collaborative.activeModel(),
      }),
      metrics,
      dataSource,
      history,
      collaborative,
      content,
      indexer,
      // Requests in flight get most of the shutdown deadline; the rest closes the pool and database.
      drainMs: Math.max(250, config.shutdownTimeoutMs - 1500),
    });
    logger.info(`Cinegraph is serving GraphQL at ${server.url} (open it in a browser for GraphiQL)`);
    let stopped: Promise<void> | null = null;
    return {
      url: server.url,
      database,
      services,
      indexer,
      firstModel: firstTraining?.done ?? null,
      stop() {
        // One stop for every caller: a signal handler and a test's afterAll may both call it.
        stopped ??= (async () => {
          const started = performance.now();
          const lap = () => `${Math.round(performance.now() - started)} ms`;
          firstTraining?.stop();
          collaborative.stop();
          await server.stop();
          const drained = lap();
          await embedderDisposal?.dispose();
          const disposed = lap();
          await database.close();
          logger.info(
            `stopped: requests drained (${drained}), embedder disposed (${disposed}), ` +
              `pool and database closed (${lap()})`,
          );
        })();
        return stopped;
      },
    };
  } catch (error) {
    await (await embedder?.catch(() => null))?.dispose?.();
    await database.close();
    throw error;
  }
}
