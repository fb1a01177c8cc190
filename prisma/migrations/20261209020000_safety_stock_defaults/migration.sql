-- An item's class (an ABC or velocity class, say): configuration keys safety stock defaults by
-- it (SAFETY_STOCK_DEFAULTS). Null: unclassified, so that only rules for any class apply.
ALTER TABLE "item" ADD COLUMN "item_class" TEXT;

-- Whether a stock level's safety stock was set for it (setSafetyStock) or follows the configured
-- default of its location and item class.
ALTER TABLE "stock_level" ADD COLUMN "safety_stock_explicit" BOOLEAN NOT NULL DEFAULT false;

-- Until now only data loads wrote safety stock, and what they set was meant for that level: it
-- stays as set rather than give way to a default.
UPDATE "stock_level" SET "safety_stock_explicit" = true WHERE "safety_stock" <> 0;

-- The defaults themselves, as the inventory service read them from SAFETY_STOCK_DEFAULTS at
-- start: there, and not only in its memory, so that a level the ledger creates (on whichever
-- replica) starts at its default.
CREATE TABLE "safety_stock_default" (
    "location_id" TEXT NOT NULL,
    "item_class" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "safety_stock_default_pkey" PRIMARY KEY ("location_id","item_class")
);
