import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTPayload } from 'jose';
import type { CallerDefaults } from '../clients/clientRegistry.ts';
import type { Principal } from './principal.ts';
import { GRANTABLE_SCOPE_NAMES } from './scopes.ts';

/** How OAuth 2.0 bearer JWTs are checked (JWT_* variables). */
export interface JwtSettings {
  /** JWT_JWKS_URL (keys fetched, cached and refetched when a token names a key not seen yet), or a static key. */
  readonly key: { readonly jwksUrl: string } | { readonly publicKeyPem: string; readonly algorithm: string } | { readonly secret: string };
  readonly issuer: string;
  readonly audience: string;
  readonly clockSkewSeconds: number;
  /** The claim that lists the locations a token grants (absent: every location). */
  readonly locationsClaim: string;
}

export type VerifyJwt = (token: string) => Promise<Principal>;

/** A token's failure: the message says what was wrong without echoing the token. */
export class JwtRejected extends Error {}

const GRANTABLE = new Set<string>(GRANTABLE_SCOPE_NAMES);

/**
 * Verifies a bearer JWT with `jose` (signature, `iss`, `aud`, `exp` and `nbf` within the
 * allowed skew) and turns it into a principal: scopes from the space-separated `scope` claim
 * (RFC 8693; `scp` as a list is read too), granted locations from `locationsClaim`, the name
 * from `client_id`, `azp` or `sub`. Scopes the gateway does not know are ignored.
 */
export async function jwtVerifier(settings: JwtSettings, defaults: CallerDefaults): Promise<VerifyJwt> {
  const key =
    'jwksUrl' in settings.key
      ? createRemoteJWKSet(new URL(settings.key.jwksUrl), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 })
      : 'secret' in settings.key
        ? new TextEncoder().encode(settings.key.secret)
        : await importSPKI(settings.key.publicKeyPem, settings.key.algorithm);
  const options = {
    issuer: settings.issuer,
    audience: settings.audience,
    clockTolerance: settings.clockSkewSeconds,
    requiredClaims: ['exp'],
    ...('publicKeyPem' in settings.key && { algorithms: [settings.key.algorithm] }),
    ...('secret' in settings.key && { algorithms: ['HS256', 'HS384', 'HS512'] }),
  };
  return async (token) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, key as Parameters<typeof jwtVerify>[1], options));
    } catch (error) {
      throw new JwtRejected(rejectionReason(error));
    }
    const name = [payload.client_id, payload.azp, payload.sub].find((value): value is string => typeof value === 'string' && value !== '') ?? 'jwt';
    const locations = payload[settings.locationsClaim];
    if (locations !== undefined && !(Array.isArray(locations) && locations.every((id) => typeof id === 'string'))) {
      throw new JwtRejected(`the token's ${settings.locationsClaim} claim must be a list of location ids`);
    }
    return Object.freeze({
      kind: 'jwt',
      name: name.slice(0, 200),
      scopes: new Set(scopesOf(payload).filter((scope) => GRANTABLE.has(scope))),
      locations: locations === undefined ? null : Object.freeze([...(locations as string[])]),
      manifest: null,
      limits: defaults.limits,
      rateLimit: defaults.rateLimit,
      rateLimitKey: `jwt:${name}`,
    } satisfies Principal);
  };
}

function scopesOf(payload: JWTPayload): string[] {
  if (typeof payload.scope === 'string') return payload.scope.split(' ').filter(Boolean);
  if (Array.isArray(payload.scp)) return payload.scp.filter((scope): scope is string => typeof scope === 'string');
  return [];
}

function rejectionReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) return 'the token is not signed by a trusted key';
  if (error instanceof errors.JOSEError) return 'the token is not a valid JWT';
  return 'the token cannot be verified now';
}
