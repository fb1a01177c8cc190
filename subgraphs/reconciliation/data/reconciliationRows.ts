import { Prisma } from '../../../platform/database/generated/client.ts';
import type {
  Alert, Discrepancy, ReconciliationAudit, ReconciliationHold, ReconciliationRun, ReviewTask, SyncTransaction,
} from '../../../platform/database/generated/client.ts';

// Reconciliation's rows as the Prisma client reads them, and the select lists that read them so
// in plain SQL (RETURNING included), for statements the client cannot write: row locks,
// set-based changes.

export type { Alert, Discrepancy, ReconciliationAudit, ReconciliationHold as Hold, ReconciliationRun, ReviewTask, SyncTransaction };

export const DISCREPANCY_COLUMNS = Prisma.raw(`id, run_id AS "runId", sku, location_id AS "locationId", wms_on_hand AS "wmsOnHand",
  erp_on_hand AS "erpOnHand", in_flight AS "inFlight", variance, tier::text AS tier, status::text AS status, detected_at AS "detectedAt",
  closed_at AS "closedAt", adjustment_id AS "adjustmentId", version`);

export const TASK_COLUMNS = Prisma.raw(`id, kind::text AS kind, status::text AS status, sku, location_id AS "locationId",
  discrepancy_id AS "discrepancyId", sync_transaction_id AS "syncTransactionId", proposed_adjustment AS "proposedAdjustment",
  assignee, version, created_at AS "createdAt", closed_at AS "closedAt"`);

export const ALERT_COLUMNS = Prisma.raw(`id, kind::text AS kind, status::text AS status, sku, location_id AS "locationId",
  discrepancy_id AS "discrepancyId", sync_transaction_id AS "syncTransactionId", message, version, created_at AS "createdAt",
  closed_at AS "closedAt"`);

export const HOLD_COLUMNS = Prisma.raw(`id, status::text AS status, sku, location_id AS "locationId", alert_id AS "alertId",
  discrepancy_id AS "discrepancyId", reason, placed_at AS "placedAt", released_at AS "releasedAt"`);

export const RUN_COLUMNS = Prisma.raw(`id, status::text AS status, location_ids AS "locationIds", requested_by AS "requestedBy",
  started_at AS "startedAt", finished_at AS "finishedAt", lease_expires_at AS "leaseExpiresAt", positions_compared AS "positionsCompared",
  matched, auto_corrected AS "autoCorrected", reviewed, alerted, already_open AS "alreadyOpen", closed_gone AS "closedGone",
  orphans_retried AS "orphansRetried", orphan_tasks AS "orphanTasks", error`);
