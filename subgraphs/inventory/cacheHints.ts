import type { StockCacheHints } from '../../platform/graphql/entityCacheHints.ts';
import type { PromiseFiguresSnapshot, StockLevelRecord } from './data/inventoryRepository.ts';
import { nextLotExpiry } from './domain/stockLevelSummary.ts';
import { turnsStaleAt } from './domain/stockProvenance.ts';

/**
 * The fields whose values change only with a stock level's change event (inventory.stockLevel.changed,
 * which the gateway's entity cache is invalidated by) or with the clock, which the resolvers
 * report (StockCacheHints.changesAt): a query selecting nothing else may be answered from the
 * gateway's cache. Items are catalogue data, loaded with the catalogue and never changed by the
 * service (which is why `Item` carries `@cacheFor`). Left out: what other events or no event
 * change (locations, reservations, transfers, lots and positions, bucket stamps, the safety
 * stock's origin, which a setSafetyStock to the same quantity changes without a stock change).
 */
export const COVERED_BY_STOCK_CHANGES: ReadonlySet<string> = new Set([
  'Query.item', 'Query.stockLevel', 'Query.availability', 'Query._entities',
  ...['sku', 'description', 'unitOfMeasure', 'lotControlled', 'serialControlled', 'itemClass', 'stockLevels'].map((field) => `Item.${field}`),
  ...[
    'sku', 'locationId', 'item', 'onHandWms', 'onHandErp', 'onHandNonNettable', 'allocated', 'reserved', 'inboundInTransit', 'qualityHold', 'damaged',
    'safetyStock', 'available', 'expired', 'inboundExpectedAt', 'asOf', 'wmsReportedAt', 'erpReportedAt', 'stale', 'sources',
  ].map((field) => `StockLevel.${field}`),
  'SourceFreshness.source', 'SourceFreshness.lastReportedAt', 'SourceFreshness.stale',
  'Availability.asOf', 'Availability.items',
  ...['sku', 'item', 'available', 'inboundInTransit', 'earliestPromiseDate', 'locations', 'sources', 'stale'].map((field) => `ItemAvailability.${field}`),
  ...['locationId', 'available', 'inboundInTransit', 'inboundExpectedAt', 'sources', 'stale'].map((field) => `LocationAvailability.${field}`),
]);

/** Reports when `levels` change by the clock alone: a source going quiet (stale, sources), a lot expiring (available, expired). */
export function reportStockLevelsClock(hints: StockCacheHints, levels: Iterable<StockLevelRecord>, staleAfterMs: number): void {
  for (const level of levels) {
    const staleAt = turnsStaleAt(level.sourceReports, level.readAt, staleAfterMs);
    if (staleAt !== null) hints.changesAt(staleAt, level.readAt);
    const expiry = nextLotExpiry(level.positions, level.readAt);
    if (expiry) hints.changesAt(expiry, level.readAt);
  }
}

/**
 * Reports what an availability answer from `snapshot` rests on: the levels of `skus` at
 * `locationIds` (every location of theirs when null), and when its figures change by the clock
 * alone (a source going quiet, a lot expiring, inbound stock falling due, which moves
 * `earliestPromiseDate`).
 */
export function reportAvailabilityRead(hints: StockCacheHints, skus: readonly string[], locationIds: readonly string[] | undefined, snapshot: PromiseFiguresSnapshot, staleAfterMs: number): void {
  for (const sku of skus) {
    if (locationIds) for (const locationId of locationIds) hints.readStockLevel(sku, locationId);
    else hints.readEveryLevelOf(sku);
  }
  const { readAt } = snapshot;
  for (const levels of snapshot.levelsBySku.values()) {
    for (const level of levels) {
      const staleAt = turnsStaleAt(level.sourceReports, readAt, staleAfterMs);
      if (staleAt !== null) hints.changesAt(staleAt, readAt);
      if (level.holdsUntil) hints.changesAt(level.holdsUntil, readAt);
      for (const supply of level.inboundSupply) hints.changesAt(supply.expectedAt, readAt);
    }
  }
}
