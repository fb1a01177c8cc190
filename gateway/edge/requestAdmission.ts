import { createHash } from 'node:crypto';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { currentCorrelationId, newCorrelationId } from '../../platform/observability/requestContext.ts';
import type { Admit } from '../../platform/http/serviceHttpServer.ts';
import type { Authenticate } from './authentication.ts';
import type { Principal } from './principal.ts';
import type { RateLimiter } from './rateLimiter.ts';

/** What the gateway knows of one request once the edge let it in. */
export interface GatewayContext {
  readonly principal: Principal;
  readonly correlationId: string;
  /** Whether the request named its operation by id or hash (APQ or a safelist), as CDN-cacheable GETs do. */
  readonly persistedQuery: boolean;
  /**
   * Set on a subscription's lookup of the events it delivers: its answers come from the subgraphs,
   * never from the entity cache, and are not kept there. A lookup reads what an event just
   * changed, which the cache may not have dropped yet (its feed reads the same stream on its own),
   * and asks for event ids no later lookup asks for again.
   */
  readonly eventLookup?: boolean;
}

export const EdgeErrorCode = {
  RATE_LIMITED: 'RATE_LIMITED',
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  OPERATION_NOT_ALLOWED: 'OPERATION_NOT_ALLOWED',
} as const;

/**
 * The gateway's edge, before Apollo Server parses anything: who is calling (authenticate), how
 * fast (a token bucket per caller: RATE_LIMITED, HTTP 429 with Retry-After), and which
 * operation (a safelisted client's id resolved to its manifest's text; a persisted query's
 * hash checked against the text sent with it). What the operation asks for is checked next,
 * once parsed (operationPolicy.ts).
 */
export function edgeAdmission(
  { authenticate, rateLimiter }: { authenticate: Authenticate; rateLimiter: RateLimiter },
  onRateLimited?: (client: string, transport: 'http') => void,
): Admit<GatewayContext> {
  return async (request, graphQLRequest) => {
    const principal = await authenticate({ authorization: request.headers.authorization, remoteAddress: request.socket.remoteAddress });
    const refusal = await rateLimitRefusal(rateLimiter, principal, onRateLimited && ((client) => onRateLimited(client, 'http')));
    if (refusal) throw refusal;
    // The HTTP server took it from the request's headers (traceparent, x-request-id, x-correlation-id) or made one.
    const correlationId = currentCorrelationId() ?? newCorrelationId();
    const persistedQuery = typeof operationFields(graphQLRequest)?.extensions?.persistedQuery?.sha256Hash === 'string';
    return {
      context: { principal, correlationId, persistedQuery },
      request: resolvePersistedQuery(graphQLRequest, principal),
      caller: principal.name,
    };
  };
}

/**
 * RATE_LIMITED (HTTP 429 with Retry-After) when `principal` has no request left in its bucket,
 * else null (and one request fewer left). `onRefused` hears of each refusal, by the principal's name.
 */
export async function rateLimitRefusal(rateLimiter: RateLimiter, principal: Principal, onRefused?: (client: string) => void): Promise<GraphQLError | null> {
  if (!principal.rateLimit) return null;
  const decision = await rateLimiter.take(principal.rateLimitKey, principal.rateLimit);
  if (decision.allowed) return null;
  onRefused?.(principal.name);
  const retryAfterSeconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return new GraphQLError(`Too many requests from ${principal.name}: at most ${principal.rateLimit.perSecond} a second (bursts of ${principal.rateLimit.burst}); retry after ${retryAfterSeconds} s`, {
    extensions: { code: EdgeErrorCode.RATE_LIMITED, retryAfterSeconds, http: { status: 429, headers: [['retry-after', String(retryAfterSeconds)]] } },
  });
}

interface OperationFields {
  readonly query?: unknown;
  readonly extensions?: { readonly persistedQuery?: { readonly sha256Hash?: unknown } } & Record<string, unknown>;
}

function resolvePersistedQuery(request: HTTPGraphQLRequest, principal: Principal): HTTPGraphQLRequest {
  const fields = operationFields(request);
  if (!fields) {
    if (principal.manifest) throw notAllowed(principal);
    return request; // Apollo Server answers what is malformed about it.
  }
  const { query, extensions } = fields;
  const hash = extensions?.persistedQuery?.sha256Hash;
  if (typeof query === 'string' && typeof hash === 'string' && sha256(query) !== hash && !principal.manifest) {
    throw new GraphQLError('The persisted query hash is not the SHA-256 of the query sent with it', {
      extensions: { code: EdgeErrorCode.PERSISTED_QUERY_HASH_MISMATCH, http: { status: 400 } },
    });
  }
  if (!principal.manifest) return request;
  const { persistedQuery: _, ...otherExtensions } = extensions ?? {};
  return withOperation(request, { query: safelistedQuery(principal, query, hash), extensions: otherExtensions });
}

/**
 * The text of the safelisted operation a client bound to a manifest asks for by id
 * (`extensions.persistedQuery.sha256Hash`). Throws PERSISTED_QUERY_NOT_FOUND for an id its
 * manifest lacks and OPERATION_NOT_ALLOWED for a query sent as text (unless it is the text of
 * the operation it names).
 */
export function safelistedQuery(principal: Principal, query: unknown, hash: unknown): string {
  const operation = typeof hash === 'string' ? principal.manifest!.operations.get(hash) : undefined;
  if ((typeof query === 'string' && query !== '' && query !== operation?.body) || typeof hash !== 'string') throw notAllowed(principal);
  if (!operation) {
    throw new GraphQLError(`No operation ${hash} in the safelist of ${principal.name}`, {
      extensions: { code: EdgeErrorCode.PERSISTED_QUERY_NOT_FOUND, http: { status: 400 } },
    });
  }
  return operation.body;
}

/** The query and extensions of a single operation, from a POST body or GET's parameters; null when the request has no such shape. */
function operationFields(request: HTTPGraphQLRequest): OperationFields | null {
  if (request.method === 'POST') {
    const body = request.body as unknown;
    return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as OperationFields) : null;
  }
  const parameters = new URLSearchParams(request.search);
  try {
    return { query: parameters.get('query') ?? undefined, extensions: parameters.has('extensions') ? JSON.parse(parameters.get('extensions')!) : undefined };
  } catch {
    return null;
  }
}

function withOperation(request: HTTPGraphQLRequest, { query, extensions }: { query: string; extensions: Record<string, unknown> }): HTTPGraphQLRequest {
  if (request.method === 'POST') return { ...request, body: { ...(request.body as object), query, extensions } };
  const parameters = new URLSearchParams(request.search);
  parameters.set('query', query);
  parameters.set('extensions', JSON.stringify(extensions));
  return { ...request, search: `?${parameters}` };
}

function notAllowed(principal: Principal): GraphQLError {
  return new GraphQLError(`${principal.name} may run only the operations of its safelist, sent by id in extensions.persistedQuery.sha256Hash`, {
    extensions: { code: EdgeErrorCode.OPERATION_NOT_ALLOWED, http: { status: 400 } },
  });
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
