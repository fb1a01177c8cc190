import DataLoader from 'dataloader';
import { groupBy, indexBy } from '../../platform/graphql/batching.ts';
import type { LocationGrant } from '../../platform/lang/locationGrant.ts';
import type { LocationDemand, OrderLine, OrderRecord, OrderRepository, OrderTransition } from './data/orderRepository.ts';

/** The orders subgraph's loaders; a fresh set per request. */
export interface OrderLoaders {
  /** Null for an order the caller may not see, as for one that does not exist. */
  readonly orderById: DataLoader<string, OrderRecord | null>;
  readonly orderByReference: DataLoader<string, OrderRecord | null>;
  readonly linesByOrderId: DataLoader<string, OrderLine[]>;
  readonly transitionsByOrderId: DataLoader<string, OrderTransition[]>;
  readonly openOrdersBySku: DataLoader<string, OrderRecord[]>;
  readonly openDemandBySku: DataLoader<string, LocationDemand[]>;
}

/** The loaders of one request by a caller granted `grant` (see orderVisibility.ts): orders, and demand, it may see only. */
export function createOrderLoaders(repository: OrderRepository, grant: LocationGrant): OrderLoaders {
  return {
    orderById: new DataLoader(async (ids) => indexBy(ids, await repository.ordersById(ids, grant), (order) => order.id)),
    orderByReference: new DataLoader(async (references) => indexBy(references, await repository.ordersByReference(references, grant), (order) => order.reference)),
    linesByOrderId: new DataLoader(async (ids) => groupBy(ids, await repository.linesByOrderId(ids), (line) => line.orderId)),
    transitionsByOrderId: new DataLoader(async (ids) => groupBy(ids, await repository.transitionsByOrderId(ids), (transition) => transition.orderId)),
    openOrdersBySku: new DataLoader(async (skus) =>
      groupBy(skus, await repository.openOrdersBySku(skus, grant), (row) => row.sku).map((rows) => rows.map((row) => row.order)),
    ),
    openDemandBySku: new DataLoader(async (skus) => groupBy(skus, await repository.openDemandBySku(skus, grant), (demand) => demand.sku)),
  };
}
