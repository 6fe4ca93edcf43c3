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

/** type-graphql has no place for the root types' descriptions; they say what holds for every field. */
const ROOT_DESCRIPTIONS = {
  Query:
    'Reads. Any field may answer SERVICE_UNAVAILABLE (extensions.retryable: ask again after a moment) when ' +
    'the database is unreachable, and a field that reads the viewer answers UNAUTHENTICATED when the ' +
    'Authorization header holds a malformed, unknown or revoked token.',
  Mutation:
    'Writes, as the user of the bearer token (onboard excepted). A mutation that fails writes nothing; ' +
    'any may answer SERVICE_UNAVAILABLE when the database is unreachable.',
};

export async function buildGraphQLSchema(): Promise<GraphQLSchema> {
  const schema = await buildSchema({
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
  for (const type of [schema.getQueryType(), schema.getMutationType()])
    if (type) type.description = ROOT_DESCRIPTIONS[type.name as keyof typeof ROOT_DESCRIPTIONS];
  return schema;
}

/** The committed SDL: sorted, so it changes only when the API does. */
export function printSchemaFile(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
