import { ApolloServer, type ApolloServerPlugin, type GraphQLRequest } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloGateway } from '@apollo/gateway';
import { GraphQLError, Kind, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { DEFAULT_OBSERVABILITY, type ObservabilitySettings } from '../platform/config/observabilityConfig.ts';
import type { EventBus } from '../platform/events/eventBus.ts';
import { apolloServerDefaults, serveApollo } from '../platform/graphql/apolloService.ts';
import { IDENTITY_HEADER, IDENTITY_MAX_AGE_SECONDS, identitySigner, newCorrelationId } from '../platform/graphql/callerIdentity.ts';
import { outgoingTraceHeaders } from '../platform/observability/tracing.ts';
import { withSingleFetchFastPath } from '../platform/graphql/singleFetchGateway.ts';
import { SubgraphDataSource } from '../platform/graphql/subgraphDataSource.ts';
import { AnswerPrinter } from '../platform/graphql/unparsedAnswers.ts';
import type { ReadinessCheck, RunningService } from '../platform/http/serviceHttpServer.ts';
import type { Logger } from '../platform/logger.ts';
import { RequestObserver } from '../platform/observability/requestObserver.ts';
import { ServiceMetrics } from '../platform/observability/serviceMetrics.ts';
import { SubgraphAnswerCache } from '../platform/graphql/subgraphAnswerCache.ts';
import { DEFAULT_ENTITY_CACHE, type EntityCacheSettings, type SubscriptionSettings } from './config.ts';
import { invalidationAnnouncer, newReplicaName, startEntityCacheFeed } from './entityCacheFeed.ts';
import { dashboardRoute } from './dashboard/dashboardRoute.ts';
import type { GatewayEdge } from './edge/gatewayEdge.ts';
import { CachePolicy } from './edge/cachePolicy.ts';
import { MAX_TOKENS } from './edge/operationLimits.ts';
import { OperationPolicy } from './edge/operationPolicy.ts';
import { GATEWAY_PRINCIPAL, type Principal } from './edge/principal.ts';
import { edgeAdmission, rateLimitRefusal, type GatewayContext } from './edge/requestAdmission.ts';
import { GatewayMetrics } from './gatewayMetrics.ts';
import { supergraphFromFile } from './supergraph/supergraphFile.ts';
import type { SubgraphUrlOverrides, SubgraphUrls } from './supergraph/subgraphUrls.ts';
import { SubscriptionHub } from './subscriptions/subscriptionHub.ts';
import { serveSubscriptions } from './subscriptions/subscriptionServer.ts';

export interface GatewayOptions {
  readonly host: string;
  readonly port: number;
  /** The composed supergraph; the gateway reloads it when the file changes. */
  readonly supergraphPath: string;
  /** How often the supergraph file is looked at for changes, in milliseconds. */
  readonly supergraphPollIntervalMs?: number;
  /**
   * URLs that replace those the supergraph gives its subgraphs, by join graph (`INVENTORY_URL`
   * in the environment); any other subgraph is reached at its supergraph's URL.
   */
  readonly subgraphUrls?: SubgraphUrlOverrides;
  /** Where the events that feed subscriptions arrive. */
  readonly bus: EventBus;
  /** Who may call, with what, and how much (see openGatewayEdge). */
  readonly edge: GatewayEdge;
  /** Signs each caller's identity for the subgraphs (GATEWAY_IDENTITY_SECRET). */
  readonly identitySecret: string;
  readonly subscriptions: SubscriptionSettings;
  /** How long a subgraph may take to start answering a fetch, and then between the parts of its answer, before the fetch counts as SUBGRAPH_UNAVAILABLE, in milliseconds; 30 s by default. */
  readonly subgraphTimeoutMs?: number;
  /** The entity cache of stock answers (ENTITY_CACHE_*; DEFAULT_ENTITY_CACHE when left out); null: none. */
  readonly entityCache?: EntityCacheSettings | null;
  /** Checks of the gateway's own dependencies, beside the subgraphs' readiness. */
  readonly readinessChecks?: readonly ReadinessCheck[];
  readonly logger: Logger;
  /** METRICS_TOKEN and ACCESS_LOG; by default /metrics is open and the access log on. */
  readonly observability?: ObservabilitySettings;
}

const GRAPHQL_PATH = '/graphql';
/** How long one request's signed identity is sent on: half the time a subgraph honours it. */
const IDENTITY_REUSE_MS = (IDENTITY_MAX_AGE_SECONDS * 1_000) / 2;

/**
 * The public endpoint: Apollo Server over @apollo/gateway, executing the supergraph's query
 * plans against the subgraphs, and graphql-ws on the same path for subscriptions (which
 * @apollo/gateway cannot execute: the subscription hub resolves them, an event batch at a time,
 * through ordinary query plans). Every caller passes the edge, over HTTP or WebSocket: its
 * credentials, its rate limit and its safelist before the operation is parsed, its scopes and
 * limits (OperationPolicy) before any subgraph is called. Ready when every subgraph reports ready.
 * The operations dashboard (dashboardRoute) is served at /dashboard, a client of this same API.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningService> {
  const { logger, edge } = options;
  const serviceMetrics = new ServiceMetrics('gateway');
  const metrics = new GatewayMetrics(serviceMetrics);
  const observer = new RequestObserver(serviceMetrics, options.observability ?? DEFAULT_OBSERVABILITY, logger);
  const signIdentity = identitySigner(options.identitySecret);
  const timeoutMs = options.subgraphTimeoutMs ?? 30_000;
  // Signed once for all of a request's fetches (an HMAC each was a few percent of the gateway's
  // CPU on a query across three subgraphs), and again after IDENTITY_REUSE_MS.
  const signedFor = new WeakMap<GatewayContext, { identity: string; signedAt: number }>();
  const identityOf = (context: GatewayContext) => {
    const signed = signedFor.get(context);
    if (signed && Date.now() - signed.signedAt < IDENTITY_REUSE_MS) return signed.identity;
    const { principal, correlationId } = context;
    const identity = signIdentity({ caller: principal.name, scopes: [...principal.scopes], locations: principal.locations, correlationId });
    signedFor.set(context, { identity, signedAt: Date.now() });
    return identity;
  };
  // By subgraph name, as the supergraph in use routes them: @apollo/gateway builds a data source
  // for each subgraph of every supergraph it loads, and the single-fetch fast path sends its
  // fetches through the same ones.
  const dataSources = new Map<string, SubgraphDataSource<GatewayContext>>();
  const cacheSettings = options.entityCache === undefined ? DEFAULT_ENTITY_CACHE : options.entityCache;
  const replica = newReplicaName();
  const answerCache = cacheSettings && new SubgraphAnswerCache({
    maxEntries: cacheSettings.maxEntries,
    maxBytes: cacheSettings.maxBytes,
    onLookup: metrics.entityCacheLookup,
    onInvalidation: metrics.entityCacheInvalidation,
    announce: invalidationAnnouncer(options.bus, replica),
  });
  // Serving from the cache only once its feed of stock changes runs (the cache starts bypassed).
  const cacheFeed = answerCache && startEntityCacheFeed({ bus: options.bus, cache: answerCache, maxLagMs: cacheSettings.maxLagMs, replica, logger });
  await cacheFeed?.firstAttempt;
  if (answerCache) metrics.watchEntityCache(answerCache);
  const dataSource = (name: string, url: string) => new SubgraphDataSource<GatewayContext>(name, {
    url,
    timeoutMs,
    // Every fetch carries the caller's verified identity, signed: subgraphs refuse any request
    // without one, and record who acted. And the trace context, so that the subgraph's spans join
    // the trace of this fetch (gateway.fetch).
    headers: (context) => ({ ...outgoingTraceHeaders(), [IDENTITY_HEADER]: identityOf(context) }),
    // What a subgraph answers a query depends on the caller's scopes and locations alone: its
    // name and the correlation id are for records. So callers who see the same share a fetch,
    // and no caller ever gets an answer made for what another may see.
    sharedBy: ({ principal }) => JSON.stringify([[...principal.scopes].sort(), principal.locations && [...principal.locations].sort()]),
    fetchStarted: () => metrics.fetchStarted(name),
    fetchShared: () => metrics.fetchShared(name),
    ...(answerCache && { answerCache, usesAnswerCache: ({ eventLookup }) => !eventLookup }),
  });
  let subgraphUrls: SubgraphUrls = new Map();
  const policy = new OperationPolicy();
  const cachePolicy = new CachePolicy();
  const gateway = new ApolloGateway({
    supergraphSdl: supergraphFromFile(options.supergraphPath, logger, {
      pollIntervalMs: options.supergraphPollIntervalMs,
      subgraphUrls: options.subgraphUrls,
      onLoad: (supergraphSdl, urls) => {
        policy.useSupergraph(supergraphSdl);
        cachePolicy.useSupergraph(supergraphSdl);
        subgraphUrls = urls;
      },
    }),
    // The URL is the one supergraphFromFile routed the subgraph to. One that a reload moves is
    // left to requests still planned against it; its idle connections close by themselves.
    buildService: ({ name, url }) => {
      const built = dataSource(name, url!);
      dataSources.set(name, built);
      return built;
    },
    logger,
  });
  const printer = new AnswerPrinter();
  const { introspection, persistedQueryTtlSeconds, maxBodyBytes, cors } = edge.settings;
  const defaults = apolloServerDefaults(logger);
  const apollo = new ApolloServer<GatewayContext>({
    gateway: withSingleFetchFastPath(gateway, { dataSources }),
    ...defaults,
    formatError: introspection ? defaults.formatError : (formatted, error) => defaults.formatError(withoutSuggestions(formatted), error),
    introspection,
    parseOptions: { maxTokens: MAX_TOKENS },
    persistedQueries: { cache: edge.persistedQueries, ttl: persistedQueryTtlSeconds },
    stringifyResult: printer.stringifyResult,
    plugins: [observer.plugin, operationMustResolve, subscriptionsOverWebSocketOnly, policy.plugin(), cachePolicy.plugin(), ApolloServerPluginCacheControlDisabled()],
  });
  const service = await serveApollo(apollo, {
    name: 'gateway',
    port: options.port,
    host: options.host,
    logger,
    responseBody: printer.responseBody,
    maxBodyBytes,
    ...(cors && { cors }),
    admit: edgeAdmission(edge, metrics.rateLimited),
    observer,
    routes: [dashboardRoute()],
    readinessChecks: () => [...[...subgraphUrls].map(([name, url]) => subgraphReadiness(name, url)), ...(options.readinessChecks ?? [])],
  });

  const execute = async (request: GraphQLRequest, principal: Principal, { eventLookup = false } = {}): Promise<FormattedExecutionResult> => {
    const response = await apollo.executeOperation(request, { contextValue: { principal, correlationId: newCorrelationId(), persistedQuery: false, eventLookup } });
    if (response.body.kind !== 'single') throw new Error('Incremental delivery is not supported over graphql-ws');
    return response.body.singleResult;
  };
  const hub = new SubscriptionHub({
    bus: options.bus,
    // The gateway's scopes (its lookup fields), the subscribers' locations: see EventLookup.locations.
    executeLookup: (query, variables, locations) => execute({ query, variables }, locations === null ? GATEWAY_PRINCIPAL : { ...GATEWAY_PRINCIPAL, locations }, { eventLookup: true }),
    logger,
    maxBufferedEvents: options.subscriptions.maxBufferedEvents,
    lookupRetryMs: options.subscriptions.lookupRetryMs,
  });
  const subscriptionServer = serveSubscriptions({
    httpServer: service.httpServer,
    path: GRAPHQL_PATH,
    hub,
    schema: () => gateway.schema!,
    authenticate: edge.authenticate,
    rateLimitRefusal: (principal) => rateLimitRefusal(edge.rateLimiter, principal, (client) => metrics.rateLimited(client, 'websocket')),
    checkOperation: (schema, document, operation, variables, principal) => policy.check(schema, document, operation, variables, principal),
    executeOperation: ({ query, variables, operationName }, principal) =>
      execute({ query, variables: variables ?? undefined, operationName: operationName ?? undefined }, principal),
    maxSubscriptionsPerConnection: options.subscriptions.maxPerConnection,
    maxUnsentPerSubscription: options.subscriptions.maxBufferedEvents,
    onDelivery: metrics.subscriptionDelivery,
    logger,
  });
  metrics.watchSubscriptions(() => hub.subscriberCount);
  return {
    ...service,
    stop: async () => {
      await subscriptionServer.close();
      await hub.close();
      await cacheFeed?.close();
      await service.stop();
      await Promise.all([...dataSources.values()].map((source) => source.close()));
      edge.close();
    },
  };
}

/**
 * A document whose operation cannot be picked (several and no `operationName`, or a name it does
 * not hold) is the client's error, 400 OPERATION_RESOLUTION_FAILURE: @apollo/gateway would throw
 * on it while planning, a 500.
 */
const operationMustResolve: ApolloServerPlugin<GatewayContext> = {
  requestDidStart: async () => ({
    didResolveOperation: async ({ operation, document, request }) => {
      if (operation) return;
      const operationCount = document.definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION).length;
      const message = request.operationName
        ? `Unknown operation named "${request.operationName}".`
        : operationCount === 0 ? 'Must provide an operation.' : 'Must provide operation name if query contains multiple operations.';
      throw new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400 } } });
    },
  }),
};

/** A subscription sent over HTTP gets a clear answer instead of @apollo/gateway's internal error. */
const subscriptionsOverWebSocketOnly: ApolloServerPlugin<GatewayContext> = {
  requestDidStart: async () => ({
    didResolveOperation: async ({ operation }) => {
      if (operation?.operation !== 'subscription') return;
      throw new GraphQLError(`Subscriptions are served over WebSocket (graphql-ws, the graphql-transport-ws protocol) at ${GRAPHQL_PATH}`, {
        extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
      });
    },
  }),
};

/**
 * graphql-js's "Did you mean ...?" hints name fields and types a caller did not ask for: with
 * introspection off they would let it map the schema one typo at a time. (graphql-armor's
 * block-field-suggestions does this for Envelop servers only.)
 */
function withoutSuggestions(formatted: GraphQLFormattedError): GraphQLFormattedError {
  return formatted.message.includes(' Did you mean ') ? { ...formatted, message: formatted.message.replace(/ Did you mean .*\?$/, '') } : formatted;
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
