-- AlterTable
ALTER TABLE "stock_level" ADD COLUMN "available" INTEGER,
ADD COLUMN "figures_valid_until" TIMESTAMPTZ(3),
ADD COLUMN "inbound_expected_at" TIMESTAMPTZ(3),
ADD COLUMN "inbound_in_transit" INTEGER,
ADD COLUMN "inbound_supply" JSONB,
ADD COLUMN "wms_reported_at" TIMESTAMPTZ(3);

-- CreateIndex
CREATE INDEX "stock_level_figures_valid_until_idx" ON "stock_level"("figures_valid_until");
