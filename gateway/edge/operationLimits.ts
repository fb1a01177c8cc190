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
 * counted by graphql-armor's rules, once per operation; cost is operationCost's, per request
 * (list arguments may come in variables). Introspection counts like any other query.
 */
export function checkOperationLimits(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>>,
  limits: OperationLimits,
): GraphQLError | null {
  const { depth, aliases } = shapeOf(schema, document, operation);
  if (depth > limits.maxDepth) {
    return limitError(`Query depth limit of ${limits.maxDepth} exceeded, found ${depth}.`, { code: LimitErrorCode.QUERY_TOO_DEEP, depth, maxDepth: limits.maxDepth });
  }
  if (aliases > limits.maxAliases) {
    return limitError(`Aliases limit of ${limits.maxAliases} exceeded, found ${aliases}.`, { code: LimitErrorCode.TOO_MANY_ALIASES, aliases, maxAliases: limits.maxAliases });
  }
  const cost = operationCost(schema, document, operation, variables);
  if (cost <= limits.maxCost) return null;
  return limitError(`The operation would cost ${cost}, over the limit of ${limits.maxCost}: ask for fewer items, locations or fields per request`, {
    code: LimitErrorCode.QUERY_TOO_COSTLY, cost, maxCost: limits.maxCost,
  });
}

interface OperationShape {
  readonly depth: number;
  readonly aliases: number;
}

// Measured once per parsed operation (Apollo Server hands the same one back for the same query),
// then compared with each caller's limits.
const shapes = new WeakMap<OperationDefinitionNode, OperationShape>();

/** How deep `operation` nests and how many aliases it uses, as graphql-armor's rules count them. */
function shapeOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): OperationShape {
  const known = shapes.get(operation);
  if (known) return known;
  let depth = 0;
  let aliases = 0;
  const single: DocumentNode = { kind: Kind.DOCUMENT, definitions: [operation, ...document.definitions.filter((definition) => definition.kind === Kind.FRAGMENT_DEFINITION)] };
  validate(schema, single, [
    maxDepthRule({ n: Number.MAX_SAFE_INTEGER, ignoreIntrospection: false, onAccept: [(_context, { n }) => (depth = n)] }),
    maxAliasesRule({ n: Number.MAX_SAFE_INTEGER, onAccept: [(_context, { n }) => (aliases = n)] }),
  ]);
  const shape = { depth, aliases };
  shapes.set(operation, shape);
  return shape;
}

function limitError(message: string, { code, ...figures }: { code: string } & Record<string, unknown>): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...figures, http: { status: 400 } } });
}
