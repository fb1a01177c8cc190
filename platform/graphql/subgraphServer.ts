import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { parse } from 'graphql';
import type { Environment } from '../config/environment.ts';
import { DEFAULT_OBSERVABILITY, type ObservabilitySettings } from '../config/observabilityConfig.ts';
import type { Infrastructure } from '../infrastructure.ts';
import type { Logger } from '../logger.ts';
import type { HttpRoute, ReadinessCheck, RunningService } from '../http/serviceHttpServer.ts';
import { RequestObserver } from '../observability/requestObserver.ts';
import type { ServiceMetrics } from '../observability/serviceMetrics.ts';
import { apolloServerDefaults, serveApollo } from './apolloService.ts';
import { identityVerifier, type CallerIdentity } from './callerIdentity.ts';
import { compiledExecutionGateway } from './compiledExecutionGateway.ts';
import { auditMutations } from '../observability/auditLog.ts';

export interface SubgraphDefinition<Context extends BaseContext> {
  readonly name: string;
  /** Path of the subgraph's Federation 2 SDL file. */
  readonly schemaPath: string;
  readonly resolvers: GraphQLResolverMap<Context>;
  /** Builds one request's context, for the caller the gateway vouches for; per-request DataLoaders live here. */
  readonly createContext: (identity: CallerIdentity) => Context;
  /** HTTP endpoints served beside GraphQL. */
  readonly routes?: readonly HttpRoute[];
  /** Apollo Server plugins of the subgraph's own, after the common ones (the inventory's entity cache hints). */
  readonly plugins?: readonly ApolloServerPlugin<Context>[];
  /** Work that runs in the background while the service is up (relays, consumers). */
  readonly workers?: readonly BackgroundWorker[];
  /**
   * Runs once before the service serves anything or starts its workers: what every request
   * relies on (configuration the database must hold). A failure stops the start.
   */
  readonly prepare?: () => Promise<void>;
  /** The subgraph's metrics, its own figures among them: served on /metrics with its requests'. */
  readonly metrics: ServiceMetrics;
}

/** What a subgraph's composition root is given to build its definition. */
export interface SubgraphEnvironment {
  readonly infrastructure: Infrastructure;
  /** For the subgraph's own variables; read once, here. */
  readonly env: Environment;
  readonly logger: Logger;
}

/** A background loop: started once the service listens, stopped before it closes. */
export interface BackgroundWorker {
  start(): void;
  stop(): Promise<void>;
}

export interface SubgraphServerOptions {
  readonly port: number;
  readonly host: string;
  readonly logger: Logger;
  readonly readinessChecks: readonly ReadinessCheck[];
  /** The secret the gateway signs callers' identities with (GATEWAY_IDENTITY_SECRET): a GraphQL request without a valid signature is refused. */
  readonly identitySecret: string;
  /** METRICS_TOKEN and ACCESS_LOG; by default /metrics is open and the access log on. */
  readonly observability?: ObservabilitySettings;
}

/**
 * Serves a subgraph's GraphQL, its routes and its workers. GraphQL answers only requests whose
 * identity the gateway signed (UNAUTHENTICATED otherwise), so the subgraph cannot be queried or
 * mutated around the gateway's checks; routes (WMS and ERP ingestion) keep their own signatures.
 * Every mutation is audited (platform/observability/auditLog.ts), named for the verified caller.
 * Its `prepare` runs first.
 */
export async function startSubgraphServer<Context extends BaseContext>(
  definition: SubgraphDefinition<Context>,
  { port, host, logger, readinessChecks, identitySecret, observability = DEFAULT_OBSERVABILITY }: SubgraphServerOptions,
): Promise<RunningService> {
  await definition.prepare?.();
  const verifyIdentity = identityVerifier(identitySecret);
  const observer = new RequestObserver(definition.metrics, observability, logger);
  const schema = buildSubgraphSchema({
    typeDefs: parse(readFileSync(definition.schemaPath, 'utf8')),
    // buildSubgraphSchema types resolvers for an unknown context; ours are typed for Context.
    resolvers: definition.resolvers as GraphQLResolverMap<unknown>,
  });
  const apollo = new ApolloServer<Context>({
    gateway: compiledExecutionGateway(schema),
    ...apolloServerDefaults(logger),
    // Inline traces feed Apollo Studio, which Stockgraph does not report to; cache hints feed a
    // response cache it does not run, at the price of a hook on every resolved field.
    plugins: [
      observer.plugin, ApolloServerPluginLandingPageDisabled(), ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginCacheControlDisabled(),
      auditMutations(logger), ...(definition.plugins ?? []),
    ],
  });
  const service = await serveApollo(apollo, {
    name: `${definition.name} subgraph`,
    port,
    host,
    logger,
    admit: async (request, graphQLRequest) => {
      const identity = verifyIdentity(request);
      return { context: definition.createContext(identity), request: graphQLRequest, correlationId: identity.correlationId, caller: identity.caller };
    },
    readinessChecks,
    routes: definition.routes ?? [],
    observer,
  });
  const workers = definition.workers ?? [];
  for (const worker of workers) worker.start();
  return {
    ...service,
    stop: async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await service.stop();
    },
  };
}
