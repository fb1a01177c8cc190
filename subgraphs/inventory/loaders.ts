import DataLoader from 'dataloader';
import type { InventoryRepository, Item, Location, StockLevelKey, StockLevelRecord, Subinventory } from './data/inventoryRepository.ts';
import type { ReservationRecord, ReservationService } from './services/reservationService.ts';
import { groupBy, indexBy } from '../../platform/graphql/batching.ts';
import { grantsLocation, type LocationGrant } from '../../platform/lang/locationGrant.ts';

/** The inventory subgraph's loaders; a fresh set per request, so nothing is cached across requests. */
export interface InventoryLoaders {
  readonly itemBySku: DataLoader<string, Item | null>;
  readonly locationById: DataLoader<string, Location | null>;
  readonly subinventoriesByLocationId: DataLoader<string, Subinventory[]>;
  /** Only the levels at locations the caller is granted. */
  readonly stockLevelsBySku: DataLoader<string, StockLevelRecord[]>;
  /** Null for a level at a location the caller is not granted, as for one that does not exist. */
  readonly stockLevelByKey: DataLoader<StockLevelKey, StockLevelRecord | null, string>;
  /** Null for a reservation the caller may not see (ReservationService.byIds), as for one that does not exist. */
  readonly reservationById: DataLoader<string, ReservationRecord | null>;
}

/**
 * The loaders of one request by a caller granted `grant`: every stock level it reads, by any
 * field or entity reference, comes through the two stock-level loaders, which are where the
 * caller's grant limits what it sees of stock.
 */
export function createInventoryLoaders(repository: InventoryRepository, reservations: ReservationService, grant: LocationGrant): InventoryLoaders {
  const stockLevelKey = (key: StockLevelKey) => `${key.sku}\u0000${key.locationId}`;
  return {
    itemBySku: new DataLoader(async (skus) => indexBy(skus, await repository.itemsBySku(skus), (item) => item.sku)),
    locationById: new DataLoader(async (ids) => indexBy(ids, await repository.locationsById(ids), (location) => location.id)),
    subinventoriesByLocationId: new DataLoader(async (ids) =>
      groupBy(ids, await repository.subinventoriesByLocation(ids), (subinventory) => subinventory.locationId),
    ),
    stockLevelsBySku: new DataLoader(async (skus) => groupBy(skus, await repository.stockLevelsBySku(skus, grant), (level) => level.sku)),
    stockLevelByKey: new DataLoader(
      async (keys) => {
        const granted = keys.filter((key) => grantsLocation(grant, key.locationId));
        return indexBy(keys.map(stockLevelKey), granted.length ? await repository.stockLevelsByKey(granted) : [], stockLevelKey);
      },
      { cacheKeyFn: stockLevelKey },
    ),
    reservationById: new DataLoader(async (ids) => indexBy(ids, await reservations.byIds(ids, grant), (reservation) => reservation.id)),
  };
}
