import type { Prisma } from '../../../platform/database/generated/client.ts';

/** What the catalogue says of the SKUs and locations a request names. */
export interface StockCatalogue {
  /** Each SKU asked about that exists, with the locations that stock it (have a stock level of it), in location id order. */
  readonly stockedBySku: ReadonlyMap<string, ReadonlySet<string>>;
  /** The SKUs asked about that are lot-controlled. */
  readonly lotControlled: ReadonlySet<string>;
  /** Each location asked about that exists, with its subinventories (whether each is nettable, by code). */
  readonly subinventoriesByLocation: ReadonlyMap<string, ReadonlyMap<string, boolean>>;
}

/** Reads the catalogue entries of `skus` and `locationIds`, in one statement. */
export async function readStockCatalogue(tx: Prisma.TransactionClient, skus: readonly string[], locationIds: readonly string[]): Promise<StockCatalogue> {
  // An item's rows carry whether it is lot-controlled; a location's, each subinventory's nettable flag.
  const rows = await tx.$queryRaw<{ sku: string | null; locationId: string | null; subinventory: string | null; flag: boolean | null }[]>`
    SELECT item.sku, level.location_id AS "locationId", NULL AS subinventory, item.lot_controlled AS flag
      FROM item LEFT JOIN stock_level level ON level.sku = item.sku
     WHERE item.sku = ANY(${[...new Set(skus)]}::text[])
    UNION ALL
    SELECT NULL, location.id, sub.code, sub.nettable
      FROM location LEFT JOIN subinventory sub ON sub.location_id = location.id
     WHERE location.id = ANY(${[...new Set(locationIds)]}::text[])
     ORDER BY 1, 2, 3`;
  const stockedBySku = new Map<string, Set<string>>();
  const lotControlled = new Set<string>();
  const subinventoriesByLocation = new Map<string, Map<string, boolean>>();
  for (const { sku, locationId, subinventory, flag } of rows) {
    if (sku === null) {
      if (!subinventoriesByLocation.has(locationId!)) subinventoriesByLocation.set(locationId!, new Map());
      if (subinventory !== null) subinventoriesByLocation.get(locationId!)!.set(subinventory, flag!);
    } else {
      if (!stockedBySku.has(sku)) stockedBySku.set(sku, new Set());
      if (locationId !== null) stockedBySku.get(sku)!.add(locationId);
      if (flag) lotControlled.add(sku);
    }
  }
  return { stockedBySku, lotControlled, subinventoriesByLocation };
}
