import { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  FieldNode,
  FragmentDefinitionNode,
  Kind,
  OperationDefinitionNode,
  SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import { queryTooComplex, QueryTextCaps } from './query-text-caps';

export interface QueryLimits extends QueryTextCaps {
  maxDepth: number;
  maxCost: number;
}

export interface QueryMeasure {
  depth: number;
  cost: number;
}

/** What one page of a list field costs when the query does not say `first`. */
const DEFAULT_PAGE = 20;

/** The introspection entry points; only as genuine root fields of a query operation are they exempt. */
const INTROSPECTION_ROOT_FIELDS = new Set(['__schema', '__type']);

/**
 * Depth and an estimate of the work: every field costs 1, and a field taking `first` multiplies
 * the cost of what is selected under it by that page size.
 *
 * Each fragment is measured once and remembered (its cost and its depth below the spread do not
 * depend on where it is spread), so the walk is linear in the size of the document however often
 * fragments spread each other; walking a fragment again at every spread took exponential time
 * (10 levels of 10 spreads: minutes of CPU on the event loop). Costs may grow to astronomic
 * numbers (or Infinity); they are only ever compared.
 *
 * The root `__schema` / `__type` fields of a query operation (also when a fragment or inline
 * fragment brings them to the root) are not counted: the standard introspection query is depth 15,
 * and graphql-js's MaxIntrospectionDepthRule already bounds what may be nested under them. The
 * field's name decides, never its alias, and nowhere but at the root.
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
  const exemptAtRoot = operation.operation === 'query';
  /** Per fragment name, measured below a field (`nested`) and at the operation's root (`root`). */
  const memo = { nested: new Map<string, QueryMeasure>(), root: new Map<string, QueryMeasure>() };
  const inProgress = new Set<string>();

  /** `depth` is relative: 0 for the selection set itself; a field with a selection adds one. */
  const walk = (selectionSet: SelectionSetNode, atRoot: boolean): QueryMeasure => {
    let cost = 0;
    let deepest = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (atRoot && exemptAtRoot && INTROSPECTION_ROOT_FIELDS.has(selection.name.value)) continue;
        if (!selection.selectionSet) {
          cost += 1;
          continue;
        }
        const below = walk(selection.selectionSet, false);
        cost += 1 + pageSize(selection) * below.cost;
        deepest = Math.max(deepest, below.depth + 1);
        continue;
      }
      const inner =
        selection.kind === Kind.INLINE_FRAGMENT
          ? walk(selection.selectionSet, atRoot)
          : measureFragment(selection.name.value, atRoot);
      if (inner) {
        cost += inner.cost;
        deepest = Math.max(deepest, inner.depth);
      }
    }
    return { cost, depth: deepest };
  };

  const measureFragment = (name: string, atRoot: boolean): QueryMeasure | null => {
    const table = atRoot ? memo.root : memo.nested;
    const known = table.get(name);
    if (known) return known;
    const fragment = fragments[name];
    // Unknown or cyclic fragments are validation errors, reported before this runs.
    const key = `${atRoot}:${name}`;
    if (!fragment || inProgress.has(key)) return null;
    inProgress.add(key);
    const measured = walk(fragment.selectionSet, atRoot);
    inProgress.delete(key);
    table.set(name, measured);
    return measured;
  };

  const root = walk(operation.selectionSet, true);
  // The operation's own selection set counts as depth 1, as before.
  return { cost: root.cost, depth: root.depth + 1 };
}

/**
 * Depth and cost need the parsed operation and the variables: checked in didResolveOperation,
 * after validation and before execution, as a QUERY_TOO_COMPLEX error with HTTP 400. The text
 * caps (tokens, aliases, fragments, nesting) come earlier, at the HTTP edge (query-text-gate.ts).
 */
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
            throw queryTooComplex(
              'depth',
              measure.depth,
              limits.maxDepth,
              `query depth ${measure.depth} exceeds the limit of ${limits.maxDepth}`,
            );
          if (measure.cost > limits.maxCost)
            throw queryTooComplex(
              'cost',
              measure.cost,
              limits.maxCost,
              `query cost ${measure.cost} exceeds the limit of ${limits.maxCost}`,
            );
        },
      };
    },
  };
}
