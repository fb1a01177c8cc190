import { ApolloServer } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { SubgraphName } from '../platform/config/services.ts';
import { apolloServerDefaults, serveApollo } from '../platform/graphql/apolloService.ts';
import { withSingleFetchFastPath } from '../platform/graphql/singleFetchGateway.ts';
import type { ReadinessCheck, RunningService } from '../platform/http/serviceHttpServer.ts';
import type { Logger } from '../platform/logger.ts';

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  readonly supergraphSdl: string;
  /** GraphQL endpoint of each subgraph; these replace the URLs written in the supergraph. */
  readonly subgraphUrls: Readonly<Record<SubgraphName, string>>;
  readonly logger: Logger;
}

/**
 * The public endpoint: Apollo Server over @apollo/gateway, executing the supergraph's query
 * plans against the subgraphs. Ready when every subgraph reports ready.
 */
export async function startGateway({ host, port, supergraphSdl, subgraphUrls, logger }: GatewayOptions): Promise<RunningService> {
  const dataSources = new Map(Object.entries(subgraphUrls).map(([name, url]) => [name, new RemoteGraphQLDataSource({ url })]));
  const gateway = new ApolloGateway({ supergraphSdl, buildService: ({ name }) => dataSources.get(name)!, logger });
  const apollo = new ApolloServer({ gateway: withSingleFetchFastPath(gateway, { supergraphSdl, dataSources }), ...apolloServerDefaults(logger) });
  return serveApollo(apollo, {
    name: 'gateway',
    port,
    host,
    logger,
    context: async () => ({}),
    readinessChecks: Object.entries(subgraphUrls).map(([name, url]) => subgraphReadiness(name, url)),
  });
}

function subgraphReadiness(name: string, graphqlUrl: string): ReadinessCheck {
  const readyUrl = new URL('/readyz', graphqlUrl);
  return [
    `subgraph:${name}`,
    async () => {
      const response = await fetch(readyUrl);
      if (!response.ok) throw new Error(`${readyUrl} answered ${response.status}`);
    },
  ];
}
