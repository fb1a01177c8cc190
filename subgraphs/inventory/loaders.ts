import DataLoader from 'dataloader';
import type { InventoryRepository, Item, Location, StockLevelKey, StockLevelRecord, Subinventory } from './data/inventoryRepository.ts';
import { groupBy, indexBy } from '../../platform/graphql/batching.ts';

/** The inventory subgraph's loaders; a fresh set per request, so nothing is cached across requests. */
export interface InventoryLoaders {
  readonly itemBySku: DataLoader<string, Item | null>;
  readonly locationById: DataLoader<string, Location | null>;
  readonly subinventoriesByLocationId: DataLoader<string, Subinventory[]>;
  readonly stockLevelsBySku: DataLoader<string, StockLevelRecord[]>;
  readonly stockLevelByKey: DataLoader<StockLevelKey, StockLevelRecord | null, string>;
}

export function createInventoryLoaders(repository: InventoryRepository): InventoryLoaders {
  const stockLevelKey = (key: StockLevelKey) => `${key.sku}\u0000${key.locationId}`;
  return {
    itemBySku: new DataLoader(async (skus) => indexBy(skus, await repository.itemsBySku(skus), (item) => item.sku)),
    locationById: new DataLoader(async (ids) => indexBy(ids, await repository.locationsById(ids), (location) => location.id)),
    subinventoriesByLocationId: new DataLoader(async (ids) =>
      groupBy(ids, await repository.subinventoriesByLocation(ids), (subinventory) => subinventory.locationId),
    ),
    stockLevelsBySku: new DataLoader(async (skus) => groupBy(skus, await repository.stockLevelsBySku(skus), (level) => level.sku)),
    stockLevelByKey: new DataLoader(
      async (keys) => indexBy(keys.map(stockLevelKey), await repository.stockLevelsByKey(keys), stockLevelKey),
      { cacheKeyFn: stockLevelKey },
    ),
  };
}
