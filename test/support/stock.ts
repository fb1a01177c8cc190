// Stock laid out directly in the database, for tests that need exact numbers to start from.
import type { Database } from '../../platform/database/database.ts';
import type { ReservationSettings } from '../../subgraphs/inventory/services/reservationService.ts';

/**
 * Distribution centres that hold nothing yet, each with the subinventories given (by default the
 * demo seed's: STOCK nettable; QA, DAMAGED and RETURNS not).
 */
export async function givenLocations(
  db: Database,
  ids: readonly string[],
  subinventories: Record<string, boolean> = { STOCK: true, QA: false, DAMAGED: false, RETURNS: false },
): Promise<void> {
  await db.query(`INSERT INTO location (id, name, kind) SELECT id, id, 'DISTRIBUTION_CENTER' FROM unnest($1::text[]) AS id`, [ids]);
  await db.query(
    `INSERT INTO subinventory (location_id, code, nettable) SELECT l.id, s.code, s.nettable FROM unnest($1::text[]) AS l(id), unnest($2::text[], $3::boolean[]) AS s(code, nettable)`,
    [ids, Object.keys(subinventories), Object.values(subinventories)],
  );
}

/**
 * A new EA item with `onHand` units in STOCK at each location given, and nothing else. A safety
 * stock given is set for each level (explicit); without one they follow their default, but hold 0
 * whatever the defaults say: plain SQL is not the ledger, which creates levels at their default.
 */
export async function givenStock(
  db: Database,
  sku: string,
  onHandByLocation: Record<string, number>,
  { safetyStock = 0, lotControlled = false, serialControlled = false, itemClass = null }:
    { safetyStock?: number; lotControlled?: boolean; serialControlled?: boolean; itemClass?: string | null } = {},
): Promise<void> {
  const locations = Object.keys(onHandByLocation);
  await db.query(
    `INSERT INTO item (sku, description, unit_of_measure, lot_controlled, serial_controlled, item_class) VALUES ($1, $1, 'EA', $2, $3, $4)`,
    [sku, lotControlled, serialControlled, itemClass],
  );
  await db.query(`INSERT INTO stock_level (sku, location_id, safety_stock, safety_stock_explicit) SELECT $1, unnest($2::text[]), $3, $3 <> 0`, [sku, locations, safetyStock]);
  if (lotControlled) return;
  await db.query(
    `INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, wms_updated_at)
     SELECT $1, location_id, 'STOCK', '', on_hand, now() FROM unnest($2::text[], $3::int[]) AS s(location_id, on_hand)`,
    [sku, locations, Object.values(onHandByLocation)],
  );
}

/**
 * A new lot-controlled EA item with lots expiring as given (null: never), and in STOCK at each
 * location the units of each lot given.
 */
export async function givenLotStock(db: Database, sku: string, expiries: Record<string, Date | null>, onHandByLocation: Record<string, Record<string, number>>): Promise<void> {
  await givenStock(db, sku, Object.fromEntries(Object.keys(onHandByLocation).map((locationId) => [locationId, 0])), { lotControlled: true });
  await db.query(`INSERT INTO lot (sku, lot, expires_at) SELECT $1, * FROM unnest($2::text[], $3::timestamptz[])`,
    [sku, Object.keys(expiries), Object.values(expiries).map((at) => at?.toISOString() ?? null)]);
  const positions = Object.entries(onHandByLocation).flatMap(([locationId, lots]) => Object.entries(lots).map(([lot, onHand]) => ({ locationId, lot, onHand })));
  await db.query(
    `INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, wms_updated_at)
     SELECT $1, location_id, 'STOCK', lot, on_hand, now() FROM unnest($2::text[], $3::text[], $4::int[]) AS s(location_id, lot, on_hand)`,
    [sku, positions.map((p) => p.locationId), positions.map((p) => p.lot), positions.map((p) => p.onHand)],
  );
}

/** Each position of `sku` at `locationId` that holds anything, as `lot: [onHand, reserved, allocated]` ('' for no lot). */
export async function lotBuckets(db: Database, sku: string, locationId: string): Promise<Record<string, [number, number, number]>> {
  const rows = await db.query<{ lot: string; onHand: number; reserved: number; allocated: number }>(
    `SELECT lot, on_hand_wms AS "onHand", reserved, allocated FROM stock_position
      WHERE sku = $1 AND location_id = $2 AND (on_hand_wms, reserved, allocated) <> (0, 0, 0) ORDER BY lot`,
    [sku, locationId],
  );
  return Object.fromEntries(rows.map((row) => [row.lot, [row.onHand, row.reserved, row.allocated]]));
}

/** Available, reserved and allocated of one stock level, summed as the ledger sums them. */
export async function stockOf(db: Database, sku: string, locationId: string): Promise<{ available: number; reserved: number; allocated: number }> {
  const [row] = await db.query<{ available: number; reserved: number; allocated: number }>(
    `SELECT greatest(0, sum(p.on_hand_wms) FILTER (WHERE s.nettable) - sum(p.allocated) - sum(p.reserved)
                        - sum(p.quality_hold) FILTER (WHERE s.nettable) - max(l.safety_stock))::int AS available,
            sum(p.reserved)::int AS reserved, sum(p.allocated)::int AS allocated
       FROM stock_position p
       JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
       JOIN stock_level l ON l.sku = p.sku AND l.location_id = p.location_id
      WHERE p.sku = $1 AND p.location_id = $2`,
    [sku, locationId],
  );
  return row!;
}

/** The settings the inventory service runs reservations with when nothing is configured. */
export const reservationSettings = (): ReservationSettings => ({
  defaultTtlSeconds: 900,
  maxTtlSeconds: 86_400,
  channelLocations: new Map(),
  defaultStrategy: 'most-available',
  strategyByChannel: new Map(),
});

/** The WMS on hand of `skus` at `locationId`, over every subinventory and lot. */
export async function onHandWmsTotal(db: Database, skus: readonly string[], locationId: string): Promise<number> {
  const [row] = await db.query<{ total: number }>(`SELECT coalesce(sum(on_hand_wms), 0)::int AS total FROM stock_position WHERE sku = ANY($1) AND location_id = $2`, [skus, locationId]);
  return row!.total;
}
