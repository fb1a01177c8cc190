-- What each movement did to the WMS on hand of its positions ([{subinventory, lot, change}]),
-- by source sequence: a count that arrives after newer movements of its position adds theirs to
-- what it counted, instead of undoing them. Null for counts, snapshots and movements that leave
-- on hand alone, and for events recorded before this migration.
ALTER TABLE "inventory_event" ADD COLUMN "on_hand_changes" JSONB;

CREATE INDEX "inventory_event_sku_location_id_source_sequence_idx" ON "inventory_event"("sku", "location_id", "source", "sequence");
