import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { newestFirstConnection } from '../../platform/graphql/pagination.ts';
import { DateTimeScalar } from '../../platform/graphql/scalars.ts';
import type { Order, OrderLine, OrderRepository } from './data/orderRepository.ts';
import { isOpen, type OrderStatus } from './domain/orderStatus.ts';
import type { OrderLoaders } from './loaders.ts';

export interface OrdersContext {
  readonly loaders: OrderLoaders;
  readonly repository: OrderRepository;
}

export const orderResolvers: GraphQLResolverMap<OrdersContext> = {
  DateTime: DateTimeScalar,
  Query: {
    order: (_: unknown, { id }: { id: string }, { loaders }: OrdersContext) => loaders.orderById.load(id),
    orders: async (
      _: unknown,
      args: { status?: OrderStatus[] | null; first: number; after?: string | null },
      { loaders, repository }: OrdersContext,
    ) => {
      const page = await newestFirstConnection(
        args,
        (take, after) => repository.orderPage(args.status ?? null, take, after),
        (order) => order.createdAt,
      );
      for (const order of page.nodes) loaders.orderById.prime(order.id, order);
      return page;
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
