import 'reflect-metadata';
import path from 'node:path';
import { GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import {
  DiscoveryResolver,
  ScoredMovieResolver,
  TrendingMovieResolver,
} from './resolvers/discovery.resolver';
import { ExperimentResolver } from './resolvers/experiment.resolver';
import { HealthResolver } from './resolvers/health.resolver';
import { HybridWeightsResolver } from './resolvers/hybrid-weights.resolver';
import { MovieResolver } from './resolvers/movie.resolver';
import { MutationResolver } from './resolvers/mutation.resolver';
import { ExplanationResolver, RecommendationResolver } from './resolvers/recommendation.resolver';
import { RatingResolver, UserResolver } from './resolvers/user.resolver';
import { validateArguments } from './validate-args';

export const SCHEMA_FILE = path.resolve(__dirname, '../../schema/schema.graphql');

export async function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      HealthResolver,
      MovieResolver,
      DiscoveryResolver,
      ScoredMovieResolver,
      TrendingMovieResolver,
      RecommendationResolver,
      ExplanationResolver,
      UserResolver,
      RatingResolver,
      MutationResolver,
      HybridWeightsResolver,
      ExperimentResolver,
    ],
    // No global middlewares: one wraps every plain field in an async resolver, a promise chain per
    // field of every answer. Domain errors are mapped in formatError (server.ts) instead.
    validateFn: validateArguments,
  });
}

/** The committed SDL: sorted, so it changes only when the API does. */
export function printSchemaFile(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
