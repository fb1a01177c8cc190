import { GRANTABLE_SCOPE_NAMES } from '../gateway/edge/scopes.ts';
import { IDENTITY_HEADER, IDENTITY_MAX_AGE_SECONDS, identitySigner, newCorrelationId } from '../platform/graphql/callerIdentity.ts';

/**
 * What a call to a subgraph presents in the Stockgraph gateway's place: the identity the gateway
 * signs for the benchmark's client (every scope, every location), signed with the run's
 * GATEWAY_IDENTITY_SECRET and a new correlation id at each call.
 */
export function benchIdentityHeaders(secret: string): () => Record<string, string> {
  const sign = identitySigner(secret);
  return () => ({ [IDENTITY_HEADER]: sign({ caller: 'bench', scopes: [...GRANTABLE_SCOPE_NAMES], locations: null, correlationId: newCorrelationId() }) });
}

/** How long the peer gateways present one signature: well inside the time a subgraph honours it. */
const PEER_SIGNATURE_REUSE_MS = (IDENTITY_MAX_AGE_SECONDS * 1_000) / 3;

/**
 * The identity header the peer gateways of `npm run bench gateways` send with every subgraph fetch:
 * benchIdentityHeaders', one signature reused for PEER_SIGNATURE_REUSE_MS. Signed per fetch, its
 * correlation id would make every fetch's headers unique, and Hive Gateway, which shares an
 * in-flight subgraph fetch only between requests with the same headers, would share none.
 */
export function peerIdentityHeaders(secret: string): () => Record<string, string> {
  const fresh = benchIdentityHeaders(secret);
  let current = { headers: fresh(), signedAt: Date.now() };
  return () => {
    if (Date.now() - current.signedAt > PEER_SIGNATURE_REUSE_MS) current = { headers: fresh(), signedAt: Date.now() };
    return current.headers;
  };
}
