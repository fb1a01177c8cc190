import type { GatewayGraphQLRequest, GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { Kind, parse, type FieldNode, type GraphQLFormattedError, type SelectionSetNode } from 'graphql';

/** The code of every error that stands for a subgraph the gateway could not get an answer from. */
export const SUBGRAPH_UNAVAILABLE = 'SUBGRAPH_UNAVAILABLE';

/** A subgraph answered a fetch with an HTTP status other than 2xx; `body` is its answer, parsed when it was JSON. */
export class SubgraphStatusError extends Error {
  override readonly name = 'SubgraphStatusError';

  constructor(readonly status: number, readonly body: unknown) {
    super(`answered HTTP ${status}`);
  }
}

/**
 * A fetch to `serviceName` that failed, as the answer a subgraph would have given, so that
 * @apollo/gateway reports it like any subgraph error, at the fields it was fetching, and serves
 * every other field of the operation (a field of an unavailable subgraph is null, with the error
 * at its path). Without this a failed fetch is an error without a code or path, which the
 * gateway masks as INTERNAL_SERVER_ERROR, and the fields it was to fetch take their parents down.
 *
 * - The subgraph refused the request with GraphQL errors (a 400: a variable or literal its
 *   scalars reject): its errors, with their codes.
 * - It could not be reached, timed out, or answered without GraphQL errors (a proxy's 502):
 *   SUBGRAPH_UNAVAILABLE, naming it, at each field the fetch was for.
 * - It refused the gateway's own identity (401, 403): SUBGRAPH_UNAVAILABLE too. The caller was
 *   let through by the gateway; what failed is the gateway's configuration, not the request.
 *
 * Null when `error` is none of these (a bug of ours: let it be masked and logged).
 */
export function failedFetchAnswer(error: unknown, serviceName: string, request: GatewayGraphQLRequest): GatewayGraphQLResponse | null {
  if (error instanceof SubgraphStatusError && error.status === 400) {
    const refusals = (error.body as { errors?: unknown } | undefined)?.errors;
    if (Array.isArray(refusals) && refusals.length > 0) return { errors: refusals as GraphQLFormattedError[] };
  }
  const reason = error instanceof SubgraphStatusError ? error.message : networkFailureOf(error);
  if (reason === null) return null;
  const message = `The ${serviceName} subgraph is unavailable (${reason})`;
  return { errors: fetchedFieldPaths(request).map((path) => ({ message, path, extensions: { code: SUBGRAPH_UNAVAILABLE } })) };
}

// undici's codes (platform/graphql/subgraphDataSource.ts sends through undici): an answer that did
// not come in time, and a connection that broke or carried no usable answer.
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);

/** Why `error` says no answer came: a timeout, a socket's system error (`ECONNREFUSED`), or a broken connection (`UND_ERR_SOCKET`). */
function networkFailureOf(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const { code, syscall } = error as { code?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return null;
  if (TIMEOUT_CODES.has(code)) return 'no answer in time';
  return CONNECTION_CODES.has(code) || typeof syscall === 'string' ? code : null;
}

/**
 * The paths, in the subgraph's answer, of the fields a fetch asks for: each representation's first
 * field for an entity fetch (`_entities`, which the gateway maps to the entity's own path), each
 * root field otherwise. One path per field is enough for the gateway to null the right values.
 */
function fetchedFieldPaths(request: GatewayGraphQLRequest): (string | number)[][] {
  const operation = request.query ? parse(request.query).definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION) : undefined;
  if (!operation) return [[]];
  const rootFields = fieldsOf(operation.selectionSet);
  const entities = rootFields.find((field) => field.name.value === '_entities');
  if (!entities) return rootFields.map((field) => [responseKey(field)]);
  const representations = (request.variables?.representations ?? []) as { __typename?: string }[];
  return representations.map((representation, index) => {
    const fragment = entities.selectionSet?.selections.find((selection) =>
      selection.kind === Kind.INLINE_FRAGMENT && selection.typeCondition?.name.value === representation.__typename);
    const [first] = fragment?.kind === Kind.INLINE_FRAGMENT ? fieldsOf(fragment.selectionSet).filter((field) => field.name.value !== '__typename') : [];
    return first ? ['_entities', index, responseKey(first)] : ['_entities', index];
  });
}

const fieldsOf = (selectionSet: SelectionSetNode): FieldNode[] => selectionSet.selections.filter((selection) => selection.kind === Kind.FIELD);
const responseKey = (field: FieldNode) => field.alias?.value ?? field.name.value;
