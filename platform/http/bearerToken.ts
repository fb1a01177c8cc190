import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from './serviceHttpServer.ts';

/** An error a route answers with: `{error: {code, message}}`. */
export interface RouteRefusal {
  readonly code: string;
  readonly message: string;
}

/**
 * The gate of a route open only to callers that present `token` as `Authorization: Bearer
 * <token>`. It answers a request that may not pass itself, with 401 and `notConfigured` when no
 * token is configured (null), or 401, a bearer challenge and `unauthenticated` when the request
 * lacks the token; and returns whether the request may go on. The comparison takes the same time
 * whatever was sent, so that its timing tells nothing about the token.
 */
export function bearerTokenGate(
  token: string | null,
  { notConfigured, unauthenticated }: { readonly notConfigured: RouteRefusal; readonly unauthenticated: RouteRefusal },
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const expected = token === null ? null : digest(token);
  return (request, response) => {
    if (expected === null) {
      sendJson(response, 401, { error: notConfigured });
      return false;
    }
    const presented = /^Bearer +(\S+) *$/i.exec(request.headers.authorization ?? '')?.[1];
    // Digests have one length whatever was sent, so timingSafeEqual never refuses the lengths.
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return true;
    response.setHeader('www-authenticate', 'Bearer realm="stockgraph"');
    sendJson(response, 401, { error: unauthenticated });
    return false;
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
