import { readFileSync } from 'node:fs';
import { ApolloServer, type BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import type { Logger } from '../logger.ts';
import { closeServer, createServiceHttpServer, listen, type ReadinessCheck, type RunningService } from '../http/serviceHttpServer.ts';
import { maskUnexpectedErrors } from './errors.ts';

export interface SubgraphDefinition<Context extends BaseContext> {
  readonly name: string;
  /** Path of the subgraph's Federation 2 SDL file. */
  readonly schemaPath: string;
  readonly resolvers: GraphQLResolverMap<Context>;
  /** Builds one request's context; per-request DataLoaders live here. */
  readonly createContext: () => Context;
}

export async function startSubgraphServer<Context extends BaseContext>(
  definition: SubgraphDefinition<Context>,
  { port, host, logger, readinessChecks }: { port: number; host: string; logger: Logger; readinessChecks: readonly ReadinessCheck[] },
): Promise<RunningService> {
  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(definition.schemaPath, 'utf8')),
    // buildSubgraphSchema types resolvers for an unknown context; ours are typed for Context.
    resolvers: definition.resolvers as GraphQLResolverMap<unknown>,
  });
  const apollo = new ApolloServer<Context>({
    schema,
    formatError: maskUnexpectedErrors(logger),
    includeStacktraceInErrorResponses: false,
    // runService owns shutdown; Apollo's own handler would re-raise the signal and skip ours.
    stopOnTerminationSignals: false,
    // Inline traces feed Apollo Studio, which Stockgraph does not report to.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const httpServer = createServiceHttpServer({
    apollo,
    context: async () => definition.createContext(),
    readinessChecks,
  });
  const url = await listen(httpServer, port, host);
  logger.info({ url: `${url}/graphql` }, `${definition.name} subgraph listening`);
  return {
    url,
    httpServer,
    stop: async () => {
      await closeServer(httpServer);
      await apollo.stop();
    },
  };
}
