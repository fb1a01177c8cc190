-- Damaged stock is the WMS on hand of the DAMAGED subinventory, which the warehouse's own events
-- move units into and out of; the position column that held it apart from on hand (written by
-- nothing but the demo seed) goes. Units it held join the DAMAGED position of their item, location
-- and lot, so that no stock level's damaged changes; a location holding such units without a
-- DAMAGED subinventory gets one (not nettable).
INSERT INTO "subinventory" (location_id, code, nettable)
SELECT DISTINCT location_id, 'DAMAGED', false FROM "stock_position" WHERE damaged > 0
ON CONFLICT DO NOTHING;

INSERT INTO "stock_position" AS position (sku, location_id, subinventory, lot, on_hand_wms, updated_at, wms_updated_at)
SELECT sku, location_id, 'DAMAGED', lot, sum(damaged)::int, now(), now()
  FROM "stock_position" WHERE damaged > 0
 GROUP BY sku, location_id, lot
ON CONFLICT (sku, location_id, subinventory, lot) DO UPDATE
   SET on_hand_wms = position.on_hand_wms + EXCLUDED.on_hand_wms, updated_at = now(), wms_updated_at = now();

-- On hand in DAMAGED is never promised, even where DAMAGED was marked nettable: the stored
-- figures of such levels are due to be summed again.
UPDATE "stock_level" level SET figures_valid_until = now()
  FROM "stock_position" position JOIN "subinventory" sub ON sub.location_id = position.location_id AND sub.code = position.subinventory
 WHERE sub.code = 'DAMAGED' AND sub.nettable AND position.on_hand_wms <> 0
   AND level.sku = position.sku AND level.location_id = position.location_id;

ALTER TABLE "stock_position" DROP COLUMN "damaged";
