import { IDENTITY_HEADER, identitySigner, newCorrelationId, type CallerIdentity } from '../../platform/graphql/callerIdentity.ts';
import { createLogger } from '../../platform/logger.ts';

/** The identity secret the test rigs share between the gateway and the subgraphs they start. */
export const TEST_IDENTITY_SECRET = 'stockgraph-tests-identity-secret-not-for-production';

const sign = identitySigner(TEST_IDENTITY_SECRET);

/**
 * The header the gateway would send a subgraph for `identity` (by default an unrestricted caller
 * named `test`): what a test that calls a subgraph directly presents in the gateway's place.
 */
export function signedIdentity(identity: Partial<CallerIdentity> = {}): Record<string, string> {
  return { [IDENTITY_HEADER]: sign({ caller: 'test', scopes: [], locations: null, correlationId: newCorrelationId(), ...identity }) };
}

/** startSubgraphServer's options for a test: a free loopback port, no log, no readiness checks, the test secret. */
export const testSubgraphServing = Object.freeze({ port: 0, host: '127.0.0.1', logger: createLogger('silent'), readinessChecks: [], identitySecret: TEST_IDENTITY_SECRET });
