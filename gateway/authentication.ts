import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphQLError } from 'graphql';

/** Who is calling. */
export interface Principal {
  readonly kind: 'anonymous' | 'api-key' | 'gateway';
  /** A name for logs: never the secret itself. */
  readonly id: string;
}

/** What a caller presents: an HTTP request's headers, or a WebSocket's connection_init payload. */
export interface Credentials {
  /** `Bearer <key>`. */
  readonly authorization?: string | undefined;
}

/**
 * The one check every request and every subscription connection passes, whatever it came over.
 * Throws an UNAUTHENTICATED GraphQLError when the credentials are missing or wrong.
 */
export type Authenticate = (credentials: Credentials) => Principal;

const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', id: 'anonymous' });

/** The gateway itself, resolving the selections of the events it delivers to subscribers. */
export const GATEWAY_PRINCIPAL: Principal = Object.freeze({ kind: 'gateway', id: 'gateway' });

/**
 * API keys: with none configured every caller is anonymous (a trusted network); with some, each
 * caller must present one as `Authorization: Bearer <key>`.
 */
export function apiKeyAuthentication(apiKeys: readonly string[]): Authenticate {
  // Compared as digests, in constant time, so that neither length nor content leaks by timing.
  const digests = apiKeys.map((key, index) => ({ digest: sha256(key), principal: Object.freeze({ kind: 'api-key', id: `api-key-${index + 1}` }) as Principal }));
  return ({ authorization }) => {
    if (digests.length === 0) return ANONYMOUS;
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!presented) throw unauthenticated('An API key is required: send it as "Authorization: Bearer <key>"');
    const digest = sha256(presented);
    const match = digests.find((candidate) => timingSafeEqual(candidate.digest, digest));
    if (!match) throw unauthenticated('The API key is not valid');
    return match.principal;
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}
