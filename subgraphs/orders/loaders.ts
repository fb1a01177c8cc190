import DataLoader from 'dataloader';
import { groupBy, indexBy } from '../../platform/graphql/batching.ts';
import type { Order, OrderLine, OrderRepository } from './data/orderRepository.ts';

/** The orders subgraph's loaders; a fresh set per request. */
export interface OrderLoaders {
  readonly orderById: DataLoader<string, Order | null>;
  readonly linesByOrderId: DataLoader<string, OrderLine[]>;
  readonly openOrdersBySku: DataLoader<string, Order[]>;
}

export function createOrderLoaders(repository: OrderRepository): OrderLoaders {
  return {
    orderById: new DataLoader(async (ids) => indexBy(ids, await repository.ordersById(ids), (order) => order.id)),
    linesByOrderId: new DataLoader(async (ids) => groupBy(ids, await repository.linesByOrderId(ids), (line) => line.orderId)),
    openOrdersBySku: new DataLoader(async (skus) =>
      groupBy(skus, await repository.openOrdersBySku(skus), (row) => row.sku).map((rows) => rows.map((row) => row.order)),
    ),
  };
}
