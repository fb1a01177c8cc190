import type { Database } from '../platform/database/database.ts';
import { resumAllDuePromiseFigures } from '../subgraphs/inventory/services/promiseFigures.ts';

export interface SeedOptions {
  /** Number of SKUs; each is stocked at all 12 distribution centres. */
  readonly skuCount?: number;
}

/** The SKU the demo data guarantees lots of stock and a variance for at DEMO_LOCATION_ID (and, with seedDemoOrders, open orders). */
export const DEMO_SKU = 'SKU-00001';
export const DEMO_LOCATION_ID = 'DC-01';

/** A bucket's stamp (see StockLevel.bucketChanges) by `source` at the instant in `column`. */
const stampSql = (source: string, column: string) =>
  `jsonb_build_object('source', '${source}', 'at', to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))`;

const CITIES = ['Atlanta', 'Chicago', 'Dallas', 'Denver', 'Los Angeles', 'Memphis', 'Newark', 'Phoenix', 'Reno', 'Seattle', 'Columbus', 'Harrisburg'];

/**
 * Loads realistic demo data when the database holds no items: 12 distribution centres with
 * STOCK (nettable), QA, DAMAGED and RETURNS subinventories; `skuCount` SKUs (every 10th
 * lot-controlled with two lots, one expired; every 25th serial-controlled; in item classes A, B
 * and C); stock positions as both the WMS and the ERP see them (about 1 in 12 disagree), and
 * reconciliation's copy of them.
 * Deterministic: the same options give the same data. Returns false when there was data already.
 * Orders, sync transactions, reconciliation runs and discrepancies are not laid down here: the
 * running services make them (system/demoOrders.ts and demoReconciliation.ts, through the API).
 *
 * Set-based SQL rather than Prisma calls: 60,000 positions load in about a second this way;
 * the stock levels' promise figures are then summed by the inventory's own code.
 */
export async function seedDemoData(db: Database, options: SeedOptions = {}): Promise<boolean> {
  if (!(await layDownDemoData(db, options))) return false;
  await sumDemoPromiseFigures(db);
  return true;
}

/**
 * seedDemoData's first step: the data laid down by SQL, its stock levels without promise
 * figures (reads sum their positions until sumDemoPromiseFigures has run). For a caller with
 * other work to do meanwhile, as `npm start` starts the services. Returns false when there was
 * data already.
 */
export async function layDownDemoData(db: Database, { skuCount = 5_000 }: SeedOptions = {}): Promise<boolean> {
  if ((await db.prisma.item.count()) > 0) return false;
  const cities = `ARRAY[${CITIES.map((city) => `'${city}'`).join(', ')}]`;
  await db.runScript(`
BEGIN;
INSERT INTO location (id, name, kind)
SELECT 'DC-' || lpad(n::text, 2, '0'), (${cities})[n] || ' Distribution Centre', 'DISTRIBUTION_CENTER'
  FROM generate_series(1, 12) AS n;

INSERT INTO subinventory (location_id, code, nettable)
SELECT location.id, sub.code, sub.nettable
  FROM location
 CROSS JOIN (VALUES ('STOCK', true), ('QA', false), ('DAMAGED', false), ('RETURNS', false)) AS sub(code, nettable);

-- Item classes by ABC analysis: about a fifth A, three tenths B, the rest C.
INSERT INTO item (sku, description, unit_of_measure, lot_controlled, serial_controlled, item_class)
SELECT 'SKU-' || lpad(n::text, 5, '0'),
       (ARRAY['Cordless drill', 'Safety gloves', 'LED panel', 'Coffee beans 1kg', 'Vitamin C tablets', 'Laptop stand', 'Garden hose', 'Printer toner'])[1 + n % 8] || ' #' || n,
       (ARRAY['EA', 'EA', 'EA', 'CS', 'KG'])[1 + n % 5],
       n % 10 = 0,
       n % 25 = 0 AND n % 10 <> 0,
       CASE WHEN n % 10 < 2 THEN 'A' WHEN n % 10 < 5 THEN 'B' ELSE 'C' END
  FROM generate_series(1, ${skuCount}) AS n;

INSERT INTO lot (sku, lot, expires_at)
SELECT item.sku, item.sku || suffix.lot, now() + suffix.shelf_life
  FROM item
 CROSS JOIN (VALUES ('-A', interval '180 days'), ('-B', interval '-10 days')) AS suffix(lot, shelf_life)
 WHERE item.lot_controlled;

-- In key order, so that the rows of one SKU share pages as they would after real use.
CREATE TEMP TABLE seed_pair ON COMMIT DROP AS
SELECT item.sku, location.id AS location_id, item.lot_controlled,
       abs(hashtext(item.sku || '@' || location.id)) AS h
  FROM item CROSS JOIN location
 ORDER BY item.sku, location.id;

-- The instants the demo's sources reported at, one a second over the last hour (to the
-- millisecond, as the columns keep them), and a STOCK position's stamps for each: made once
-- per instant rather than once per position. The WMS reported within the last 10 minutes.
CREATE TEMP TABLE seed_clock ON COMMIT DROP AS
SELECT seconds_ago, reported.wms_at, reported.erp_at,
       jsonb_build_object('onHandWms', stamp.wms, 'onHandErp', stamp.erp, 'allocated', stamp.wms,
                          'inboundInTransit', stamp.wms, 'qualityHold', stamp.wms) AS stock_changes
  FROM generate_series(0, 3599) AS seconds_ago
 CROSS JOIN LATERAL (SELECT date_trunc('milliseconds', now() - ((seconds_ago % 600) * interval '1 second')) AS wms_at,
                            date_trunc('milliseconds', now() - (seconds_ago * interval '1 second')) AS erp_at) AS reported
 CROSS JOIN LATERAL (SELECT ${stampSql('demo-wms', 'reported.wms_at')} AS wms, ${stampSql('erp', 'reported.erp_at')} AS erp) AS stamp;

-- STOCK positions: one per pair, or one per lot for lot-controlled items. The demo WMS reported
-- every bucket but the ERP's on hand, which the ERP did.
INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, on_hand_erp, allocated,
                            inbound_in_transit, inbound_expected_at, quality_hold, wms_updated_at, erp_updated_at, bucket_changes)
SELECT pair.sku, pair.location_id, 'STOCK', pair.lot,
       stock.on_hand,
       CASE WHEN pair.h % 12 = 0 OR pair.sku = '${DEMO_SKU}' THEN greatest(0, stock.on_hand - 3 - (pair.h / 7) % 80) ELSE stock.on_hand END,
       (pair.h / 11) % 10,
       CASE WHEN pair.h % 9 = 0 THEN (pair.h / 13) % 100 ELSE 0 END,
       CASE WHEN pair.h % 9 = 0 THEN date_trunc('hour', now()) + (1 + pair.h % 10) * interval '1 day' END,
       CASE WHEN pair.h % 17 = 0 THEN (pair.h / 17) % 5 ELSE 0 END,
       clock.wms_at, clock.erp_at, clock.stock_changes
  FROM (SELECT seed_pair.sku, seed_pair.location_id, seed_pair.h, COALESCE(lot.lot, '') AS lot
          FROM seed_pair LEFT JOIN lot ON seed_pair.lot_controlled AND lot.sku = seed_pair.sku) AS pair
  JOIN seed_clock AS clock ON clock.seconds_ago = pair.h % 3600
 CROSS JOIN LATERAL (SELECT 20 + (pair.h / 3) % 480 + CASE WHEN pair.sku = '${DEMO_SKU}' THEN 1000 ELSE 0 END AS on_hand) AS stock
 ORDER BY pair.sku, pair.location_id, pair.lot;

-- QA positions for about 1 pair in 20 (non-lot items): stock back from returns awaiting inspection.
INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, on_hand_erp, wms_updated_at, erp_updated_at, bucket_changes)
SELECT sku, location_id, 'QA', '', 1 + h % 6, 1 + h % 6, reported.at, reported.at,
       jsonb_build_object('onHandWms', ${stampSql('demo-wms', 'reported.at')}, 'onHandErp', ${stampSql('erp', 'reported.at')})
  FROM seed_pair CROSS JOIN (SELECT date_trunc('milliseconds', now()) AS at) AS reported
 WHERE h % 20 = 0 AND NOT lot_controlled;

-- DAMAGED positions for about 1 pair in 23 (of the unexpired lot, for lot-controlled items): units found damaged, never promised.
INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, on_hand_erp, wms_updated_at, erp_updated_at, bucket_changes)
SELECT pair.sku, pair.location_id, 'DAMAGED', COALESCE(lot.lot, ''), 1 + (pair.h / 23) % 3, 1 + (pair.h / 23) % 3, reported.at, reported.at,
       jsonb_build_object('onHandWms', ${stampSql('demo-wms', 'reported.at')}, 'onHandErp', ${stampSql('erp', 'reported.at')})
  FROM seed_pair AS pair
  LEFT JOIN lot ON pair.lot_controlled AND lot.sku = pair.sku AND lot.lot = pair.sku || '-A'
 CROSS JOIN (SELECT date_trunc('milliseconds', now()) AS at) AS reported
 WHERE pair.h % 23 = 0;

-- Safety stock set for 4 levels in 5, as a planner's upload would; the others follow the
-- configured defaults (SAFETY_STOCK_DEFAULTS), which the inventory service applies as it starts.
-- The demo WMS is the one source of what can be promised (see stock_level.source_reports).
INSERT INTO stock_level (sku, location_id, safety_stock, safety_stock_explicit, bucket_changes, source_reports, updated_at)
SELECT pair.sku, pair.location_id, pair.h % 5, pair.h % 5 <> 0,
       jsonb_build_object('onHandWms', ${stampSql('demo-wms', 'p.wms_at')}, 'onHandErp', ${stampSql('erp', 'p.erp_at')}),
       jsonb_build_object('demo-wms', (extract(epoch FROM p.wms_at) * 1000)::bigint),
       greatest(p.wms_at, p.erp_at)
  FROM seed_pair AS pair
  JOIN (SELECT sku, location_id, max(wms_updated_at) AS wms_at, max(erp_updated_at) AS erp_at
          FROM stock_position GROUP BY sku, location_id) AS p USING (sku, location_id)
 ORDER BY pair.sku, pair.location_id;

-- Reconciliation's copy of nettable WMS and ERP on hand, as its consumer of inventory's stock
-- changes keeps it: stock laid down here arrives through no event, so its copy is laid down too.
INSERT INTO reconciliation_position (sku, location_id, wms_on_hand, erp_on_hand, erp_reported_at, sequence)
SELECT p.sku, p.location_id, sum(p.on_hand_wms)::int, sum(p.on_hand_erp)::int, max(p.erp_updated_at), 0
  FROM stock_position p JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
 WHERE s.nettable
 GROUP BY p.sku, p.location_id
 ORDER BY p.sku, p.location_id;

COMMIT;
-- Fresh tables have no statistics; without them the planner picks slow plans for the first queries.
ANALYZE;
`);
  return true;
}

/**
 * seedDemoData's second step: the promise figures of the levels laid down, summed by the
 * inventory's own code. The service would sum them in the background, but demo data should be
 * read as the ledger keeps it. Summing rewrites every level once: the vacuum clears the old
 * versions, as autovacuum would in time (PGlite has none).
 */
export async function sumDemoPromiseFigures(db: Database): Promise<void> {
  await resumAllDuePromiseFigures(db.prisma);
  await db.runScript('VACUUM ANALYZE stock_level');
}
