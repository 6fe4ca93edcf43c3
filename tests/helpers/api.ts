import { DataSource } from 'typeorm';
import { createServices, EngineSet, startApi } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { Reads } from '../../src/db/read-routing';
import { CollaborativeEngine } from '../../src/engines/collaborative/collaborative-engine';
import { StatisticalEngine } from '../../src/engines/statistical';
import { Logger, silentLogger } from '../../src/logger';
import { ServiceMetrics } from '../../src/observability';
import { RunningServer } from '../../src/server';
import type { Services } from '../../src/composition/services';

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface TestApi extends RunningServer {
  services: Services;
  metrics: ServiceMetrics;
}

/** The real API on a test schema; engines default to the statistical one alone, reads to the primary. */
export async function startTestApi(
  dataSource: DataSource,
  engines: Partial<EngineSet> = {},
  env: Record<string, string> = {},
  logger: Logger = silentLogger,
  reads?: Reads,
): Promise<TestApi> {
  const config = loadConfig({ PORT: '0', ...env });
  const statistical = engines.statistical ?? new StatisticalEngine(dataSource, { globalStatsMaxAgeMs: 0 });
  const content = engines.content ?? null;
  const set: EngineSet = {
    statistical,
    content,
    predictor: engines.predictor ?? null,
    all: engines.all ?? [statistical, ...(content ? [content] : [])],
    history: engines.history,
    versions: engines.versions,
    weightsInForce: engines.weightsInForce,
  };
  // A registry per instance: tests run several APIs in one process.
  const metrics = new ServiceMetrics();
  const services = createServices(dataSource, set, metrics, logger, {
    serviceKeyCacheMs: config.serviceKeyCacheMs,
    reads,
  });
  const server = await startApi(config, services, logger, {
    dataSource,
    metrics,
    history: set.history,
    content,
    collaborative: set.predictor instanceof CollaborativeEngine ? set.predictor : null,
  });
  return { ...server, services, metrics };
}

export async function graphql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}
