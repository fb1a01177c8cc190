import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { GraphQLError } from 'graphql';
import { grantsLocation as grantCovers } from '../lang/locationGrant.ts';

/**
 * Who the gateway says is calling a subgraph: verified at the edge (an API key, a JWT, or
 * nobody), then carried to the subgraphs in IDENTITY_HEADER, signed, so that a subgraph acts
 * only on what the gateway checked and cannot be called around it.
 */
export interface CallerIdentity {
  /** A name for records and logs (a client's name, a JWT's subject, `anonymous`, `gateway`); never a secret. */
  readonly caller: string;
  readonly scopes: readonly string[];
  /** The locations the caller may see and act on; null for every location. */
  readonly locations: readonly string[] | null;
  /** Ties a subgraph's logs and records to the gateway request that caused them. */
  readonly correlationId: string;
}

export const IDENTITY_HEADER = 'x-stockgraph-identity';

/** How long a signed identity is honoured after it was issued: one request's fetches, with clock skew to spare. */
export const IDENTITY_MAX_AGE_SECONDS = 60;
const VERSION = 'v1';

interface SignedClaims {
  readonly c: string;
  readonly s: readonly string[];
  readonly l: readonly string[] | null;
  readonly r: string;
  /** Issued at, in seconds since the epoch. */
  readonly iat: number;
}

// An HMAC over a compact JSON claim set rather than a JWT: both ends are ours and share one
// secret, and this takes one HMAC per subgraph fetch where `jose` would add key import and
// header handling on the hot path for no property we need.
export function identitySigner(secret: string): (identity: CallerIdentity) => string {
  return (identity) => {
    const claims: SignedClaims = { c: identity.caller, s: identity.scopes, l: identity.locations, r: identity.correlationId, iat: Math.floor(Date.now() / 1000) };
    const payload = `${VERSION}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${payload}.${hmac(secret, payload).toString('base64url')}`;
  };
}

/**
 * The subgraph side: the identity a request's IDENTITY_HEADER carries, or an UNAUTHENTICATED
 * error when it is missing, forged, altered or too old. The same answer for each, so that a
 * caller learns nothing about which part it got wrong.
 */
export function identityVerifier(secret: string): (request: IncomingMessage) => CallerIdentity {
  return (request) => {
    const header = request.headers[IDENTITY_HEADER];
    const claims = typeof header === 'string' ? verifiedClaims(secret, header) : null;
    if (!claims) {
      throw new GraphQLError('This service answers only requests the gateway signed: send them to the gateway', {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
    return Object.freeze({ caller: claims.c, scopes: claims.s, locations: claims.l, correlationId: claims.r });
  };
}

function verifiedClaims(secret: string, header: string): SignedClaims | null {
  const parts = header.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  const expected = hmac(secret, `${parts[0]}.${parts[1]}`);
  const presented = Buffer.from(parts[2]!, 'base64url');
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
  let claims: SignedClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as SignedClaims;
  } catch {
    return null;
  }
  const age = Date.now() / 1000 - claims.iat;
  return Number.isFinite(age) && Math.abs(age) <= IDENTITY_MAX_AGE_SECONDS ? claims : null;
}

function hmac(secret: string, text: string): Buffer {
  return createHmac('sha256', secret).update(text).digest();
}

export { newCorrelationId } from '../observability/requestContext.ts';

/** Whether `identity` may see or act on `locationId` (the rules built on it: platform/lang/locationGrant.ts). */
export function grantsLocation(identity: Pick<CallerIdentity, 'locations'>, locationId: string): boolean {
  return grantCovers(identity.locations, locationId);
}
