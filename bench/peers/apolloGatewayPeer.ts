// Plain @apollo/gateway under @apollo/server 5, as its documentation sets it up, for `npm run bench
// gateways`: the peer our gateway is measured against. PEER_PORT, SUPERGRAPH_FILE (the supergraph
// the Stockgraph gateway serves, as it hands it to @apollo/gateway) and GATEWAY_IDENTITY_SECRET.
// Its one addition is what any gateway in front of Stockgraph's subgraphs needs: their signed
// identity header on every fetch (bench/benchIdentity.ts).
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { peerIdentityHeaders } from '../benchIdentity.ts';

const { PEER_PORT, SUPERGRAPH_FILE, GATEWAY_IDENTITY_SECRET } = process.env;
if (!PEER_PORT || !SUPERGRAPH_FILE || !GATEWAY_IDENTITY_SECRET) throw new Error('PEER_PORT, SUPERGRAPH_FILE and GATEWAY_IDENTITY_SECRET are required');

const identity = peerIdentityHeaders(GATEWAY_IDENTITY_SECRET);
const gateway = new ApolloGateway({
  supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'),
  buildService: ({ url }) => new RemoteGraphQLDataSource({
    url,
    willSendRequest: ({ request }) => {
      for (const [name, value] of Object.entries(identity())) request.http?.headers.set(name, value);
    },
  }),
});
// Automatic persisted queries are on by default (an in-memory cache).
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: Number(PEER_PORT) } });
console.log(`plain @apollo/gateway at ${url}`);
