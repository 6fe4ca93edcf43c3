import { loadConfig } from '../../src/config';
import { createServices, startApi } from '../../src/app';
import { silentLogger } from '../../src/logger';
import { RunningServer } from '../../src/server';
import { DataSource } from 'typeorm';
import { RecommendationEngine } from '../../src/engines/engine';

export interface GraphQLResponse<T = Record<string, unknown>> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function startTestApi(
  dataSource: DataSource,
  engines: readonly RecommendationEngine[] = [],
  env: Record<string, string> = {},
): Promise<RunningServer> {
  const config = loadConfig({ PORT: '0', ...env });
  return startApi(config, createServices(dataSource, engines), silentLogger);
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
