import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import { adjustmentIdOf, type AdjustmentRecord, type AlertRecord, type DiscrepancyRecord, type HoldRecord, type ReviewTaskRecord } from '../domain/caseRecords.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { AuditSubject } from '../domain/reconciliationStatus.ts';
import { orphanTask } from '../domain/runPlan.ts';
import {
  ALERT_COLUMNS, DISCREPANCY_COLUMNS, HOLD_COLUMNS, TASK_COLUMNS, type Alert, type Discrepancy, type Hold, type ReviewTask,
} from './reconciliationRows.ts';
import { atGrantedLocation } from './grantFilter.ts';
import { atLocations } from './runComparison.ts';

// Every write to discrepancies, review tasks, alerts, holds and their audit, set-based: a run
// passes thousands of rows, a person's action one. Row locks are taken in one order, the order
// a run changes them in: discrepancy, review task, alert, hold.

type Tx = Prisma.TransactionClient;

/** Which rows a change applies to: these ids, or those of these discrepancies. */
export type Selection = { readonly ids: readonly string[] } | { readonly discrepancyIds: readonly string[] };

const selected = (selection: Selection) =>
  'ids' in selection ? Prisma.sql`id = ANY(${[...selection.ids]}::text[])` : Prisma.sql`discrepancy_id = ANY(${[...selection.discrepancyIds]}::text[])`;
const isEmpty = (selection: Selection) => ('ids' in selection ? selection.ids : selection.discrepancyIds).length === 0;

export const lockDiscrepancy = async (tx: Tx, id: string) =>
  (await tx.$queryRaw<Discrepancy[]>`SELECT ${DISCREPANCY_COLUMNS} FROM discrepancy WHERE id = ${id} FOR UPDATE`)[0] ?? null;
// A person's action finds its task, alert or hold only at a location the caller is granted
// (data/grantFilter.ts): another's is locked by no one, and answered as an unknown id.
export const lockTask = async (tx: Tx, id: string, grant: LocationGrant) =>
  (await tx.$queryRaw<ReviewTask[]>`SELECT ${TASK_COLUMNS} FROM review_task WHERE id = ${id} AND ${atGrantedLocation(grant, 'location_id')} FOR UPDATE`)[0] ?? null;
export const lockAlert = async (tx: Tx, id: string, grant: LocationGrant) =>
  (await tx.$queryRaw<Alert[]>`SELECT ${ALERT_COLUMNS} FROM alert WHERE id = ${id} AND ${atGrantedLocation(grant, 'location_id')} FOR UPDATE`)[0] ?? null;
export const lockHold = async (tx: Tx, id: string, grant: LocationGrant) =>
  (await tx.$queryRaw<Hold[]>`SELECT ${HOLD_COLUMNS} FROM reconciliation_hold WHERE id = ${id} AND ${atGrantedLocation(grant, 'location_id')} FOR UPDATE`)[0] ?? null;

/** The discrepancy a review task or alert of a granted location is about, read without a lock: it never changes. */
export const discrepancyIdOf = async (tx: Tx, table: 'review_task' | 'alert', id: string, grant: LocationGrant) =>
  (await tx.$queryRaw<{ discrepancyId: string | null }[]>`
    SELECT discrepancy_id AS "discrepancyId" FROM ${Prisma.raw(table)} WHERE id = ${id} AND ${atGrantedLocation(grant, 'location_id')}`)[0]?.discrepancyId ?? null;

export async function insertDiscrepancies(tx: Tx, discrepancies: readonly DiscrepancyRecord[]): Promise<void> {
  if (discrepancies.length === 0) return;
  const rows = discrepancies.map((d) => ({
    id: d.id, run_id: d.runId, sku: d.sku, location_id: d.locationId, wms_on_hand: d.wmsOnHand, erp_on_hand: d.erpOnHand, in_flight: d.inFlight,
    variance: d.variance, tier: d.tier, status: d.status, detected_at: d.detectedAt, closed_at: d.closedAt, adjustment_id: d.adjustmentId, version: d.version,
  }));
  await tx.$executeRaw`
    INSERT INTO discrepancy (id, run_id, sku, location_id, wms_on_hand, erp_on_hand, in_flight, variance, tier, status, detected_at, closed_at, adjustment_id, version)
    SELECT v.id, v.run_id, v.sku, v.location_id, v.wms_on_hand, v.erp_on_hand, v.in_flight, v.variance, v.tier::"VarianceTier",
           v.status::"DiscrepancyStatus", v.detected_at, v.closed_at, v.adjustment_id, v.version
      FROM ${recordset(rows, 'v', {
        id: 'text', run_id: 'text', sku: 'text', location_id: 'text', wms_on_hand: 'int', erp_on_hand: 'int', in_flight: 'int', variance: 'int',
        tier: 'text', status: 'text', detected_at: 'timestamptz', closed_at: 'timestamptz', adjustment_id: 'text', version: 'int',
      })}`;
}

/**
 * Queues adjustments in the ERP sync ledger (RECONCILIATION_ADJUSTMENT sync transactions, which
 * its connector posts), in the unit of the SKU's latest sync transaction, or `defaultUnit`.
 */
export async function insertAdjustments(tx: Tx, adjustments: readonly AdjustmentRecord[], { subinventory, defaultUnit }: { subinventory: string; defaultUnit: string }, at: Date): Promise<void> {
  if (adjustments.length === 0) return;
  const rows = adjustments.map((a) => ({ id: adjustmentIdOf(a.discrepancyId), sku: a.sku, location_id: a.locationId, quantity: a.quantity }));
  await tx.$executeRaw`
    INSERT INTO sync_transaction (id, transaction_id, kind, sku, location_id, subinventory, lot, quantity, erp_quantity, unit_of_measure,
                                  serials, occurred_at, next_attempt_at, created_at, updated_at)
    SELECT v.id, v.id, 'RECONCILIATION_ADJUSTMENT', v.sku, v.location_id, ${subinventory}, '', v.quantity, v.quantity,
           coalesce((SELECT t.unit_of_measure FROM sync_transaction t WHERE t.sku = v.sku ORDER BY t.created_at DESC LIMIT 1), ${defaultUnit}),
           '{}', ${at}, ${at}, ${at}, ${at}
      FROM ${recordset(rows, 'v', { id: 'text', sku: 'text', location_id: 'text', quantity: 'int' })}`;
}

export async function insertTasks(tx: Tx, tasks: readonly ReviewTaskRecord[]): Promise<void> {
  if (tasks.length === 0) return;
  const rows = tasks.map((t) => ({
    id: t.id, kind: t.kind, status: t.status, sku: t.sku, location_id: t.locationId, discrepancy_id: t.discrepancyId, sync_transaction_id: t.syncTransactionId,
    proposed_adjustment: t.proposedAdjustment, assignee: t.assignee, version: t.version, created_at: t.createdAt, closed_at: t.closedAt,
  }));
  await tx.$executeRaw`
    INSERT INTO review_task (id, kind, status, sku, location_id, discrepancy_id, sync_transaction_id, proposed_adjustment, assignee, version, created_at, closed_at)
    SELECT v.id, v.kind::"ReviewTaskKind", v.status::"ReviewTaskStatus", v.sku, v.location_id, v.discrepancy_id, v.sync_transaction_id,
           v.proposed_adjustment, v.assignee, v.version, v.created_at, v.closed_at
      FROM ${recordset(rows, 'v', {
        id: 'text', kind: 'text', status: 'text', sku: 'text', location_id: 'text', discrepancy_id: 'text', sync_transaction_id: 'text',
        proposed_adjustment: 'int', assignee: 'text', version: 'int', created_at: 'timestamptz', closed_at: 'timestamptz',
      })}`;
}

export async function insertAlerts(tx: Tx, alerts: readonly AlertRecord[]): Promise<void> {
  if (alerts.length === 0) return;
  const rows = alerts.map((a) => ({
    id: a.id, kind: a.kind, status: a.status, sku: a.sku, location_id: a.locationId, discrepancy_id: a.discrepancyId, sync_transaction_id: a.syncTransactionId,
    message: a.message, version: a.version, created_at: a.createdAt, closed_at: a.closedAt,
  }));
  await tx.$executeRaw`
    INSERT INTO alert (id, kind, status, sku, location_id, discrepancy_id, sync_transaction_id, message, version, created_at, closed_at)
    SELECT v.id, v.kind::"AlertKind", v.status::"AlertStatus", v.sku, v.location_id, v.discrepancy_id, v.sync_transaction_id, v.message, v.version,
           v.created_at, v.closed_at
      FROM ${recordset(rows, 'v', {
        id: 'text', kind: 'text', status: 'text', sku: 'text', location_id: 'text', discrepancy_id: 'text', sync_transaction_id: 'text',
        message: 'text', version: 'int', created_at: 'timestamptz', closed_at: 'timestamptz',
      })}`;
}

export async function insertHolds(tx: Tx, holds: readonly HoldRecord[]): Promise<void> {
  if (holds.length === 0) return;
  const rows = holds.map((h) => ({
    id: h.id, status: h.status, sku: h.sku, location_id: h.locationId, alert_id: h.alertId, discrepancy_id: h.discrepancyId, reason: h.reason,
    placed_at: h.placedAt, released_at: h.releasedAt,
  }));
  await tx.$executeRaw`
    INSERT INTO reconciliation_hold (id, status, sku, location_id, alert_id, discrepancy_id, reason, placed_at, released_at)
    SELECT v.id, v.status::"HoldStatus", v.sku, v.location_id, v.alert_id, v.discrepancy_id, v.reason, v.placed_at, v.released_at
      FROM ${recordset(rows, 'v', {
        id: 'text', status: 'text', sku: 'text', location_id: 'text', alert_id: 'text', discrepancy_id: 'text', reason: 'text', placed_at: 'timestamptz', released_at: 'timestamptz',
      })}`;
}

/** OPEN discrepancies RESOLVED (with the adjustment posted for them, if any); the others are left as they are. */
export async function resolveDiscrepancies(tx: Tx, ids: readonly string[], at: Date, adjustmentId: string | null = null): Promise<Discrepancy[]> {
  if (ids.length === 0) return [];
  return tx.$queryRaw<Discrepancy[]>`
    UPDATE discrepancy SET status = 'RESOLVED', closed_at = ${at}, adjustment_id = coalesce(${adjustmentId}, adjustment_id), version = version + 1
     WHERE id = ANY(${[...ids]}::text[]) AND status = 'OPEN'
    RETURNING ${DISCREPANCY_COLUMNS}`;
}

/** OPEN review tasks closed with `status`; the others are left as they are. */
export async function closeTasks(tx: Tx, selection: Selection, status: 'APPROVED' | 'REJECTED' | 'CANCELLED', at: Date): Promise<ReviewTask[]> {
  if (isEmpty(selection)) return [];
  return tx.$queryRaw<ReviewTask[]>`
    UPDATE review_task SET status = ${status}::"ReviewTaskStatus", closed_at = ${at}, version = version + 1
     WHERE ${selected(selection)} AND status = 'OPEN'
    RETURNING ${TASK_COLUMNS}`;
}

/** An OPEN review task given to `assignee`; null when it is not OPEN. */
export async function assignTask(tx: Tx, id: string, assignee: string): Promise<ReviewTask | null> {
  const [task] = await tx.$queryRaw<ReviewTask[]>`
    UPDATE review_task SET assignee = ${assignee}, version = version + 1 WHERE id = ${id} AND status = 'OPEN'
    RETURNING ${TASK_COLUMNS}`;
  return task ?? null;
}

/** Alerts ACKNOWLEDGED (those OPEN) or RESOLVED (those not yet); the others are left as they are. */
export async function changeAlerts(tx: Tx, selection: Selection, status: 'ACKNOWLEDGED' | 'RESOLVED', at: Date): Promise<Alert[]> {
  if (isEmpty(selection)) return [];
  const from = status === 'ACKNOWLEDGED' ? Prisma.sql`status = 'OPEN'` : Prisma.sql`status <> 'RESOLVED'`;
  const closedAt = status === 'RESOLVED' ? at : null;
  return tx.$queryRaw<Alert[]>`
    UPDATE alert SET status = ${status}::"AlertStatus", closed_at = coalesce(${closedAt}::timestamptz, closed_at), version = version + 1
     WHERE ${selected(selection)} AND ${from}
    RETURNING ${ALERT_COLUMNS}`;
}

/** ACTIVE holds RELEASED; the others are left as they are. */
export async function releaseHolds(tx: Tx, selection: Selection, at: Date): Promise<Hold[]> {
  if (isEmpty(selection)) return [];
  return tx.$queryRaw<Hold[]>`
    UPDATE reconciliation_hold SET status = 'RELEASED', released_at = ${at}
     WHERE ${selected(selection)} AND status = 'ACTIVE'
    RETURNING ${HOLD_COLUMNS}`;
}

/**
 * Orphans at `locationIds` (all when empty): PENDING_SYNC sync transactions the ledger took more
 * than `orphanAfterSeconds` ago and never retried as orphans are made due at once (retried),
 * except those a connector holds under a live claim: made due, they would go to a second
 * connector while the first posts them. Those are retried by a later run, once their claim is
 * settled or has run out. Returns how many were retried.
 */
export async function retryOrphans(tx: Tx, locationIds: readonly string[], orphanAfterSeconds: number, at: Date): Promise<number> {
  // The claim is checked in this statement: one being taken meanwhile holds the row's lock, and
  // this UPDATE, waiting for it, checks the claimed row again (READ COMMITTED) before it writes.
  // The lease is read on the database's clock, which claims are taken by, as of the run's start:
  // a lease that ran out since only waits for the next run.
  return tx.$executeRaw`
    UPDATE sync_transaction t SET next_attempt_at = ${at}, orphan_retried_at = ${at}, updated_at = ${at}
     WHERE t.status = 'PENDING_SYNC' AND t.orphan_retried_at IS NULL AND t.created_at < ${at}::timestamptz - ${orphanAfterSeconds} * interval '1 second'
       AND (t.claimed_until IS NULL OR t.claimed_until <= now())
       AND ${atLocations('t', locationIds)}`;
}

/**
 * Orphans retried more than `orphanAfterSeconds` ago and still PENDING_SYNC become
 * ORPHANED_TRANSACTION review tasks, once per transaction; returns those opened.
 */
export async function openOrphanTasks(tx: Tx, locationIds: readonly string[], orphanAfterSeconds: number, at: Date): Promise<ReviewTaskRecord[]> {
  const orphans = await tx.$queryRaw<{ id: string; sku: string; locationId: string }[]>`
    SELECT t.id, t.sku, t.location_id AS "locationId" FROM sync_transaction t
     WHERE t.status = 'PENDING_SYNC' AND t.orphan_retried_at < ${at}::timestamptz - ${orphanAfterSeconds} * interval '1 second'
       AND ${atLocations('t', locationIds)}
       AND NOT EXISTS (SELECT 1 FROM review_task r WHERE r.sync_transaction_id = t.id AND r.kind = 'ORPHANED_TRANSACTION')
     ORDER BY t.id`;
  const tasks = orphans.map((orphan) => orphanTask(orphan, at));
  await insertTasks(tx, tasks);
  return tasks;
}

/** OPEN ORPHANED_TRANSACTION tasks at `locationIds` whose transaction has synced since: CANCELLED. */
export async function cancelSyncedOrphanTasks(tx: Tx, locationIds: readonly string[], at: Date): Promise<ReviewTask[]> {
  const synced = await tx.$queryRaw<{ id: string }[]>`
    SELECT r.id FROM review_task r JOIN sync_transaction t ON t.id = r.sync_transaction_id
     WHERE r.kind = 'ORPHANED_TRANSACTION' AND r.status = 'OPEN' AND t.status = 'SYNCED' AND ${atLocations('r', locationIds)}`;
  return closeTasks(tx, { ids: synced.map((task) => task.id) }, 'CANCELLED', at);
}

export interface AuditEntry {
  readonly subjectType: AuditSubject;
  readonly subjectId: string;
  readonly action: string;
  readonly actor: string;
  readonly note: string | null;
}

export async function writeAudit(tx: Tx, entries: readonly AuditEntry[], at: Date): Promise<void> {
  if (entries.length === 0) return;
  const rows = entries.map((e) => ({ subject_type: e.subjectType, subject_id: e.subjectId, action: e.action, actor: e.actor, note: e.note }));
  await tx.$executeRaw`
    INSERT INTO reconciliation_audit (subject_type, subject_id, action, actor, note, at)
    SELECT v.subject_type, v.subject_id, v.action, v.actor, v.note, ${at}
      FROM ${recordset(rows, 'v', { subject_type: 'text', subject_id: 'text', action: 'text', actor: 'text', note: 'text' })}`;
}
