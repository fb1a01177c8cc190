import type { IncomingMessage, ServerResponse } from 'node:http';

/** Which browser origins may call an endpoint (CORS_ORIGINS). */
export interface CorsPolicy {
  /** Exact origins (`https://portal.example.com`); `*` admits any. */
  readonly allowedOrigins: readonly string[];
  /** How long a browser may reuse a preflight's answer. */
  readonly maxAgeSeconds: number;
}

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
const ALLOWED_HEADERS = ['content-type', 'authorization', 'apollo-require-preflight', 'x-apollo-operation-name', 'x-correlation-id'];
const EXPOSED_HEADERS = 'retry-after, x-correlation-id';

/**
 * Answers a preflight itself (204 for an allowed origin, 403 for another), and marks an actual
 * request from an allowed origin as readable by it. A request from an origin not allowed goes
 * on without CORS headers: the browser will not show its answer to the page. Credentials
 * travel in the Authorization header, never cookies, so no origin is allowed credentials.
 */
export function applyCors(policy: CorsPolicy, request: IncomingMessage, response: ServerResponse): 'answered' | 'continue' {
  const origin = request.headers.origin;
  const allowed = origin !== undefined && (policy.allowedOrigins.includes('*') || policy.allowedOrigins.includes(origin));
  const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
  if (allowed) {
    response.setHeader('access-control-allow-origin', policy.allowedOrigins.includes('*') ? '*' : origin);
    response.setHeader('vary', 'Origin');
  }
  if (!preflight) {
    if (allowed) response.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return 'continue';
  }
  if (!allowed) {
    response.writeHead(403).end();
    return 'answered';
  }
  const requested = String(request.headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((header) => header.trim().toLowerCase())
    .filter((header) => ALLOWED_HEADERS.includes(header));
  response.setHeader('access-control-allow-methods', ALLOWED_METHODS);
  response.setHeader('access-control-allow-headers', (requested.length > 0 ? requested : ALLOWED_HEADERS).join(', '));
  response.setHeader('access-control-max-age', String(policy.maxAgeSeconds));
  response.writeHead(204).end();
  return 'answered';
}
