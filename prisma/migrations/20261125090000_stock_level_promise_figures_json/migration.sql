-- The promise figures packed as one JSON array per level, for bulk availability: a read that
-- builds the JSON itself (or decodes a row of separate columns per level) spends three times as
-- long per level as one that hands over this text. Generated, so every writer (the ledger, the
-- sweeper, plain SQL) keeps it in step; only immutable expressions are allowed here, so instants
-- are epoch seconds taken from an interval rather than from date_part.
ALTER TABLE "stock_level" ADD COLUMN "promise_figures_json" TEXT GENERATED ALWAYS AS (
  '[' || coalesce("available"::text, 'null')
  || ',' || coalesce("inbound_in_transit"::text, 'null')
  || ',' || coalesce(extract(epoch FROM "inbound_expected_at" - timestamptz '1970-01-01 00:00:00+00')::text, 'null')
  || ',' || coalesce(extract(epoch FROM "wms_reported_at" - timestamptz '1970-01-01 00:00:00+00')::text, 'null')
  || ',' || coalesce("inbound_supply"::text, 'null') || ']'
) STORED;
