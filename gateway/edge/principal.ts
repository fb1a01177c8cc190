import type { PersistedQueryManifest } from './persistedQueryManifest.ts';
import { GATEWAY_EVENTS_SCOPE, GRANTABLE_SCOPE_NAMES } from './scopes.ts';

/** How much one operation may ask for; refused before any subgraph is called when it asks for more. */
export interface OperationLimits {
  /** Deepest field nesting (QUERY_TOO_DEEP). */
  readonly maxDepth: number;
  /** Aliased fields in one operation (TOO_MANY_ALIASES). */
  readonly maxAliases: number;
  /** Fields the operation may resolve, lists multiplied by their sizes (QUERY_TOO_COSTLY); see operationCost.ts. */
  readonly maxCost: number;
}

/** A token bucket: `perSecond` requests on average, `burst` at once. */
export interface RateLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/** Who is calling, as the edge verified it, and what it may do. */
export interface Principal {
  readonly kind: 'anonymous' | 'client' | 'jwt' | 'gateway';
  /** A name for logs and for what subgraphs record (a client's name, a JWT's subject); never a secret. */
  readonly name: string;
  readonly scopes: ReadonlySet<string>;
  /** The locations the caller may see and act on; null for every location. */
  readonly locations: readonly string[] | null;
  /** Bound to a manifest, the caller may run only its operations, sent by id. */
  readonly manifest: PersistedQueryManifest | null;
  readonly limits: OperationLimits;
  /** Null: not rate-limited (the gateway itself). */
  readonly rateLimit: RateLimit | null;
  /** What the caller's requests are counted under for rate limiting. */
  readonly rateLimitKey: string;
}

/** The gateway itself, resolving the selections of the events it delivers to subscribers. */
export const GATEWAY_PRINCIPAL: Principal = Object.freeze({
  kind: 'gateway',
  name: 'gateway',
  scopes: new Set([...GRANTABLE_SCOPE_NAMES, GATEWAY_EVENTS_SCOPE]),
  locations: null,
  manifest: null,
  limits: { maxDepth: Number.MAX_SAFE_INTEGER, maxAliases: Number.MAX_SAFE_INTEGER, maxCost: Number.POSITIVE_INFINITY },
  rateLimit: null,
  rateLimitKey: 'gateway',
});
