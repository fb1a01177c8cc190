-- The ERP sync ledger and continuous reconciliation. sync_transaction, reconciliation_run and
-- discrepancy held only rows the demo seed wrote by hand (no code produced them); they are
-- built again with what the ledger and the runs keep. erp_serial_batch, inventory's own queue
-- of transfer serials for the ERP, becomes part of the ledger: its pending batches are carried
-- over as sync transactions, posted as they would have been.
CREATE TYPE "ReconciliationRunStatus" AS ENUM ('RUNNING', 'COMPLETED', 'FAILED');
CREATE TYPE "ReviewTaskKind" AS ENUM ('VARIANCE', 'ORPHANED_TRANSACTION');
CREATE TYPE "ReviewTaskStatus" AS ENUM ('OPEN', 'APPROVED', 'REJECTED', 'CANCELLED');
CREATE TYPE "AlertKind" AS ENUM ('VARIANCE', 'SYNC_FAILED');
CREATE TYPE "AlertStatus" AS ENUM ('OPEN', 'ACKNOWLEDGED', 'RESOLVED');
CREATE TYPE "HoldStatus" AS ENUM ('ACTIVE', 'RELEASED');

DROP TABLE "discrepancy";
DROP TABLE "reconciliation_run";
DROP TABLE "sync_transaction";

CREATE TABLE "sync_transaction" (
    "id" TEXT NOT NULL,
    "transaction_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "subinventory" TEXT NOT NULL,
    "lot" TEXT NOT NULL DEFAULT '',
    "quantity" INTEGER NOT NULL,
    "erp_quantity" INTEGER NOT NULL,
    "unit_of_measure" TEXT NOT NULL,
    "transfer_subinventory" TEXT,
    "counterpart_location_id" TEXT,
    "serials" TEXT[],
    "status" "SyncStatus" NOT NULL DEFAULT 'PENDING_SYNC',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_error" TEXT,
    "erp_transaction_id" TEXT,
    "failures" INTEGER NOT NULL DEFAULT 0,
    "orphan_retried_at" TIMESTAMPTZ(3),
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "synced_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),

    CONSTRAINT "sync_transaction_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "reconciliation_position" (
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "wms_on_hand" INTEGER NOT NULL,
    "erp_on_hand" INTEGER NOT NULL,
    "erp_reported_at" TIMESTAMPTZ(3),
    "sequence" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reconciliation_position_pkey" PRIMARY KEY ("sku","location_id")
);

CREATE TABLE "reconciliation_run" (
    "id" TEXT NOT NULL,
    "status" "ReconciliationRunStatus" NOT NULL DEFAULT 'RUNNING',
    "location_ids" TEXT[],
    "requested_by" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),
    "lease_expires_at" TIMESTAMPTZ(3) NOT NULL,
    "positions_compared" INTEGER NOT NULL DEFAULT 0,
    "matched" INTEGER NOT NULL DEFAULT 0,
    "auto_corrected" INTEGER NOT NULL DEFAULT 0,
    "reviewed" INTEGER NOT NULL DEFAULT 0,
    "alerted" INTEGER NOT NULL DEFAULT 0,
    "already_open" INTEGER NOT NULL DEFAULT 0,
    "closed_gone" INTEGER NOT NULL DEFAULT 0,
    "orphans_retried" INTEGER NOT NULL DEFAULT 0,
    "orphan_tasks" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "reconciliation_run_pkey" PRIMARY KEY ("id")
);

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
    "closed_at" TIMESTAMPTZ(3),
    "adjustment_id" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,

    CONSTRAINT "discrepancy_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "review_task" (
    "id" TEXT NOT NULL,
    "kind" "ReviewTaskKind" NOT NULL,
    "status" "ReviewTaskStatus" NOT NULL DEFAULT 'OPEN',
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "discrepancy_id" TEXT,
    "sync_transaction_id" TEXT,
    "proposed_adjustment" INTEGER NOT NULL,
    "assignee" TEXT,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "review_task_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "alert" (
    "id" TEXT NOT NULL,
    "kind" "AlertKind" NOT NULL,
    "status" "AlertStatus" NOT NULL DEFAULT 'OPEN',
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "discrepancy_id" TEXT,
    "sync_transaction_id" TEXT,
    "message" TEXT NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "alert_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "reconciliation_hold" (
    "id" TEXT NOT NULL,
    "status" "HoldStatus" NOT NULL DEFAULT 'ACTIVE',
    "sku" TEXT NOT NULL,
    "location_id" TEXT NOT NULL,
    "alert_id" TEXT NOT NULL,
    "discrepancy_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "placed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),

    CONSTRAINT "reconciliation_hold_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "reconciliation_audit" (
    "id" BIGSERIAL NOT NULL,
    "subject_type" TEXT NOT NULL,
    "subject_id" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "note" TEXT,
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "reconciliation_audit_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "sync_transaction_status_next_attempt_at_idx" ON "sync_transaction"("status", "next_attempt_at");
CREATE INDEX "sync_transaction_sku_location_id_idx" ON "sync_transaction"("sku", "location_id");
CREATE INDEX "sync_transaction_created_at_idx" ON "sync_transaction"("created_at");
CREATE INDEX "sync_transaction_transaction_id_idx" ON "sync_transaction"("transaction_id");
CREATE INDEX "reconciliation_position_location_id_idx" ON "reconciliation_position"("location_id");
CREATE INDEX "reconciliation_run_finished_at_idx" ON "reconciliation_run"("finished_at");
CREATE INDEX "reconciliation_run_status_idx" ON "reconciliation_run"("status");
CREATE INDEX "reconciliation_run_started_at_idx" ON "reconciliation_run"("started_at");
CREATE INDEX "discrepancy_sku_location_id_detected_at_idx" ON "discrepancy"("sku", "location_id", "detected_at");
CREATE INDEX "discrepancy_status_idx" ON "discrepancy"("status");
CREATE INDEX "discrepancy_detected_at_idx" ON "discrepancy"("detected_at");
CREATE UNIQUE INDEX "discrepancy_run_id_sku_location_id_key" ON "discrepancy"("run_id", "sku", "location_id");
CREATE INDEX "review_task_status_created_at_idx" ON "review_task"("status", "created_at");
CREATE INDEX "review_task_sku_location_id_idx" ON "review_task"("sku", "location_id");
CREATE INDEX "review_task_discrepancy_id_idx" ON "review_task"("discrepancy_id");
CREATE INDEX "review_task_created_at_idx" ON "review_task"("created_at");
CREATE INDEX "alert_status_created_at_idx" ON "alert"("status", "created_at");
CREATE INDEX "alert_sku_location_id_idx" ON "alert"("sku", "location_id");
CREATE INDEX "alert_discrepancy_id_idx" ON "alert"("discrepancy_id");
CREATE INDEX "alert_created_at_idx" ON "alert"("created_at");
CREATE INDEX "reconciliation_hold_sku_location_id_status_idx" ON "reconciliation_hold"("sku", "location_id", "status");
CREATE INDEX "reconciliation_hold_status_placed_at_idx" ON "reconciliation_hold"("status", "placed_at");
CREATE INDEX "reconciliation_hold_placed_at_idx" ON "reconciliation_hold"("placed_at");
CREATE INDEX "reconciliation_audit_subject_type_subject_id_at_idx" ON "reconciliation_audit"("subject_type", "subject_id", "at");
ALTER TABLE "discrepancy" ADD CONSTRAINT "discrepancy_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "reconciliation_run"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Pending serial batches go on as sync transactions under their own references, so that the ERP
-- recognises a resend of one it already took; each names the transfer it came from.
-- Their stock moved before the ledger counted anything in flight: they count none.
INSERT INTO "sync_transaction" (id, transaction_id, kind, sku, location_id, subinventory, lot, quantity, erp_quantity, unit_of_measure,
                                transfer_subinventory, counterpart_location_id, serials, attempts, next_attempt_at, last_error, occurred_at, created_at)
SELECT b.reference, 'TRANSFER:' || b.transfer_id || ':SHIP',
       CASE WHEN t.from_location_id = t.to_location_id THEN 'SUBINVENTORY_TRANSFER' ELSE 'TRANSFER_OUT' END,
       t.sku, t.from_location_id, t.from_subinventory, '', 0, -cardinality(b.serials), i.unit_of_measure,
       t.to_subinventory, NULLIF(t.to_location_id, t.from_location_id), b.serials,
       b.attempts, b.next_attempt_at, b.last_error, b.created_at, b.created_at
  FROM "erp_serial_batch" b JOIN "transfer" t ON t.id = b.transfer_id JOIN "item" i ON i.sku = t.sku
 WHERE b.status = 'PENDING';

DROP TABLE "erp_serial_batch";
DROP TYPE "ErpPushStatus";
