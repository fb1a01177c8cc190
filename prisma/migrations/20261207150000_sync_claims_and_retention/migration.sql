-- A connector's claim of a sync transaction is kept apart from its schedule (next_attempt_at,
-- which a claim and a retry's backoff both set), so that a run's orphan retry can leave a row
-- alone while a connector posts it. The connector prunes SYNCED rows oldest first by synced_at.
ALTER TABLE "sync_transaction" ADD COLUMN "claimed_until" TIMESTAMPTZ(3);

CREATE INDEX "sync_transaction_synced_at_idx" ON "sync_transaction"("synced_at");
