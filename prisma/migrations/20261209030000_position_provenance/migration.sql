-- Per bucket, the source and time of a position's last change, as stock_level.bucket_changes
-- keeps them for the level: {"onHandWms": {"source": "acme-wms", "at": "2026-..."}}. Written by
-- the stock ledger with every change; positions changed before it was kept have none.
ALTER TABLE "stock_position" ADD COLUMN "bucket_changes" JSONB NOT NULL DEFAULT '{}';

-- Per source, when it last changed one of the level's buckets other than ERP on hand (which
-- availability never uses), in epoch milliseconds: {"acme-wms": 1795455166809}. The sources
-- availability rests on, and whether any of them has gone quiet.
ALTER TABLE "stock_level" ADD COLUMN "source_reports" JSONB NOT NULL DEFAULT '{}';

-- Levels changed before: the sources stamped on their buckets (but ERP on hand), each at its
-- newest stamp.
UPDATE "stock_level" AS level
   SET "source_reports" = reports.by_source
  FROM (SELECT stamped.sku, stamped.location_id, jsonb_object_agg(stamped.source, stamped.at_ms) AS by_source
          FROM (SELECT l.sku, l.location_id, stamp.value->>'source' AS source,
                       (extract(epoch FROM max((stamp.value->>'at')::timestamptz)) * 1000)::bigint AS at_ms
                  FROM "stock_level" l, jsonb_each(l.bucket_changes) AS stamp
                 WHERE stamp.key <> 'onHandErp'
                 GROUP BY l.sku, l.location_id, stamp.value->>'source') AS stamped
         GROUP BY stamped.sku, stamped.location_id) AS reports
 WHERE level.sku = reports.sku AND level.location_id = reports.location_id;

-- The promise figures JSON of bulk availability takes the sources as its sixth element, so that
-- availability says what it rests on with no statement more.
ALTER TABLE "stock_level" DROP COLUMN "promise_figures_json";
ALTER TABLE "stock_level" ADD COLUMN "promise_figures_json" TEXT GENERATED ALWAYS AS (
  '[' || coalesce("available"::text, 'null')
  || ',' || coalesce("inbound_in_transit"::text, 'null')
  || ',' || coalesce(extract(epoch FROM "inbound_expected_at" - timestamptz '1970-01-01 00:00:00+00')::text, 'null')
  || ',' || coalesce(extract(epoch FROM "wms_reported_at" - timestamptz '1970-01-01 00:00:00+00')::text, 'null')
  || ',' || coalesce("inbound_supply"::text, 'null')
  || ',' || "source_reports"::text || ']'
) STORED;
