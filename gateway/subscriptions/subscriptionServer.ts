import type { IncomingMessage, Server } from 'node:http';
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
import { WebSocketServer, type WebSocket } from 'ws';
import { parseCursor, StreamCursorError } from '../../platform/events/eventBus.ts';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Authenticate } from '../edge/authentication.ts';
import { MAX_TOKENS } from '../edge/operationLimits.ts';
import type { OperationPolicy } from '../edge/operationPolicy.ts';
import type { Principal } from '../edge/principal.ts';
import { safelistedQuery } from '../edge/requestAdmission.ts';
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
  /** Hears of each result offered to a subscriber: sent, or dropped because too many wait (the subscriber is then closed). */
  readonly onDelivery?: (stream: string, sent: boolean) => void;
  readonly logger: Logger;
}

/** Close code for a connection whose subscriber let too many events wait. */
const SLOW_CONSUMER_CLOSE_CODE = 4413;

type Extra = { readonly socket: WebSocket; readonly request: IncomingMessage };
type ConnectionContext = Context<Record<string, unknown> | undefined, Extra>;

/** What onSubscribe hands to execution: a planned subscription, or an operation to forward. */
type OperationContext =
  | { readonly kind: 'subscription'; readonly id: string; readonly plan: SubscriptionPlan; readonly socket: WebSocket }
  | { readonly kind: 'forward'; readonly payload: SubscribePayload; readonly principal: Principal };

/**
 * graphql-ws (the graphql-transport-ws protocol) on the gateway's HTTP server, on the same path
 * as HTTP GraphQL. A connection authenticates once, on connection_init, with the credentials an
 * HTTP request would present; subscriptions are served by the hub, and queries and mutations
 * sent over the socket are forwarded to the gateway.
 */
export function serveSubscriptions(options: SubscriptionServerOptions): { close(): Promise<void> } {
  const { hub, schema, authenticate, logger } = options;
  const webSocketServer = new WebSocketServer({ server: options.httpServer, path: options.path });
  const principals = new WeakMap<ConnectionContext, Principal>();

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
        let document: DocumentNode;
        try {
          const persistedQuery = (payload.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
          query = principal.manifest ? safelistedQuery(principal, payload.query, persistedQuery?.sha256Hash) : payload.query;
          document = parse(query, { maxTokens: MAX_TOKENS });
        } catch (error) {
          return [error as GraphQLError];
        }
        const validationErrors = validate(currentSchema, document);
        if (validationErrors.length > 0) return validationErrors;
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
          return { ...args, variableValues: variables.coerced, contextValue: { kind: 'subscription', id, plan, socket: ctx.extra.socket } satisfies OperationContext };
        } catch (error) {
          if (error instanceof StreamCursorError) return [new GraphQLError(error.message, { extensions: { code: SubscriptionErrorCode.BAD_CURSOR } })];
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
      },
      subscribe: async ({ contextValue }) => {
        const { id, plan, socket } = contextValue as Extract<OperationContext, { kind: 'subscription' }>;
        // Results go straight to the socket, serialized once per event for all who share it;
        // graphql-ws keeps the subscription's life (complete, error) through the iterator.
        const messagePrefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
        let unsent = 0;
        const sink = {
          send: (resultJson: string) => {
            const sent = unsent < options.maxUnsentPerSubscription;
            options.onDelivery?.(plan.feed.stream, sent);
            if (!sent) return false;
            unsent += 1;
            socket.send(`${messagePrefix}${resultJson}}`, () => (unsent -= 1));
            return true;
          },
        };
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
