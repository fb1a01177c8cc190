import type { SubgraphDefinition } from '../../platform/graphql/subgraphServer.ts';
import type { Infrastructure } from '../../platform/infrastructure.ts';
import { InventoryRepository } from './data/inventoryRepository.ts';
import { createInventoryLoaders } from './loaders.ts';
import { inventoryResolvers, type InventoryContext } from './resolvers.ts';

/** The inventory subgraph: items, locations and stock levels. */
export function inventorySubgraph({ db }: Infrastructure): SubgraphDefinition<InventoryContext> {
  const repository = new InventoryRepository(db.prisma);
  return {
    name: 'inventory',
    schemaPath: new URL('./schema.graphql', import.meta.url).pathname,
    resolvers: inventoryResolvers,
    createContext: () => ({ repository, loaders: createInventoryLoaders(repository) }),
  };
}
