import { DataSource } from 'typeorm';
import { Config } from './config';
import { openDatabase } from './db/datasource';
import { EmbeddedDatabase, startEmbeddedDatabase } from './db/embedded';
import { createContext } from './graphql/context';
import { buildGraphQLSchema } from './graphql/schema';
import { Logger } from './logger';
import { startHttpServer, RunningServer } from './server';
import { RecommendationEngine } from './engines/engine';
import { Orchestrator } from './orchestrator/orchestrator';
import { Services } from './services';
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
export async function connectDatabase(config: Config, logger: Logger): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedDatabase({
      dataDir: `${config.dataDir}/pglite`,
      port: config.embeddedDbPort,
      poolSize: config.dbPoolSize,
    });
    url = embedded.url;
    logger.info(`DATABASE_URL is unset: started the embedded PGlite database (${config.dataDir}/pglite)`);
  }
  try {
    const dataSource = await openDatabase({ url, poolSize: config.dbPoolSize });
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

export function createServices(dataSource: DataSource, engines: readonly RecommendationEngine[]): Services {
  const catalog = new MovieCatalog(dataSource);
  const ratings = new RatingService(dataSource);
  const users = new UserService(dataSource, ratings);
  const orchestrator = new Orchestrator(engines, {
    ratingsOf: (userId) => ratings.ratingsOf(userId),
    moviesByIds: (ids) => catalog.findByIds(ids),
  });
  return { catalog, ratings, users, orchestrator };
}

export async function startApi(config: Config, services: Services, logger: Logger): Promise<RunningServer> {
  const schema = await buildGraphQLSchema();
  return startHttpServer({
    schema,
    host: config.host,
    port: config.port,
    introspection: config.introspection,
    maxRequestBytes: config.maxRequestBytes,
    corsOrigins: config.corsOrigins,
    playground: config.playground,
    limits: { maxDepth: config.maxQueryDepth, maxCost: config.maxQueryCost },
    logger,
    context: async (request) => createContext(services, request.headers.authorization),
  });
}
