import { alertChanged, discrepancyChanged, holdCleared, holdPlaced, reviewTaskChanged } from '../../../platform/contracts/events.ts';
import { outboxRecord, type OutboxRecord } from '../../../platform/events/outbox.ts';
import type { AlertRecord, DiscrepancyRecord, HoldRecord, ReviewTaskRecord } from '../domain/caseRecords.ts';

// The events of reconciliation's changes, each built from the row as the change left it and
// written in its transaction: who made the change (`actor`) and when (`at`).

export const discrepancyChange = (d: DiscrepancyRecord, actor: string, at: Date): OutboxRecord =>
  outboxRecord(discrepancyChanged, {
    discrepancyId: d.id, runId: d.runId, sku: d.sku, locationId: d.locationId, wmsOnHand: d.wmsOnHand, erpOnHand: d.erpOnHand,
    inFlight: d.inFlight, variance: d.variance, tier: d.tier, status: d.status, version: d.version, actor, at: at.toISOString(),
  });

export const taskChange = (t: ReviewTaskRecord, actor: string, at: Date): OutboxRecord =>
  outboxRecord(reviewTaskChanged, {
    taskId: t.id, kind: t.kind, status: t.status, sku: t.sku, locationId: t.locationId, discrepancyId: t.discrepancyId,
    syncTransactionId: t.syncTransactionId, assignee: t.assignee, version: t.version, actor, at: at.toISOString(),
  });

export const alertChange = (a: AlertRecord, actor: string, at: Date): OutboxRecord =>
  outboxRecord(alertChanged, {
    alertId: a.id, kind: a.kind, status: a.status, sku: a.sku, locationId: a.locationId, message: a.message, version: a.version, actor, at: at.toISOString(),
  });

/** A hold placed (it is ACTIVE) or cleared (RELEASED): the orders subgraph holds and releases order releases by these. */
export const holdChange = (h: HoldRecord): OutboxRecord =>
  h.status === 'ACTIVE'
    ? outboxRecord(holdPlaced, { holdId: h.id, sku: h.sku, locationId: h.locationId, reason: h.reason, placedAt: h.placedAt.toISOString() })
    : outboxRecord(holdCleared, { holdId: h.id, sku: h.sku, locationId: h.locationId, clearedAt: h.releasedAt!.toISOString() });
