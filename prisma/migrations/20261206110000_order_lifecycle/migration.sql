-- Orders that their mutations and the warehouse move (placement, per-line progress, returns, a
-- timeline, confirmations received, release holds, requests to inventory), and inventory's side
-- of an order's stock (holds, allocations, applied return inspections). Orders recorded before
-- get a key of their own, no requested lines, and one transition: the status they had.

-- CreateEnum
CREATE TYPE "OrderStockCommandKind" AS ENUM ('HOLD', 'RELEASE', 'INSPECT');

-- CreateEnum
CREATE TYPE "OrderHoldStatus" AS ENUM ('HELD', 'REFUSED', 'RELEASED');

-- AlterTable
ALTER TABLE "sales_order" ADD COLUMN "idempotency_key" TEXT,
ADD COLUMN "request_hash" TEXT,
ADD COLUMN "requested_lines" JSONB,
ADD COLUMN "version" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "release_requested" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN "cancel_reason" TEXT,
ADD COLUMN "return_reason" TEXT;

UPDATE "sales_order" SET "idempotency_key" = 'recorded-before-placeOrder:' || "id", "request_hash" = '', "requested_lines" = '[]', "version" = 1;

ALTER TABLE "sales_order" ALTER COLUMN "idempotency_key" SET NOT NULL,
ALTER COLUMN "request_hash" SET NOT NULL,
ALTER COLUMN "requested_lines" SET NOT NULL;

-- AlterTable
ALTER TABLE "order_line" ADD COLUMN "requested_line" INTEGER,
ADD COLUMN "reservation_id" TEXT,
ADD COLUMN "picked" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "packed" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "shipped" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "delivered" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "return_requested" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "return_received" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "restocked" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "scrapped" INTEGER NOT NULL DEFAULT 0;

UPDATE "order_line" SET "requested_line" = "line_number";

ALTER TABLE "order_line" ALTER COLUMN "requested_line" SET NOT NULL;

-- DropIndex
DROP INDEX "order_line_sku_idx";

-- CreateTable
CREATE TABLE "order_transition" (
    "order_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "status" "OrderStatus" NOT NULL,
    "previous_status" "OrderStatus",
    "cause_type" TEXT NOT NULL,
    "cause_id" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "order_transition_pkey" PRIMARY KEY ("order_id","version")
);

INSERT INTO "order_transition" ("order_id", "version", "status", "cause_type", "cause_id", "actor", "at")
SELECT "id", 1, "status", 'MUTATION', 'recorded-before-placeOrder', 'stockgraph', "updated_at" FROM "sales_order";

-- CreateTable
CREATE TABLE "warehouse_confirmation" (
    "source" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "order_reference" TEXT NOT NULL,
    "order_id" TEXT,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "warehouse_confirmation_pkey" PRIMARY KEY ("source","event_id")
);

-- CreateTable
CREATE TABLE "order_release_hold" (
    "hold_id" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "placed_at" TIMESTAMPTZ(3) NOT NULL,
    "cleared_at" TIMESTAMPTZ(3),

    CONSTRAINT "order_release_hold_pkey" PRIMARY KEY ("hold_id")
);

-- CreateTable
CREATE TABLE "order_stock_command" (
    "id" TEXT NOT NULL,
    "order_id" TEXT NOT NULL,
    "kind" "OrderStockCommandKind" NOT NULL,
    "payload" JSONB NOT NULL,
    "lease_until" TIMESTAMPTZ(3) NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_stock_command_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "order_stock_hold" (
    "order_id" TEXT NOT NULL,
    "reference" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "status" "OrderHoldStatus" NOT NULL,
    "request_hash" TEXT NOT NULL,
    "refusal" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_stock_hold_pkey" PRIMARY KEY ("order_id")
);

-- CreateTable
CREATE TABLE "order_allocation" (
    "order_id" TEXT NOT NULL,
    "line_number" INTEGER NOT NULL,
    "location_id" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "subinventory" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "picked" INTEGER NOT NULL DEFAULT 0,
    "shipped" INTEGER NOT NULL DEFAULT 0,
    "released" INTEGER NOT NULL DEFAULT 0,
    "reservation_id" TEXT,

    CONSTRAINT "order_allocation_pkey" PRIMARY KEY ("order_id","line_number","location_id")
);

-- CreateTable
CREATE TABLE "order_return_inspection" (
    "inspection_id" TEXT NOT NULL,
    "order_id" TEXT NOT NULL,
    "refusal" JSONB,
    "answered_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_return_inspection_pkey" PRIMARY KEY ("inspection_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "sales_order_idempotency_key_key" ON "sales_order"("idempotency_key");

-- CreateIndex
CREATE INDEX "sales_order_created_at_id_idx" ON "sales_order"("created_at", "id");

-- CreateIndex
CREATE INDEX "sales_order_channel_created_at_idx" ON "sales_order"("channel", "created_at");

-- CreateIndex
CREATE INDEX "order_line_sku_location_id_idx" ON "order_line"("sku", "location_id");

-- CreateIndex
CREATE INDEX "warehouse_confirmation_outcome_received_at_idx" ON "warehouse_confirmation"("outcome", "received_at");

-- CreateIndex
CREATE INDEX "warehouse_confirmation_order_reference_idx" ON "warehouse_confirmation"("order_reference");

-- CreateIndex
CREATE INDEX "order_release_hold_sku_location_id_idx" ON "order_release_hold"("sku", "location_id");

-- CreateIndex
CREATE INDEX "order_stock_command_lease_until_idx" ON "order_stock_command"("lease_until");

-- CreateIndex
CREATE INDEX "order_stock_command_order_id_idx" ON "order_stock_command"("order_id");

-- CreateIndex
CREATE INDEX "order_stock_hold_reference_idx" ON "order_stock_hold"("reference");

-- CreateIndex
CREATE INDEX "order_allocation_sku_location_id_idx" ON "order_allocation"("sku", "location_id");

-- AddForeignKey
ALTER TABLE "order_transition" ADD CONSTRAINT "order_transition_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "sales_order"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_stock_command" ADD CONSTRAINT "order_stock_command_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "sales_order"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "order_allocation" ADD CONSTRAINT "order_allocation_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "order_stock_hold"("order_id") ON DELETE CASCADE ON UPDATE CASCADE;
