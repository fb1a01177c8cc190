// Hive Gateway's configuration for `npm run bench gateways` (`hive-gateway supergraph FILE -c this`,
// with or without --hive-router-runtime). Beside its defaults, what any gateway in front of
// Stockgraph's subgraphs needs: their signed identity header on every fetch
// (bench/benchIdentity.ts); and the benchmark's persisted query, which Hive Gateway serves from a
// manifest (it has no automatic persisted queries): PERSISTED_QUERIES, a JSON object of id -> query.
import { peerIdentityHeaders } from '../benchIdentity.ts';

const { GATEWAY_IDENTITY_SECRET, PERSISTED_QUERIES } = process.env;
if (!GATEWAY_IDENTITY_SECRET) throw new Error('GATEWAY_IDENTITY_SECRET is required');

const identity = peerIdentityHeaders(GATEWAY_IDENTITY_SECRET);
const persisted = new Map(Object.entries(JSON.parse(PERSISTED_QUERIES ?? '{}') as Record<string, string>));

// A plain object rather than defineConfig's: importing @graphql-hive/gateway's types would bring
// GraphQL Yoga's augmentation of graphql's error extensions, which contradicts Apollo Server's,
// into the project's typecheck.
export const gatewayConfig = {
  propagateHeaders: { fromClientToSubgraphs: () => identity() },
  // A request names its query by extensions.persistedQuery.sha256Hash (or documentId); one with
  // the query as text is served too.
  persistedDocuments: { getPersistedOperation: (id: string) => persisted.get(id) ?? null, allowArbitraryDocuments: true },
};
