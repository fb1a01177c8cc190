-- One outbox for every producer's events, one cursor table and one refusal table for every
-- consumer, and leases for the background jobs that run on one replica at a time. The stock
-- changes recorded so far move into the outbox with their ids (StockChange.id) and publication
-- state; their payload is the inventory.stockLevel.changed contract's.

-- CreateTable
CREATE TABLE "event_outbox" (
    "id" BIGSERIAL NOT NULL,
    "producer" TEXT NOT NULL,
    "stream" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "sequence" BIGINT NOT NULL,
    "payload" JSONB NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "event_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "event_consumer_cursor" (
    "consumer" TEXT NOT NULL,
    "stream" TEXT NOT NULL,
    "cursor" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "event_consumer_cursor_pkey" PRIMARY KEY ("consumer","stream")
);

-- CreateTable
CREATE TABLE "refused_event" (
    "id" BIGSERIAL NOT NULL,
    "consumer" TEXT NOT NULL,
    "stream" TEXT NOT NULL,
    "cursor" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "refused_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "refused_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_lease" (
    "job" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "last_run_at" TIMESTAMPTZ(3),

    CONSTRAINT "job_lease_pkey" PRIMARY KEY ("job")
);

-- Move the stock changes. Keys are JSON arrays [sku, locationId], as stockLevelKey writes them.
INSERT INTO "event_outbox" ("id", "producer", "stream", "type", "key", "sequence", "payload", "occurred_at", "published_at")
SELECT id, 'inventory', 'stockgraph:stock-changes', 'inventory.stockLevel.changed',
       '[' || to_json(sku)::text || ',' || to_json(location_id)::text || ']', sequence,
       jsonb_build_object(
         'sku', sku, 'locationId', location_id, 'sequence', sequence,
         'cause', jsonb_build_object('type', cause_type, 'id', cause_id),
         'before', before, 'after', after,
         'occurredAt', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
       occurred_at, published_at
  FROM "stock_change_outbox";
SELECT setval(pg_get_serial_sequence('"event_outbox"', 'id'), max(id)) FROM "event_outbox" HAVING max(id) IS NOT NULL;

-- DropTable
DROP TABLE "stock_change_outbox";

-- CreateIndex
CREATE INDEX "event_outbox_producer_published_at_id_idx" ON "event_outbox"("producer", "published_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "event_outbox_stream_key_sequence_key" ON "event_outbox"("stream", "key", "sequence");

-- CreateIndex
CREATE UNIQUE INDEX "refused_event_consumer_stream_cursor_key" ON "refused_event"("consumer", "stream", "cursor");
