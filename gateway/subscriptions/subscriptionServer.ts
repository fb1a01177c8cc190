import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import type { Context, SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import { parseCursor, StreamCursorError } from '../../platform/events/eventBus.ts';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Authenticate } from '../edge/authentication.ts';
import { MAX_TOKENS } from '../edge/operationLimits.ts';
import type { OperationPolicy } from '../edge/operationPolicy.ts';
import type { Principal } from '../edge/principal.ts';
import { safelistedQuery } from '../edge/requestAdmission.ts';
import { NextMessageFrames } from './nextMessageFrames.ts';
import { SocketSink } from './socketSink.ts';
import { SubscriptionErrorCode, type SubscriptionHub } from './subscriptionHub.ts';
import { planSubscription, type SubscriptionPlan } from './subscriptionPlan.ts';

export interface SubscriptionServerOptions {
  readonly httpServer: Server;
  readonly path: string;
  readonly hub: SubscriptionHub;
  /** The supergraph's API schema as it is now (it changes when the supergraph reloads). */
  readonly schema: () => GraphQLSchema;
  readonly authenticate: Authenticate;
  /** The caller's rate limit: every operation sent over the socket takes a token, as one sent over HTTP does. */
  readonly rateLimitRefusal: (principal: Principal) => Promise<GraphQLError | null>;
  /** The gateway's scopes and limits, checked when a subscription starts (queries and mutations are checked where they are executed). */
  readonly checkOperation: OperationPolicy['check'];
  /** Runs a query or mutation sent over the socket, as the gateway runs one sent over HTTP. */
  readonly executeOperation: (payload: SubscribePayload, principal: Principal) => Promise<FormattedExecutionResult>;
  readonly maxSubscriptionsPerConnection: number;
  /** Results one subscription may have waiting to be written to its socket before it counts as a slow consumer. */
  readonly maxUnsentPerSubscription: number;
  /** Hears of the results offered to a subscriber at once: how many were sent, and how many dropped because too many wait (the subscriber is then closed). */
  readonly onDelivery?: (stream: string, sent: number, dropped: number) => void;
  readonly logger: Logger;
}

/** Close code for a connection whose subscriber let too many events wait. */
const SLOW_CONSUMER_CLOSE_CODE = 4413;

type Extra = { readonly socket: WebSocket; readonly request: IncomingMessage };
type ConnectionContext = Context<Record<string, unknown> | undefined, Extra>;

/** What onSubscribe hands to execution: a planned subscription, or an operation to forward. */
type OperationContext =
  | { readonly kind: 'subscription'; readonly id: string; readonly plan: SubscriptionPlan; readonly socket: WebSocket; readonly connection: Socket }
  | { readonly kind: 'forward'; readonly payload: SubscribePayload; readonly principal: Principal };

/**
 * graphql-ws (the graphql-transport-ws protocol) on the gateway's HTTP server, on the same path
 * as HTTP GraphQL. A connection authenticates once, on connection_init, with the credentials an
 * HTTP request would present; subscriptions are served by the hub, and queries and mutations
 * sent over the socket are forwarded to the gateway.
 */
export function serveSubscriptions(options: SubscriptionServerOptions): { close(): Promise<void> } {
  const { hub, schema, authenticate, logger } = options;
  // Without compression ws writes each frame to the socket as it is sent, so frames the hub's
  // results are written in straight to the socket (SocketSink) keep their place among them.
  const webSocketServer = new WebSocketServer({ server: options.httpServer, path: options.path, perMessageDeflate: false });
  const principals = new WeakMap<ConnectionContext, Principal>();
  const validDocument = validDocumentCache();
  const frames = new NextMessageFrames();

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization ?? ctx.extra.request.headers.authorization;
        try {
          principals.set(ctx, await authenticate({ authorization: typeof authorization === 'string' ? authorization : undefined, remoteAddress: ctx.extra.request.socket.remoteAddress }));
          return true;
        } catch (error) {
          logger.info({ reason: (error as Error).message }, 'subscription connection refused');
          return false; // graphql-ws closes the socket with 4403 Forbidden
        }
      },
      onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        const currentSchema = schema();
        const principal = principals.get(ctx)!;
        const rateRefusal = await options.rateLimitRefusal(principal);
        if (rateRefusal) return [rateRefusal];
        let query: string;
        let document: DocumentNode | readonly GraphQLError[];
        try {
          const persistedQuery = (payload.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
          query = principal.manifest ? safelistedQuery(principal, payload.query, persistedQuery?.sha256Hash) : payload.query;
          document = await validDocument(currentSchema, query);
        } catch (error) {
          return [error as GraphQLError];
        }
        if (!('kind' in document)) return document;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new UserInputError('The document names no operation to run (give operationName)', CommonErrorCode.BAD_REQUEST)];
        const args = { schema: currentSchema, document, operationName: payload.operationName };
        if (operation.operation !== 'subscription') {
          return { ...args, contextValue: { kind: 'forward', payload: { ...payload, query }, principal } satisfies OperationContext };
        }
        // graphql-ws counts this subscription already.
        if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`A connection may hold at most ${options.maxSubscriptionsPerConnection} subscriptions`, {
              extensions: { code: SubscriptionErrorCode.SUBSCRIPTION_LIMIT },
            }),
          ];
        }
        const variables = getVariableValues(currentSchema, operation.variableDefinitions ?? [], payload.variables ?? {});
        if (variables.errors) return variables.errors;
        const refusal = options.checkOperation(currentSchema, document, operation, variables.coerced, principal);
        if (refusal) return [refusal];
        try {
          const plan = planSubscription(currentSchema, document, operation, variables.coerced, principal.locations);
          if (plan.after !== undefined) parseCursor(plan.after);
          const subscription = { kind: 'subscription', id, plan, socket: ctx.extra.socket, connection: ctx.extra.request.socket } satisfies OperationContext;
          return { ...args, variableValues: variables.coerced, contextValue: subscription };
        } catch (error) {
          if (error instanceof StreamCursorError) return [new GraphQLError(error.message, { extensions: { code: SubscriptionErrorCode.BAD_CURSOR } })];
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
      subscribe: async ({ contextValue }) => {
        const { id, plan, socket, connection } = contextValue as Extract<OperationContext, { kind: 'subscription' }>;
        // Results go straight to the TCP socket under the WebSocket (see SocketSink); graphql-ws
        // keeps the subscription's life (complete, error) through the iterator.
        const sink = new SocketSink({
          webSocket: socket,
          connection,
          frames,
          tail: NextMessageFrames.tailOf(id),
          maxUnsent: options.maxUnsentPerSubscription,
          ...(options.onDelivery && { onOffer: (sent: number, dropped: number) => options.onDelivery!(plan.feed.stream, sent, dropped) }),
        });
        const life = await hub.subscribe(plan, sink, () => {
          logger.warn({ stream: plan.feed.stream }, 'closing a slow subscription consumer');
          socket.close(SLOW_CONSUMER_CLOSE_CODE, 'Slow consumer: too many events waiting; reconnect and resume with after: <last cursor>');
        });
        return life as AsyncIterable<ExecutionResult>;
      },
      execute: async ({ contextValue }) => {
        const { payload, principal } = contextValue as Extract<OperationContext, { kind: 'forward' }>;
        return (await options.executeOperation(payload, principal)) as ExecutionResult;
      },
      // Query and mutation results come formatted already (the gateway formats its errors).
      onNext: (_ctx, _id, _payload, _args, result) => result as FormattedExecutionResult,
    },
    webSocketServer,
  );

  return {
    close: async () => {
      await server.dispose();
    },
  };
}

/**
 * Parses and validates a query once for the schema it is checked against: many subscribers send
 * the same few, and each subscription holds its document for as long as it lives, so one copy
 * serves them all. Kept as Apollo Server keeps its own, in a bounded LRU cache per schema (a
 * reloaded supergraph starts a new one). Throws the GraphQLError of a query that does not parse.
 */
function validDocumentCache(): (schema: GraphQLSchema, query: string) => Promise<DocumentNode | readonly GraphQLError[]> {
  let documents = { schema: null as GraphQLSchema | null, cache: new InMemoryLRUCache<DocumentNode>() };
  return async (schema, query) => {
    if (documents.schema !== schema) documents = { schema, cache: new InMemoryLRUCache<DocumentNode>() };
    const { cache } = documents;
    const cached = await cache.get(query);
    if (cached) return cached;
    const document = parse(query, { maxTokens: MAX_TOKENS });
    const errors = validate(schema, document);
    if (errors.length > 0) return errors;
    await cache.set(query, document);
    return document;
  };
}
