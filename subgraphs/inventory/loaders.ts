import DataLoader from 'dataloader';
import type { InventoryRepository, Item, Location, StockLevelKey, StockLevelRecord, Subinventory } from './data/inventoryRepository.ts';
import type { ReservationRecord, ReservationService } from './services/reservationService.ts';
import { groupBy, indexBy } from '../../platform/graphql/batching.ts';
import type { StockCacheHints } from '../../platform/graphql/entityCacheHints.ts';
import { grantsLocation, type LocationGrant } from '../../platform/lang/locationGrant.ts';
import { reportStockLevelsClock } from './cacheHints.ts';

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
 * caller's grant limits what it sees of stock, and where the request's `hints` learn when the
 * levels read change by the clock alone (`staleAfterMs`: see InventorySettings), and for a level
 * read by its key that its answer rests on it (for the gateway's entity cache).
 */
export function createInventoryLoaders(
  repository: InventoryRepository,
  reservations: ReservationService,
  grant: LocationGrant,
  { hints, staleAfterMs }: { hints: StockCacheHints; staleAfterMs: number },
): InventoryLoaders {
  const stockLevelKey = (key: StockLevelKey) => `${key.sku}\u0000${key.locationId}`;
  return {
    itemBySku: new DataLoader(async (skus) => indexBy(skus, await repository.itemsBySku(skus), (item) => item.sku)),
    locationById: new DataLoader(async (ids) => indexBy(ids, await repository.locationsById(ids), (location) => location.id)),
    subinventoriesByLocationId: new DataLoader(async (ids) =>
      groupBy(ids, await repository.subinventoriesByLocation(ids), (subinventory) => subinventory.locationId),
    ),
    // Its levels are tagged by the field that loads them (Item.stockLevels), which knows which it answers with.
    stockLevelsBySku: new DataLoader(async (skus) => {
      const levels = await repository.stockLevelsBySku(skus, grant);
      reportStockLevelsClock(hints, levels, staleAfterMs);
      return groupBy(skus, levels, (level) => level.sku);
    }),
    stockLevelByKey: new DataLoader(
      async (keys) => {
        // Every key, granted or not, and found or not: a level made later announces itself by a change of its key.
        for (const key of keys) hints.readStockLevel(key.sku, key.locationId);
        const granted = keys.filter((key) => grantsLocation(grant, key.locationId));
        const levels = granted.length ? await repository.stockLevelsByKey(granted) : [];
        reportStockLevelsClock(hints, levels, staleAfterMs);
        return indexBy(keys.map(stockLevelKey), levels, stockLevelKey);
      },
      { cacheKeyFn: stockLevelKey },
    ),
    reservationById: new DataLoader(async (ids) => indexBy(ids, await reservations.byIds(ids, grant), (reservation) => reservation.id)),
  };
}
