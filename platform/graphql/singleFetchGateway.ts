import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
// The root of @apollo/gateway exports the data source type but not the enum of its request kinds.
import { GraphQLDataSourceRequestKind } from '@apollo/gateway/dist/datasources/types.js';
import { operationFromDocument, Supergraph, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode } from '@apollo/query-planner';
import {
  GraphQLError,
  getNamedType,
  getVariableValues,
  isAbstractType,
  isEnumType,
  isObjectType,
  Kind,
  parse,
  print,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLFormattedError,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import { inSpan } from '../observability/tracing.ts';
import type { SubgraphDataSource } from './subgraphDataSource.ts';
import { UnparsedData } from './unparsedAnswers.ts';

/** An operation whose plan is one fetch, and whose subgraph answer is already the client's answer. */
export interface DirectFetch {
  readonly fetch: FetchNode;
  readonly operation: OperationDefinitionNode;
}

/**
 * Tells which queries and mutations a subgraph can answer for the gateway, word for word: those planned as one
 * fetch from one subgraph, with nothing to merge, rename or filter. The fetch must select, field
 * for field and in the same order, what the client selected (same aliases, arguments and
 * directives, fragments on the same type inlined), and nothing in it may differ between the
 * subgraph's schema and the API schema: no introspection, no abstract type (its runtime type
 * could be @inaccessible, and the planner adds `__typename`), no enum with @inaccessible values.
 * Anything else, or anything it cannot tell, is left to the gateway. Decided once per document.
 */
export class DirectFetchPlanner {
  private readonly apiSchema: Schema;
  private readonly apiGraphQLSchema: GraphQLSchema;
  private readonly planner: QueryPlanner;
  private readonly enumsWithInaccessibleValues: ReadonlySet<string>;
  private readonly decisions = new WeakMap<DocumentNode, Map<string, DirectFetch | null>>();

  constructor(supergraphSdl: string) {
    const supergraph = Supergraph.build(supergraphSdl);
    this.apiSchema = supergraph.apiSchema();
    this.apiGraphQLSchema = this.apiSchema.toGraphQLJSSchema();
    this.planner = new QueryPlanner(supergraph);
    this.enumsWithInaccessibleValues = enumsWithInaccessibleValues(supergraph.schema.toGraphQLJSSchema(), this.apiGraphQLSchema);
  }

  /** The fetch that answers `document`'s operation as it is, or null when the gateway must. */
  directFetch(document: DocumentNode, operationName?: string): DirectFetch | null {
    let byName = this.decisions.get(document);
    if (!byName) this.decisions.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) byName.set(key, this.plan(document, operationName));
    return byName.get(key)!;
  }

  /** Whether `variables` are valid for `operation` against the API schema (not only the subgraph's). */
  acceptsVariables(operation: OperationDefinitionNode, variables: Record<string, unknown>): boolean {
    return !getVariableValues(this.apiGraphQLSchema, operation.variableDefinitions ?? [], variables).errors;
  }

  private plan(document: DocumentNode, operationName: string | undefined): DirectFetch | null {
    const operation = document.definitions.find(
      (definition): definition is OperationDefinitionNode =>
        definition.kind === Kind.OPERATION_DEFINITION && (operationName === undefined || definition.name?.value === operationName),
    );
    if (!operation || operation.operation === 'subscription') return null;
    let plan;
    try {
      plan = this.planner.buildQueryPlan(operationFromDocument(this.apiSchema, document, { operationName }));
    } catch {
      return null; // an invalid operation: the gateway reports it
    }
    const fetch = plan.node;
    if (fetch?.kind !== 'Fetch' || fetch.operationKind !== operation.operation || fetch.requires?.length || fetch.inputRewrites?.length || fetch.outputRewrites?.length || fetch.contextRewrites?.length) {
      return null;
    }
    const subgraphDocument = parse(fetch.operation);
    const subgraphOperation = subgraphDocument.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    const rootType = operation.operation === 'query' ? this.apiGraphQLSchema.getQueryType() : this.apiGraphQLSchema.getMutationType();
    if (!subgraphOperation || !rootType) return null;
    const shape = (node: OperationDefinitionNode, fragments: readonly FragmentDefinitionNode[]) =>
      selectionShape(node.selectionSet.selections, rootType, new Map(fragments.map((fragment) => [fragment.name.value, fragment])), this.enumsWithInaccessibleValues);
    const clientShape = shape(operation, fragmentsOf(document));
    return clientShape !== null && clientShape === shape(subgraphOperation, fragmentsOf(subgraphDocument)) ? { fetch, operation } : null;
  }
}

/**
 * Wraps a gateway so that the queries DirectFetchPlanner picks are answered with their
 * subgraph's data as it comes; every other operation goes to `gateway` unchanged.
 *
 * Why: @apollo/gateway re-shapes every answer against the operation (a walk over every value),
 * which for a 1,000-SKU availability answer costs more than executing it in the subgraph. Over
 * HTTP the data is not even parsed: it stays the subgraph's JSON bytes (UnparsedData, which the
 * server's AnswerPrinter sends as they are); operations run in process (executeOperation) get it
 * parsed. Variables are still checked against the API schema. A query's answer carrying errors
 * is set aside for the normal path, so that errors are reported exactly as the gateway reports
 * them (a query has no side effects to repeat); a mutation's cannot be sent again, so its errors
 * are reported as the gateway reports a subgraph's (downstreamErrors). `dataSources` are the ones
 * `gateway` sends fetches through, by subgraph name.
 */
export function withSingleFetchFastPath<Context extends Record<string, any>>(
  gateway: GatewayInterface,
  { dataSources }: { dataSources: ReadonlyMap<string, SubgraphDataSource<Context>> },
): GatewayInterface {
  // Planned from whichever supergraph the gateway serves: rebuilt when it reloads one.
  let planner: DirectFetchPlanner | null = null;
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => (planner = new DirectFetchPlanner(coreSupergraphSdl)));
  const fastExecutor = (normal: GatewayExecutor): GatewayExecutor => async (requestContext) => {
    const { document, request } = requestContext;
    // Usage reporting wants the normal path's per-fetch traces.
    const current = planner;
    const direct = requestContext.metrics.captureTraces || !current ? null : current.directFetch(document, request.operationName ?? undefined);
    const dataSource = direct && dataSources.get(direct.fetch.serviceName);
    const variables = request.variables ?? {};
    if (!direct || !dataSource || !current!.acceptsVariables(direct.operation, variables)) return normal(requestContext);
    // Named and shaped as @apollo/gateway's own fetch span (executeQueryPlan.js, 2.14.4), which this path bypasses.
    const response = await inSpan('gateway.fetch', { attributes: { service: direct.fetch.serviceName } }, () => dataSource.processUnparsed({
      kind: GraphQLDataSourceRequestKind.INCOMING_OPERATION,
      request: { query: direct.fetch.operation, variables: usedVariables(direct.fetch, variables), operationName: direct.fetch.operationName },
      incomingRequestContext: requestContext as GatewayGraphQLRequestContext<Context>,
      context: requestContext.context as Context,
      document: direct.fetch.operationDocumentNode,
      pathInIncomingRequest: [],
    }));
    if (direct.operation.operation === 'mutation' && (response.errors?.length || !response.data)) {
      return { data: (response.data ?? null) as Record<string, unknown> | null, errors: downstreamErrors(response.errors ?? [], direct.fetch.serviceName) };
    }
    if (response.errors?.length || !response.data) return normal(requestContext);
    const { data } = response as { data: unknown };
    // The answer of an HTTP request is printed by the server's AnswerPrinter, which knows UnparsedData.
    if (!(data instanceof UnparsedData) || request.http) return { data: data as Record<string, unknown> };
    return { data: data.parse() };
  };

  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    load: async (options) => {
      const { executor } = await gateway.load(options);
      return { executor: executor && fastExecutor(executor) };
    },
    stop: () => gateway.stop(),
  };
}

/**
 * A subgraph's errors as @apollo/gateway reports those of a root fetch (executeQueryPlan.js
 * downstreamServiceError, checked against 2.14.4): the message (or a default), the path, the
 * extensions with the subgraph's name added; no locations (they were the subgraph query's). The
 * subgraph always sets a code (every Stockgraph service formats its errors so), which the gateway
 * then keeps as it is.
 */
function downstreamErrors(errors: readonly GraphQLFormattedError[], serviceName: string): GraphQLError[] {
  return errors.map((error) => new GraphQLError(error.message || `Error while fetching subquery from service "${serviceName}"`, {
    path: error.path,
    extensions: { ...error.extensions, serviceName },
  }));
}

/** The variables `fetch` uses, as the gateway passes them: only those given and defined. */
function usedVariables(fetch: FetchNode, variables: Record<string, unknown>): Record<string, unknown> {
  const used: Record<string, unknown> = Object.create(null);
  for (const name of fetch.variableUsages ?? []) {
    if (Object.hasOwn(variables, name) && variables[name] !== undefined) used[name] = variables[name];
  }
  return used;
}

function fragmentsOf(document: DocumentNode): FragmentDefinitionNode[] {
  return document.definitions.filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION);
}

/** The enums of the supergraph that lose values in the API schema (@inaccessible values). */
function enumsWithInaccessibleValues(supergraphSchema: GraphQLSchema, apiSchema: GraphQLSchema): ReadonlySet<string> {
  const names = new Set<string>();
  for (const type of Object.values(apiSchema.getTypeMap())) {
    const full = supergraphSchema.getType(type.name);
    if (isEnumType(type) && isEnumType(full) && full.getValues().length !== type.getValues().length) names.add(type.name);
  }
  return names;
}

/**
 * The response shape `selections` ask for, as one string: response keys, fields, arguments and
 * directives in order, with fragments on `parentType` itself inlined. Null when the answer could
 * differ between a subgraph and the gateway (see DirectFetchPlanner), or cannot be told.
 */
function selectionShape(
  selections: readonly SelectionNode[],
  parentType: GraphQLObjectType,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  hasInaccessibleValues: ReadonlySet<string>,
): string | null {
  const parts: string[] = [];
  for (const selection of selections) {
    if (selection.kind !== Kind.FIELD) {
      const fragment = selection.kind === Kind.FRAGMENT_SPREAD ? fragments.get(selection.name.value) : selection;
      const typeCondition = fragment?.typeCondition?.name.value ?? parentType.name;
      if (!fragment || selection.directives?.length || typeCondition !== parentType.name) return null;
      const inlined = selectionShape(fragment.selectionSet.selections, parentType, fragments, hasInaccessibleValues);
      if (inlined === null) return null;
      parts.push(inlined);
      continue;
    }
    const name = selection.name.value;
    const signature = `${selection.alias?.value ?? name}:${name}(${selection.arguments?.map(print).join(',') ?? ''})${selection.directives?.map(print).join('') ?? ''}`;
    if (name === '__typename') {
      parts.push(signature);
      continue;
    }
    const field = parentType.getFields()[name];
    if (!field) return null; // introspection (__schema, __type) or a field the API schema lacks
    const type = getNamedType(field.type);
    if (isAbstractType(type) || (isEnumType(type) && hasInaccessibleValues.has(type.name))) return null;
    if (!selection.selectionSet) {
      parts.push(signature);
      continue;
    }
    if (!isObjectType(type)) return null;
    const children = selectionShape(selection.selectionSet.selections, type, fragments, hasInaccessibleValues);
    if (children === null) return null;
    parts.push(`${signature}{${children}}`);
  }
  return parts.join(' ');
}
