-- AlterTable
ALTER TABLE "stock_level" ADD COLUMN "bucket_changes" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN "last_count_source" TEXT,
ADD COLUMN "last_count_sequence" BIGINT;

-- AlterTable
ALTER TABLE "stock_position" ADD COLUMN "inbound_expected_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "stock_change_outbox" (
    "id" BIGSERIAL NOT NULL,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "cause_type" TEXT NOT NULL,
    "cause_id" TEXT NOT NULL,
    "before" JSONB NOT NULL,
    "after" JSONB NOT NULL,
    "available_before" INTEGER NOT NULL,
    "available_after" INTEGER NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "stock_change_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "inventory_event" (
    "source" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "type" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "sku" TEXT,
    "outcome" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inventory_event_pkey" PRIMARY KEY ("source","event_id")
);

-- CreateTable
CREATE TABLE "dead_letter" (
    "id" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "event_id" TEXT,
    "code" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "replayed_at" TIMESTAMPTZ(3),

    CONSTRAINT "dead_letter_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "stock_change_outbox_sku_location_id_sequence_key" ON "stock_change_outbox"("sku", "location_id", "sequence");
-- CreateIndex
CREATE INDEX "stock_change_outbox_published_at_id_idx" ON "stock_change_outbox"("published_at", "id");

-- CreateIndex
CREATE INDEX "dead_letter_source_received_at_idx" ON "dead_letter"("source", "received_at");
