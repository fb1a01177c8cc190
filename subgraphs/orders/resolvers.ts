import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import type { CallerIdentity } from '../../platform/graphql/callerIdentity.ts';
import { CommonErrorCode, UserInputError } from '../../platform/graphql/errors.ts';
import { newestFirstConnection } from '../../platform/graphql/pagination.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import type { OrderAnswer } from './data/orderLedger.ts';
import type { LocationDemand, OrderFilter, OrderLine, OrderRecord, OrderRepository, OrderTransition, StatusChangeRecord, WarehouseConfirmation } from './data/orderRepository.ts';
import type { InspectionLine, ReturnRequestLine } from './domain/returnInput.ts';
import { isOpen } from './domain/orderStatus.ts';
import type { PlaceOrderRequest } from './domain/placeOrderRequest.ts';
import { OrderError, OrderErrorCode } from './errors.ts';
import type { OrderLoaders } from './loaders.ts';
import type { OrderFulfilment } from './services/orderFulfilment.ts';
import type { OrderPlacement } from './services/orderPlacement.ts';
import type { OrderReturns } from './services/orderReturns.ts';

export interface OrdersContext {
  readonly loaders: OrderLoaders;
  readonly repository: OrderRepository;
  readonly placement: OrderPlacement;
  readonly fulfilment: OrderFulfilment;
  readonly returns: OrderReturns;
  /**
   * Who the gateway says is calling: its name is recorded as the actor of what the call changes,
   * and its granted locations (`locations`) decide which orders and confirmations it sees and acts on.
   */
  readonly identity: CallerIdentity;
}

const MAX_STATUS_CHANGE_IDS = 1_000;

interface PlaceOrderInput {
  readonly reference: string;
  readonly channel: string;
  readonly idempotencyKey: string;
  readonly lines: readonly { readonly sku: string; readonly quantity: number; readonly locationId?: string | null; readonly reservationId?: string | null }[];
}

const item = (sku: string) => ({ __typename: 'Item', sku });
const location = (id: string) => ({ __typename: 'Location', id });

export const orderResolvers: GraphQLResolverMap<OrdersContext> = {
  DateTime: DateTimeScalar,
  Query: {
    order: (_: unknown, { id }: { id: string }, { loaders }: OrdersContext) => loaders.orderById.load(id),
    orderByReference: (_: unknown, { reference }: { reference: string }, { loaders }: OrdersContext) => loaders.orderByReference.load(reference),
    orders: async (_: unknown, args: { filter?: OrderFilter | null; first: number; after?: string | null }, { loaders, repository, identity }: OrdersContext) => {
      const page = await newestFirstConnection(args, (take, after) => repository.orderPage(args.filter ?? {}, take, after, identity.locations), (order) => order.createdAt);
      for (const order of page.nodes) loaders.orderById.prime(order.id, order);
      return page;
    },
    orderStatusCounts: (_: unknown, __: unknown, { repository, identity }: OrdersContext) => repository.statusCounts(identity.locations),
    unappliedConfirmations: (_: unknown, args: { outcome?: 'UNMATCHED' | 'INAPPLICABLE' | null; first: number; after?: string | null }, { repository, identity }: OrdersContext) =>
      newestFirstConnection(args, (take, after) => repository.unappliedConfirmationPage(args.outcome ?? null, take, after, identity.locations), (confirmation) => confirmation.receivedAt),
    orderStatusChanges: (_: unknown, { ids }: { ids: string[] }, { repository }: OrdersContext) => statusChanges(ids, repository),
  },
  Mutation: {
    placeOrder: (_: unknown, { input }: { input: PlaceOrderInput }, context: OrdersContext) =>
      orderAfter(context, ({ caller, locations }) => context.placement.place(placeOrderRequest(input), caller, locations)),
    releaseOrder: (_: unknown, { id }: { id: string }, context: OrdersContext) =>
      orderAfter(context, ({ caller, locations }) => context.fulfilment.release(id, caller, locations)),
    cancelOrder: (_: unknown, { id, reason }: { id: string; reason: string }, context: OrdersContext) =>
      orderAfter(context, ({ caller, locations }) => context.fulfilment.cancel(id, reason, caller, locations)),
    requestReturn: (_: unknown, { input }: { input: { orderId: string; lines: ReturnRequestLine[]; reason: string } }, context: OrdersContext) =>
      orderAfter(context, ({ caller, locations }) => context.returns.requestReturn(input.orderId, input.lines, input.reason, caller, locations)),
    inspectReturn: (_: unknown, { input }: { input: { orderId: string; lines: InspectionLine[] } }, context: OrdersContext) =>
      orderAfter(context, ({ caller, locations }) => context.returns.inspectReturn(input.orderId, input.lines, caller, locations)),
  },
  Order: {
    __resolveReference: ({ id }: { id: string }, { loaders }: OrdersContext) => loaders.orderById.load(id),
    open: (order: OrderRecord) => isOpen(order.status),
    releasePending: (order: OrderRecord) => order.releaseRequested,
    lines: (order: OrderRecord, _: unknown, { loaders }: OrdersContext) => loaders.linesByOrderId.load(order.id),
    timeline: (order: OrderRecord, _: unknown, { loaders }: OrdersContext) => loaders.transitionsByOrderId.load(order.id),
  },
  OrderLine: {
    item: (line: OrderLine) => item(line.sku),
    location: (line: OrderLine) => location(line.locationId),
  },
  OrderTransition: {
    cause: (transition: OrderTransition) => transition.causeType,
    causeId: (transition: OrderTransition) => transition.causeId,
  },
  OrderStatusChange: {
    // Only the gateway knows where a change sits in the stream: it sets this on delivery.
    cursor: () => null,
    order: (change: StatusChangeRecord, _: unknown, { loaders }: OrdersContext) => loaders.orderById.load(change.orderId),
    cause: (change: StatusChangeRecord) => change.cause.type,
    causeId: (change: StatusChangeRecord) => change.cause.id,
  },
  WarehouseConfirmation: {
    order: (confirmation: WarehouseConfirmation, _: unknown, { loaders }: OrdersContext) => (confirmation.orderId ? loaders.orderById.load(confirmation.orderId) : null),
    item: (confirmation: WarehouseConfirmation) => item(confirmation.sku),
    location: (confirmation: WarehouseConfirmation) => location(confirmation.locationId),
  },
  LocationDemand: {
    location: (demand: LocationDemand) => location(demand.locationId),
  },
  Item: {
    openOrders: ({ sku }: { sku: string }, _: unknown, { loaders }: OrdersContext) => loaders.openOrdersBySku.load(sku),
    openDemand: ({ sku }: { sku: string }, _: unknown, { loaders }: OrdersContext) => loaders.openDemandBySku.load(sku),
  },
};

function placeOrderRequest(input: PlaceOrderInput): PlaceOrderRequest {
  return {
    reference: input.reference,
    channel: input.channel,
    idempotencyKey: input.idempotencyKey,
    lines: input.lines.map((line) => ({ sku: line.sku, quantity: line.quantity, locationId: line.locationId ?? null, reservationId: line.reservationId ?? null })),
  };
}

/**
 * Runs a mutation of one order for the caller (its name is recorded as the actor; its granted
 * locations decide which orders it may act on) and answers with the order as it now is (the
 * service's own snapshot of it when it has one: no second read); the rules' refusals become
 * GraphQL errors with their code and details.
 */
async function orderAfter({ loaders, identity }: OrdersContext, mutate: (identity: CallerIdentity) => Promise<OrderAnswer>): Promise<OrderRecord | null> {
  try {
    const answer = await mutate(identity);
    if (typeof answer === 'string') return await loaders.orderById.load(answer);
    loaders.orderById.prime(answer.order.id, answer.order);
    loaders.linesByOrderId.prime(answer.order.id, [...answer.lines]);
    return answer.order;
  } catch (error) {
    if (error instanceof OrderError) throw new UserInputError(error.message, error.code, await detailsFor(identity, loaders, error));
    throw error;
  }
}

/**
 * A refusal's details as the caller may see them: placeOrder's refusals for a key or reference
 * another order has name that order, which a partner is not told of unless it may see it.
 */
async function detailsFor({ locations }: CallerIdentity, loaders: OrderLoaders, error: OrderError): Promise<Record<string, unknown>> {
  const { orderId, ...others } = error.details;
  const namesOther = error.code === OrderErrorCode.IDEMPOTENCY_CONFLICT || error.code === OrderErrorCode.ORDER_REFERENCE_TAKEN;
  if (locations === null || !namesOther || typeof orderId !== 'string' || (await loaders.orderById.load(orderId))) return { ...error.details };
  return others;
}

/** The changes with these ids, in the order asked; null for an id that names none. */
async function statusChanges(ids: readonly string[], repository: OrderRepository): Promise<(StatusChangeRecord | null)[]> {
  if (ids.length > MAX_STATUS_CHANGE_IDS) {
    throw new UserInputError(`At most ${MAX_STATUS_CHANGE_IDS} status change ids per request, got ${ids.length}`, CommonErrorCode.BAD_USER_INPUT);
  }
  // Ids are outbox record numbers; anything else names no change.
  const byId = new Map((await repository.statusChangesById(ids.filter((id) => /^\d{1,18}$/.test(id)).map(BigInt))).map((change) => [change.id, change]));
  return ids.map((id) => byId.get(id) ?? null);
}
