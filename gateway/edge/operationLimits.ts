import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { GraphQLError, Kind, validate, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { operationCost } from './operationCost.ts';
import type { OperationLimits } from './principal.ts';

/**
 * Tokens a document may hold before it is parsed any further (GRAPHQL_PARSE_FAILED): the body
 * limit bounds a document's size, this the parser's work on it. Ten times the largest README
 * operation with 1,000 SKUs written inline.
 */
export const MAX_TOKENS = 20_000;

export const LimitErrorCode = {
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
} as const;

/**
 * The first limit `operation` exceeds, as the error to answer, or null. Depth and aliases are
 * graphql-armor's rules, run per request because limits differ per client; cost is
 * operationCost's. Introspection counts like any other query.
 */
export function checkOperationLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  limits: OperationLimits,
): GraphQLError | null {
  let refusal: GraphQLError | null = null;
  const refuse = (code: string, extensions: Record<string, unknown>) => (_context: unknown, error: GraphQLError) => {
    refusal ??= new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code, ...extensions, http: { status: 400 } } });
  };
  const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)] };
  validate(schema, single, [
    maxDepthRule({ n: limits.maxDepth, ignoreIntrospection: false, exposeLimits: true, propagateOnRejection: false, onReject: [refuse(LimitErrorCode.QUERY_TOO_DEEP, { maxDepth: limits.maxDepth })] }),
    maxAliasesRule({ n: limits.maxAliases, exposeLimits: true, propagateOnRejection: false, onReject: [refuse(LimitErrorCode.TOO_MANY_ALIASES, { maxAliases: limits.maxAliases })] }),
  ]);
  if (refusal) return refusal;
  const cost = operationCost(schema, document, operation, variables);
  if (cost <= limits.maxCost) return null;
  return new GraphQLError(`The operation would cost ${cost}, over the limit of ${limits.maxCost}: ask for fewer items, locations or fields per request`, {
    extensions: { code: LimitErrorCode.QUERY_TOO_COSTLY, cost, maxCost: limits.maxCost, http: { status: 400 } },
  });
}
