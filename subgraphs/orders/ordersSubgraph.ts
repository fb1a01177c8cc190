import type { SubgraphDefinition, SubgraphEnvironment } from '../../platform/graphql/subgraphServer.ts';
import { OrderRepository } from './data/orderRepository.ts';
import { createOrderLoaders } from './loaders.ts';
import { orderResolvers, type OrdersContext } from './resolvers.ts';

/** The orders subgraph: orders, their lines and status, and each item's open orders. */
export function ordersSubgraph({ infrastructure: { db } }: SubgraphEnvironment): SubgraphDefinition<OrdersContext> {
  const repository = new OrderRepository(db.prisma);
  return {
    name: 'orders',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: orderResolvers,
    createContext: () => ({ repository, loaders: createOrderLoaders(repository) }),
  };
}
