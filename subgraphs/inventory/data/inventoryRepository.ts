import type { PrismaClient } from '../../../platform/database/database.ts';
import { Prisma, type DeadLetter, type Item, type Location, type Subinventory } from '../../../platform/database/generated/client.ts';
import { newestFirstAfter, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';

export type { DeadLetter, Item, Location, Subinventory };

/** One item x location with its positions summed (see StockLevel in schema.graphql). */
export interface StockLevelRecord {
  readonly sku: string;
  readonly locationId: string;
  readonly onHandWms: number;
  readonly onHandErp: number;
  readonly onHandNonNettable: number;
  readonly allocated: number;
  readonly reserved: number;
  readonly inboundInTransit: number;
  readonly qualityHold: number;
  readonly damaged: number;
  readonly safetyStock: number;
  readonly asOf: Date;
}

export interface StockLevelKey {
  readonly sku: string;
  readonly locationId: string;
}

/** Read access to the inventory tables. Every method is one SQL statement, whatever its input size. */
export class InventoryRepository {
  constructor(private readonly prisma: PrismaClient) {}

  itemsBySku(skus: readonly string[]): Promise<Item[]> {
    return this.prisma.item.findMany({ where: { sku: { in: [...skus] } } });
  }

  /** Up to `take` items after `afterSku`, in SKU order. */
  itemPage(take: number, afterSku: string | undefined): Promise<Item[]> {
    return this.prisma.item.findMany({
      where: afterSku === undefined ? {} : { sku: { gt: afterSku } },
      orderBy: { sku: 'asc' },
      take,
    });
  }

  locationsById(ids: readonly string[]): Promise<Location[]> {
    return this.prisma.location.findMany({ where: { id: { in: [...ids] } } });
  }

  allLocations(): Promise<Location[]> {
    return this.prisma.location.findMany({ orderBy: { id: 'asc' } });
  }

  subinventoriesByLocation(locationIds: readonly string[]): Promise<Subinventory[]> {
    return this.prisma.subinventory.findMany({
      where: { locationId: { in: [...locationIds] } },
      orderBy: [{ locationId: 'asc' }, { code: 'asc' }],
    });
  }

  deadLettersById(ids: readonly string[]): Promise<DeadLetter[]> {
    return this.prisma.deadLetter.findMany({ where: { id: { in: [...ids] } } });
  }

  /** Up to `take` dead letters after `after`, newest first. */
  deadLetterPage(filter: { source?: string | null; includeReplayed: boolean }, take: number, after: NewestFirstPosition | undefined): Promise<DeadLetter[]> {
    return this.prisma.deadLetter.findMany({
      where: {
        ...(filter.source ? { source: filter.source } : {}),
        ...(filter.includeReplayed ? {} : { replayedAt: null }),
        ...newestFirstAfter('receivedAt', after),
      },
      orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  stockLevelsBySku(skus: readonly string[]): Promise<StockLevelRecord[]> {
    return this.stockLevels(Prisma.sql`level.sku = ANY(${[...skus]}::text[])`);
  }

  stockLevelsByKey(keys: readonly StockLevelKey[]): Promise<StockLevelRecord[]> {
    const skus = keys.map((key) => key.sku);
    const locationIds = keys.map((key) => key.locationId);
    return this.stockLevels(
      Prisma.sql`(level.sku, level.location_id) IN (SELECT * FROM unnest(${skus}::text[], ${locationIds}::text[]))`,
    );
  }

  private stockLevels(where: Prisma.Sql): Promise<StockLevelRecord[]> {
    return this.prisma.$queryRaw<StockLevelRecord[]>`
      SELECT level.sku,
             level.location_id AS "locationId",
             COALESCE(SUM(p.on_hand_wms) FILTER (WHERE s.nettable), 0)::int AS "onHandWms",
             COALESCE(SUM(p.on_hand_erp) FILTER (WHERE s.nettable), 0)::int AS "onHandErp",
             COALESCE(SUM(p.on_hand_wms) FILTER (WHERE NOT s.nettable), 0)::int AS "onHandNonNettable",
             COALESCE(SUM(p.allocated), 0)::int AS allocated,
             COALESCE(SUM(p.reserved), 0)::int AS reserved,
             COALESCE(SUM(p.inbound_in_transit), 0)::int AS "inboundInTransit",
             COALESCE(SUM(p.quality_hold) FILTER (WHERE s.nettable), 0)::int AS "qualityHold",
             COALESCE(SUM(p.damaged), 0)::int AS damaged,
             level.safety_stock AS "safetyStock",
             GREATEST(level.updated_at, MAX(p.updated_at)) AS "asOf"
        FROM stock_level level
        LEFT JOIN stock_position p ON p.sku = level.sku AND p.location_id = level.location_id
        LEFT JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
       WHERE ${where}
       GROUP BY level.sku, level.location_id
       ORDER BY level.sku, level.location_id`;
  }
}
