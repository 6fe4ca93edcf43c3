import { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  FieldNode,
  FragmentDefinitionNode,
  GraphQLError,
  Kind,
  OperationDefinitionNode,
  SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
}

export interface QueryMeasure {
  depth: number;
  cost: number;
}

/** What one page of a list field costs when the query does not say `first`. */
const DEFAULT_PAGE = 20;

/**
 * Depth and an estimate of the work: every field costs 1, and a field taking `first` multiplies
 * the cost of what is selected under it by that page size. Fragments are followed; cycles cannot
 * occur because GraphQL validation has already rejected them.
 */
export function measureOperation(
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): QueryMeasure {
  const pageSize = (field: FieldNode): number => {
    const first = field.arguments?.find((a) => a.name.value === 'first');
    if (!first) return 1;
    const value = valueFromASTUntyped(first.value, variables);
    return typeof value === 'number' && value > 0 ? value : DEFAULT_PAGE;
  };
  const walk = (selectionSet: SelectionSetNode, depth: number): QueryMeasure => {
    let cost = 0;
    let deepest = depth;
    for (const selection of selectionSet.selections) {
      let inner: QueryMeasure | null = null;
      if (selection.kind === Kind.FIELD) {
        if (!selection.selectionSet) {
          cost += 1;
          continue;
        }
        const below = walk(selection.selectionSet, depth + 1);
        cost += 1 + pageSize(selection) * below.cost;
        deepest = Math.max(deepest, below.depth);
        continue;
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) inner = walk(selection.selectionSet, depth);
      else {
        const fragment = fragments[selection.name.value];
        if (fragment) inner = walk(fragment.selectionSet, depth);
      }
      if (inner) {
        cost += inner.cost;
        deepest = Math.max(deepest, inner.depth);
      }
    }
    return { cost, depth: deepest };
  };
  return walk(operation.selectionSet, 1);
}

export function queryLimitsPlugin<TContext extends BaseContext>(
  limits: QueryLimits,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) return;
          const fragments: Record<string, FragmentDefinitionNode> = {};
          for (const definition of document.definitions)
            if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
          const measure = measureOperation(operation, fragments, request.variables ?? {});
          if (measure.depth > limits.maxDepth)
            throw new GraphQLError(`query depth ${measure.depth} exceeds the limit of ${limits.maxDepth}`, {
              extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 }, ...measure, limits },
            });
          if (measure.cost > limits.maxCost)
            throw new GraphQLError(`query cost ${measure.cost} exceeds the limit of ${limits.maxCost}`, {
              extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 }, ...measure, limits },
            });
        },
      };
    },
  };
}
