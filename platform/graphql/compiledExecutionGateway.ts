import type { GatewayExecutor, GatewayInterface, GatewaySchemaLoadOrUpdateCallback } from '@apollo/server-gateway-interface';
import {
  execute,
  GraphQLError,
  getNamedType,
  isInputObjectType,
  isNonNullType,
  printSchema,
  typeFromAST,
  type DocumentNode,
  type GraphQLInputObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * Runs a schema's queries with graphql-jit: each query document is compiled once into plain
 * JavaScript for its selection, instead of graphql-js walking the schema for every value (for a
 * 1,000-SKU availability answer, ~60,000 fields). Apollo Server takes a custom executor only
 * from a gateway, so this is a gateway over one local schema; Apollo Server still parses and
 * validates every request against `schema`.
 *
 * graphql-js runs the rest: mutations (small, and run one field after another), and any
 * operation whose variables hold an input object with a required field that has a default,
 * which graphql-jit 0.8 refuses as "not provided" when the client omits it (receiveTransfer's
 * `close: Boolean! = false`), or that graphql-jit cannot compile.
 */
export function compiledExecutionGateway(schema: GraphQLSchema): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const compiledQueryFor = (document: DocumentNode, operation: OperationDefinitionNode, operationName: string | undefined): CompiledQuery | null => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) {
      const query = operation.operation === 'query' && !takesDefaultedRequiredInputField(schema, operation) ? compileQuery(schema, document, operationName) : null;
      byName.set(key, query && isCompiledQuery(query) ? query : null);
    }
    return byName.get(key)!;
  };

  const executor: GatewayExecutor = async ({ document, operation, operationName, request, context }) => {
    const query = compiledQueryFor(document, operation, operationName ?? undefined);
    if (query) {
      const result = await query.query(undefined, context, request.variables ?? {});
      return result.errors ? { ...result, errors: result.errors.map(withExtensions) } : result;
    }
    return execute({ schema, document, operationName, variableValues: request.variables, contextValue: context });
  };

  let onLoad: GatewaySchemaLoadOrUpdateCallback | undefined;
  return {
    onSchemaLoadOrUpdate: (callback) => {
      onLoad = callback;
      return () => {
        onLoad = undefined;
      };
    },
    load: async () => {
      onLoad?.({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return { executor };
    },
    stop: async () => {},
  };
}

/**
 * graphql-jit's errors leave `extensions` undefined when the resolver's error has none, where
 * graphql-js gives `{}`; Apollo Server reads `extensions.code` and would fail on them.
 */
function withExtensions(error: GraphQLError): GraphQLError {
  if (error.extensions) return error;
  const completed = new GraphQLError(error.message, { path: error.path, originalError: error.originalError });
  return Object.defineProperty(completed, 'locations', { value: error.locations, enumerable: Boolean(error.locations) });
}

/** Whether a variable of `operation` is (or holds, at any depth) an input object with a required field that has a default. */
function takesDefaultedRequiredInputField(schema: GraphQLSchema, operation: OperationDefinitionNode): boolean {
  const seen = new Set<GraphQLInputObjectType>();
  const holdsOne = (type: GraphQLInputObjectType): boolean => {
    if (seen.has(type)) return false;
    seen.add(type);
    return Object.values(type.getFields()).some((field) => {
      if (isNonNullType(field.type) && field.defaultValue !== undefined) return true;
      const named = getNamedType(field.type);
      return isInputObjectType(named) && holdsOne(named);
    });
  };
  return (operation.variableDefinitions ?? []).some((variable) => {
    const named = getNamedType(typeFromAST(schema, variable.type as Parameters<typeof typeFromAST>[1]));
    return isInputObjectType(named) && holdsOne(named);
  });
}
