import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { connectionOf, decodeNewestFirstCursor, encodeNewestFirstCursor, pageSize } from '../../platform/graphql/pagination.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import type { Order, OrderLine, OrderRepository } from './data/orderRepository.ts';
import { isOpen, type OrderStatus } from './domain/orderStatus.ts';
import type { OrderLoaders } from './loaders.ts';

export interface OrdersContext {
  readonly loaders: OrderLoaders;
  readonly repository: OrderRepository;
}

const MAX_PAGE_SIZE = 500;

export const orderResolvers: GraphQLResolverMap<OrdersContext> = {
  DateTime: DateTimeScalar,
  Query: {
    order: (_: unknown, { id }: { id: string }, { loaders }: OrdersContext) => loaders.orderById.load(id),
    orders: async (
      _: unknown,
      args: { status?: OrderStatus[] | null; first: number; after?: string | null },
      { loaders, repository }: OrdersContext,
    ) => {
      const first = pageSize(args.first, MAX_PAGE_SIZE);
      const rows = await repository.orderPage(args.status ?? null, first + 1, args.after ? decodeNewestFirstCursor(args.after) : undefined);
      for (const order of rows) loaders.orderById.prime(order.id, order);
      return connectionOf(rows, first, (order) => encodeNewestFirstCursor({ at: order.createdAt, id: order.id }));
    },
  },
  Order: {
    __resolveReference: ({ id }: { id: string }, { loaders }: OrdersContext) => loaders.orderById.load(id),
    open: (order: Order) => isOpen(order.status),
    lines: (order: Order, _: unknown, { loaders }: OrdersContext) => loaders.linesByOrderId.load(order.id),
  },
  OrderLine: {
    item: (line: OrderLine) => ({ __typename: 'Item', sku: line.sku }),
    location: (line: OrderLine) => ({ __typename: 'Location', id: line.locationId }),
  },
  Item: {
    openOrders: ({ sku }: { sku: string }, _: unknown, { loaders }: OrdersContext) => loaders.openOrdersBySku.load(sku),
  },
};
