import { GraphQLError } from 'graphql';
import type { CallerDefaults, ClientRegistry } from '../clients/clientRegistry.ts';
import { JwtRejected, type VerifyJwt } from './jwtVerifier.ts';
import type { Principal } from './principal.ts';

/** What a caller presents: an HTTP request's headers, or a WebSocket's connection_init payload. */
export interface Credentials {
  /** `Bearer <API key or JWT>`. */
  readonly authorization?: string | undefined;
  /** Where an anonymous caller's requests are counted for rate limiting. */
  readonly remoteAddress?: string | undefined;
}

/**
 * The one check every request and every subscription connection passes, whatever it came over.
 * Rejects with an UNAUTHENTICATED GraphQLError when the credentials are wrong; no credentials
 * make an anonymous caller, with ANONYMOUS_SCOPES only.
 */
export type Authenticate = (credentials: Credentials) => Promise<Principal>;

export interface AuthenticationOptions {
  readonly clients: ClientRegistry;
  /** Null when no JWT_* issuer is configured: a JWT is then refused like an unknown key. */
  readonly verifyJwt: VerifyJwt | null;
  readonly anonymousScopes: readonly string[];
  readonly defaults: CallerDefaults;
}

const BEARER = /^Bearer +(\S+) *$/i;
const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/;

export function authenticator({ clients, verifyJwt, anonymousScopes, defaults }: AuthenticationOptions): Authenticate {
  const anonymousScopeSet: ReadonlySet<string> = new Set(anonymousScopes);
  return async ({ authorization, remoteAddress }) => {
    if (authorization === undefined || authorization.trim() === '') {
      return Object.freeze({
        kind: 'anonymous',
        name: 'anonymous',
        scopes: anonymousScopeSet,
        locations: null,
        manifest: null,
        limits: defaults.limits,
        rateLimit: defaults.rateLimit,
        rateLimitKey: `anonymous:${remoteAddress ?? 'unknown'}`,
      } satisfies Principal);
    }
    const token = BEARER.exec(authorization)?.[1];
    if (!token) throw unauthenticated('Send credentials as "Authorization: Bearer <API key or JWT>"');
    if (JWT_SHAPE.test(token) && verifyJwt) {
      try {
        return await verifyJwt(token);
      } catch (error) {
        if (error instanceof JwtRejected) throw unauthenticated(`The bearer token is not accepted: ${error.message}`);
        throw error;
      }
    }
    const principal = clients.principalForKey(token);
    if (!principal) throw unauthenticated('The API key is not valid');
    return principal;
  };
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: new Map([['www-authenticate', 'Bearer realm="stockgraph"']]) } },
  });
}
