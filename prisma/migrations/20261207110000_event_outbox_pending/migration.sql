-- Outbox records waiting for their relay move from a published_at column to a table of their
-- own. Marking a record published rewrote it whole (its payload too) and, published_at being
-- indexed, added an entry to each of the outbox's three indexes: per record, a second copy and
-- six index entries. Now the relay deletes its small pending row instead: nothing is rewritten.
CREATE TABLE "event_outbox_pending" (
    "producer" TEXT NOT NULL,
    "id" BIGINT NOT NULL,

    CONSTRAINT "event_outbox_pending_pkey" PRIMARY KEY ("producer","id")
);

INSERT INTO "event_outbox_pending" ("producer", "id")
SELECT "producer", "id" FROM "event_outbox" WHERE "published_at" IS NULL;

DROP INDEX "event_outbox_producer_published_at_id_idx";
ALTER TABLE "event_outbox" DROP COLUMN "published_at";

-- Every record written is pending, whichever statement writes it (producers write theirs as
-- parts of larger statements): one insert per statement, from its transition table.
CREATE FUNCTION "event_outbox_written"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "event_outbox_pending" ("producer", "id") SELECT "producer", "id" FROM written;
  RETURN NULL;
END
$$;

CREATE TRIGGER "event_outbox_pending" AFTER INSERT ON "event_outbox"
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION "event_outbox_written"();
