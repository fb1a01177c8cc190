import type { GatewayExecutor, GatewayInterface, GatewaySchemaLoadOrUpdateCallback } from '@apollo/server-gateway-interface';
import { execute, printSchema, type DocumentNode, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * Runs a schema's queries with graphql-jit: each query document is compiled once into plain
 * JavaScript for its selection, instead of graphql-js walking the schema for every value (for a
 * 1,000-SKU availability answer, ~60,000 fields). Apollo Server takes a custom executor only
 * from a gateway, so this is a gateway over one local schema; Apollo Server still parses and
 * validates every request against `schema`.
 *
 * Mutations keep graphql-js: they are small, and graphql-jit 0.8 leaves a required input field
 * with a default (receiveTransfer's `close: Boolean! = false`) unset when the client omits it.
 * So does any query graphql-jit cannot compile.
 */
export function compiledExecutionGateway(schema: GraphQLSchema): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | null>>();
  const compiledQueryFor = (document: DocumentNode, operationName: string | undefined): CompiledQuery | null => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map()));
    const key = operationName ?? '';
    if (!byName.has(key)) {
      const query = compileQuery(schema, document, operationName);
      byName.set(key, isCompiledQuery(query) ? query : null);
    }
    return byName.get(key)!;
  };

  const executor: GatewayExecutor = async ({ document, operation, operationName, request, context }) => {
    const query = operation.operation === 'query' ? compiledQueryFor(document, operationName ?? undefined) : null;
    if (query) return query.query(undefined, context, request.variables ?? {});
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
