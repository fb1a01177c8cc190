-- Each change of a reservation is an inventory.reservation.changed event, ordered by its version.
-- Reservations made before it start at 1 too: their first event is the next change.
ALTER TABLE "reservation" ADD COLUMN "version" INTEGER NOT NULL DEFAULT 1;

-- The lots a reservation line of a lot-controlled item holds, on their positions.
CREATE TABLE "reservation_line_lot" (
    "reservation_id" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "subinventory" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "lot" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "reservation_line_lot_pkey" PRIMARY KEY ("reservation_id","location_id","subinventory","lot")
);

-- Also what the sweeper looks reservations up by, from the lots that have expired.
CREATE INDEX "reservation_line_lot_sku_lot_idx" ON "reservation_line_lot"("sku", "lot");

ALTER TABLE "reservation_line_lot" ADD CONSTRAINT "reservation_line_lot_reservation_id_location_id_fkey" FOREIGN KEY ("reservation_id", "location_id") REFERENCES "reservation_line"("reservation_id", "location_id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "reservation_line_lot" ADD CONSTRAINT "reservation_line_lot_sku_lot_fkey" FOREIGN KEY ("sku", "lot") REFERENCES "lot"("sku", "lot") ON DELETE RESTRICT ON UPDATE CASCADE;
