import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type {
  ApolloServerPlugin,
  BaseContext,
  GraphQLRequestContextDidResolveOperation,
} from '@apollo/server';
import { Kind, type FragmentDefinitionNode, type SelectionSetNode } from 'graphql';
import type { Logger, StructuredLogger } from '../logger';
import type { ServiceMetrics } from './metrics';

/** What is known of one HTTP request while it is served, for its log line and its metrics. */
export interface RequestRecord {
  id: string;
  started: number;
  /** The GraphQL operation name, or the root fields of an anonymous one ("recommendations"). */
  operation?: string;
  /** Requested recommendation strategies, sorted ("HYBRID", "HYBRID,STATISTICAL"), or "none". */
  strategy?: string;
  /** "ok", or the code of the first error in the answer. */
  outcome?: string;
  errorCodes?: string[];
}

/** Accepted as a caller's request id: printable, short (it is echoed and logged). */
const REQUEST_ID = /^[\w.:/=+-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Strategies asked for by every `recommendations` field of the operation (default HYBRID). */
function requestedStrategies(context: GraphQLRequestContextDidResolveOperation<BaseContext>): string {
  const variables = context.request.variables ?? {};
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of context.document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const found = new Set<string>();
  const seenFragments = new Set<string>();
  const walk = (selections: SelectionSetNode | undefined) => {
    for (const selection of selections?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === 'recommendations') {
          const argument = selection.arguments?.find((a) => a.name.value === 'strategy');
          let strategy: unknown = 'HYBRID';
          if (argument?.value.kind === Kind.ENUM) strategy = argument.value.value;
          else if (argument?.value.kind === Kind.VARIABLE)
            strategy = variables[argument.value.name.value] ?? 'HYBRID';
          if (typeof strategy === 'string' && /^[A-Z_]{1,20}$/.test(strategy)) found.add(strategy);
        }
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) walk(selection.selectionSet);
      else if (!seenFragments.has(selection.name.value)) {
        seenFragments.add(selection.name.value);
        walk(fragments.get(selection.name.value)?.selectionSet);
      }
    }
  };
  walk(context.operation?.selectionSet);
  return found.size ? [...found].sort().join(',') : 'none';
}

function operationOf(context: GraphQLRequestContextDidResolveOperation<BaseContext>): string {
  if (context.operationName) return context.operationName;
  const roots = (context.operation?.selectionSet.selections ?? [])
    .map((s) => (s.kind === Kind.FIELD ? s.name.value : '…'))
    .filter((name, i, all) => all.indexOf(name) === i)
    .sort();
  return roots.length ? `${roots.join('+')}` : 'anonymous';
}

/**
 * Follows GraphQL requests from the HTTP layer through Apollo: the HTTP handler opens a record per
 * request (keyed by the request object it hands Apollo), this plugin fills in the operation,
 * strategy and outcome, and counts them; the HTTP handler writes the request's log line.
 */
export class RequestTracker {
  private readonly records = new WeakMap<object, RequestRecord>();
  private readonly errors = new WeakMap<object, RequestRecord>();

  constructor(
    private readonly metrics: ServiceMetrics | null,
    private readonly logger: StructuredLogger | null,
  ) {}

  open(id: string): RequestRecord {
    return { id, started: performance.now() };
  }

  /** Links Apollo's view of the request (the object given to executeHTTPGraphQLRequest) to its record. */
  attach(httpRequest: object, record: RequestRecord): void {
    this.records.set(httpRequest, record);
  }

  /** The logger for an error met while serving a request: its lines carry the request id. */
  loggerForError(error: unknown): Logger | undefined {
    const record = typeof error === 'object' && error !== null ? this.errors.get(error) : undefined;
    return record && this.logger ? this.logger.child({ reqId: record.id }) : undefined;
  }

  plugin<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
    const { records, errors: errorRecords, metrics } = this;
    return {
      async requestDidStart({ request }) {
        const record = request.http ? records.get(request.http) : undefined;
        if (!record) return;
        return {
          async didResolveOperation(context) {
            record.operation = operationOf(context);
            record.strategy = requestedStrategies(context);
          },
          async didEncounterErrors(context) {
            for (const error of context.errors) errorRecords.set(error, record);
          },
          async willSendResponse(context) {
            const body = context.response.body;
            const errors = body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
            const codes = (errors ?? []).map((e) => {
              const code = e.extensions?.code;
              return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : 'ERROR';
            });
            record.errorCodes = codes.length ? codes : undefined;
            record.outcome = codes[0] ?? 'ok';
            record.operation ??= context.request.operationName ?? 'unparsed';
            record.strategy ??= 'none';
            if (metrics) {
              const operation = metrics.operationLabel(record.operation);
              metrics.graphqlRequests.inc({ operation, outcome: record.outcome });
              metrics.graphqlDuration.observe(
                { operation, strategy: record.strategy },
                (performance.now() - record.started) / 1000,
              );
            }
          },
        };
      },
    };
  }
}
