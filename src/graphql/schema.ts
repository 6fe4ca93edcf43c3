import 'reflect-metadata';
import path from 'node:path';
import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { HealthResolver } from './resolvers/health.resolver';
import { MovieResolver } from './resolvers/movie.resolver';

export const SCHEMA_FILE = path.resolve(__dirname, '../../schema/schema.graphql');

export async function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [HealthResolver, MovieResolver],
    validate: { forbidUnknownValues: false },
  });
}

/** The committed SDL: sorted, so it changes only when the API does. */
export function printSchemaFile(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
