-- A cycle count counts one position, a location snapshot every position of the item at the
-- location. Each supersedes, among its source's changes that arrive late (older by sequence),
-- only their changes to the WMS on hand of what it counted; so the position keeps its last
-- cycle count and the level its last snapshot. Until now the level kept both, and a cycle count
-- superseded every late change of the level: a late hold, pick or receipt into another
-- subinventory was dropped.
ALTER TABLE "stock_position" ADD COLUMN "last_count_source" TEXT, ADD COLUMN "last_count_sequence" BIGINT;
ALTER TABLE "stock_level" RENAME COLUMN "last_count_source" TO "last_snapshot_source";
ALTER TABLE "stock_level" RENAME COLUMN "last_count_sequence" TO "last_snapshot_sequence";

-- A level whose last count was a cycle count did not record which position it counted: each of
-- its positions takes the count over, and the level forgets it.
WITH cycle_counted AS (
  SELECT level.sku, level.location_id, level.last_snapshot_source AS source, level.last_snapshot_sequence AS sequence
    FROM "stock_level" level
    JOIN "inventory_event" event
      ON event.source = level.last_snapshot_source AND event.sequence = level.last_snapshot_sequence
     AND event.sku = level.sku AND event.location_id = level.location_id AND event.type = 'CYCLE_COUNT'
     AND event.outcome = 'APPLIED'
), counted_positions AS (
  UPDATE "stock_position" position SET last_count_source = counted.source, last_count_sequence = counted.sequence
    FROM cycle_counted counted
   WHERE position.sku = counted.sku AND position.location_id = counted.location_id
)
UPDATE "stock_level" level SET last_snapshot_source = NULL, last_snapshot_sequence = NULL
  FROM cycle_counted counted
 WHERE level.sku = counted.sku AND level.location_id = counted.location_id;
