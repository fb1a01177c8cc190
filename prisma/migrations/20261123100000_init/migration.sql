-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "LocationKind" AS ENUM ('DISTRIBUTION_CENTER', 'STORE', 'THIRD_PARTY_LOGISTICS');

-- CreateEnum
CREATE TYPE "OrderStatus" AS ENUM ('CREATED', 'RESERVED', 'RELEASED', 'PICKING', 'PACKED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURN_REQUESTED', 'RETURN_RECEIVED', 'RESTOCKED', 'SCRAPPED');

-- CreateEnum
CREATE TYPE "SyncStatus" AS ENUM ('PENDING_SYNC', 'SYNCED', 'SYNC_FAILED');

-- CreateEnum
CREATE TYPE "VarianceTier" AS ENUM ('AUTO_CORRECT', 'REVIEW', 'ALERT');

-- CreateEnum
CREATE TYPE "DiscrepancyStatus" AS ENUM ('OPEN', 'AUTO_CORRECTED', 'RESOLVED');

-- CreateTable
CREATE TABLE "location" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "LocationKind" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "location_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "subinventory" (
    "location_id" TEXT NOT NULL,
    "code" TEXT NOT NULL,
    "nettable" BOOLEAN NOT NULL,

    CONSTRAINT "subinventory_pkey" PRIMARY KEY ("location_id","code")
);

-- CreateTable
CREATE TABLE "item" (
    "sku" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "unit_of_measure" TEXT NOT NULL,
    "lot_controlled" BOOLEAN NOT NULL DEFAULT false,
    "serial_controlled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "item_pkey" PRIMARY KEY ("sku")
);

-- CreateTable
CREATE TABLE "lot" (
    "sku" TEXT NOT NULL,
    "lot" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "lot_pkey" PRIMARY KEY ("sku","lot")
);

-- CreateTable
CREATE TABLE "stock_level" (
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "safety_stock" INTEGER NOT NULL DEFAULT 0,
    "sequence" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stock_level_pkey" PRIMARY KEY ("sku","location_id")
);

-- CreateTable
CREATE TABLE "stock_position" (
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "subinventory" TEXT NOT NULL,
    "lot" TEXT NOT NULL DEFAULT '',
    "on_hand_wms" INTEGER NOT NULL DEFAULT 0,
    "on_hand_erp" INTEGER NOT NULL DEFAULT 0,
    "allocated" INTEGER NOT NULL DEFAULT 0,
    "reserved" INTEGER NOT NULL DEFAULT 0,
    "inbound_in_transit" INTEGER NOT NULL DEFAULT 0,
    "quality_hold" INTEGER NOT NULL DEFAULT 0,
    "damaged" INTEGER NOT NULL DEFAULT 0,
    "wms_updated_at" TIMESTAMPTZ(3),
    "erp_updated_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "stock_position_pkey" PRIMARY KEY ("sku","location_id","subinventory","lot")
);

-- CreateTable
CREATE TABLE "sales_order" (
    "id" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "status" "OrderStatus" NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sales_order_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_line" (
    "order_id" TEXT NOT NULL,
    "line_number" INTEGER NOT NULL,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,

    CONSTRAINT "order_line_pkey" PRIMARY KEY ("order_id","line_number")
);

-- CreateTable
CREATE TABLE "sync_transaction" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "status" "SyncStatus" NOT NULL DEFAULT 'PENDING_SYNC',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "synced_at" TIMESTAMPTZ(3),

    CONSTRAINT "sync_transaction_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "reconciliation_run" (
    "id" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),
    "positions_compared" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "reconciliation_run_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "discrepancy" (
    "id" TEXT NOT NULL,
    "run_id" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "wms_on_hand" INTEGER NOT NULL,
    "erp_on_hand" INTEGER NOT NULL,
    "in_flight" INTEGER NOT NULL,
    "variance" INTEGER NOT NULL,
    "tier" "VarianceTier" NOT NULL,
    "status" "DiscrepancyStatus" NOT NULL DEFAULT 'OPEN',
    "detected_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "discrepancy_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "stock_level_location_id_idx" ON "stock_level"("location_id");

-- CreateIndex
CREATE INDEX "stock_position_location_id_subinventory_idx" ON "stock_position"("location_id", "subinventory");

-- CreateIndex
CREATE UNIQUE INDEX "sales_order_reference_key" ON "sales_order"("reference");

-- CreateIndex
CREATE INDEX "sales_order_status_idx" ON "sales_order"("status");

-- CreateIndex
CREATE INDEX "order_line_sku_idx" ON "order_line"("sku");

-- CreateIndex
CREATE INDEX "sync_transaction_status_created_at_idx" ON "sync_transaction"("status", "created_at");

-- CreateIndex
CREATE INDEX "sync_transaction_sku_location_id_idx" ON "sync_transaction"("sku", "location_id");

-- CreateIndex
CREATE INDEX "reconciliation_run_finished_at_idx" ON "reconciliation_run"("finished_at");

-- CreateIndex
CREATE INDEX "discrepancy_sku_location_id_detected_at_idx" ON "discrepancy"("sku", "location_id", "detected_at");

-- CreateIndex
CREATE INDEX "discrepancy_status_idx" ON "discrepancy"("status");

-- CreateIndex
CREATE UNIQUE INDEX "discrepancy_run_id_sku_location_id_key" ON "discrepancy"("run_id", "sku", "location_id");

-- AddForeignKey
ALTER TABLE "subinventory" ADD CONSTRAINT "subinventory_location_id_fkey" FOREIGN KEY ("location_id") REFERENCES "location"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "lot" ADD CONSTRAINT "lot_sku_fkey" FOREIGN KEY ("sku") REFERENCES "item"("sku") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stock_level" ADD CONSTRAINT "stock_level_sku_fkey" FOREIGN KEY ("sku") REFERENCES "item"("sku") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stock_level" ADD CONSTRAINT "stock_level_location_id_fkey" FOREIGN KEY ("location_id") REFERENCES "location"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stock_position" ADD CONSTRAINT "stock_position_sku_fkey" FOREIGN KEY ("sku") REFERENCES "item"("sku") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stock_position" ADD CONSTRAINT "stock_position_location_id_fkey" FOREIGN KEY ("location_id") REFERENCES "location"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "stock_position" ADD CONSTRAINT "stock_position_location_id_subinventory_fkey" FOREIGN KEY ("location_id", "subinventory") REFERENCES "subinventory"("location_id", "code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_line" ADD CONSTRAINT "order_line_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "sales_order"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "discrepancy" ADD CONSTRAINT "discrepancy_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "reconciliation_run"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
