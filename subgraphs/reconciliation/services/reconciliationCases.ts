import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import {
  assignTask, changeAlerts, closeTasks, discrepancyIdOf, insertAdjustments, lockAlert, lockDiscrepancy, lockHold, lockTask,
  releaseHolds, resolveDiscrepancies,
} from '../data/caseStore.ts';
import { ChangeLog } from '../data/changeLog.ts';
import { adjustmentIdOf } from '../domain/caseRecords.ts';
import type { Alert, Hold, ReviewTask } from '../data/reconciliationRows.ts';
import { alertActionRefusal, checkAssignee, checkNote, holdReleaseRefusal, taskActionRefusal } from '../domain/caseRules.ts';
import { ReconciliationError, ReconciliationErrorCode } from '../domain/reconciliationErrors.ts';

export interface ReconciliationCasesOptions {
  /** Where and in what unit an approved adjustment is posted when its SKU has no sync transaction yet. */
  readonly adjustment: { readonly subinventory: string; readonly defaultUnit: string };
  /** Wakes the outbox relay after a commit. */
  readonly publishNow: () => void;
}

/**
 * What people do with the cases a run opens: decide and assign review tasks, acknowledge and
 * resolve alerts, release holds. Each action is one transaction under the row locks of what it
 * changes (taken in caseStore's order), records who did it, when and why, and publishes each
 * change; a refused action (ReconciliationError) changes nothing. Each acts for a caller granted
 * `grant`: a task, alert or hold of another location is not found (TASK_NOT_FOUND, ...), as an
 * unknown id is.
 */
export class ReconciliationCases {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: ReconciliationCasesOptions,
  ) {}

  /** Posts an OPEN VARIANCE task's adjustment through the sync ledger, resolves its discrepancy; the task APPROVED. */
  approveAdjustment(taskId: string, rawNote: string | null | undefined, actor: string, grant: LocationGrant): Promise<ReviewTask> {
    const note = checkNote(rawNote);
    return this.change(actor, async (tx, log) => {
      const task = await this.lockOpenTask(tx, taskId, 'approve', grant);
      const discrepancyId = task.discrepancyId!;
      const adjustmentId = adjustmentIdOf(discrepancyId);
      const [approved] = await closeTasks(tx, { ids: [task.id] }, 'APPROVED', log.at);
      log.task(approved!, 'APPROVED', note);
      await insertAdjustments(tx, [{ discrepancyId, sku: task.sku, locationId: task.locationId, quantity: task.proposedAdjustment }], this.options.adjustment, log.at);
      for (const d of await resolveDiscrepancies(tx, [discrepancyId], log.at, adjustmentId)) log.discrepancy(d, 'RESOLVED', `adjustment ${adjustmentId} approved in review task ${task.id}`);
      return approved!;
    });
  }

  /** Closes an OPEN task REJECTED, posting nothing; its discrepancy, if any, is RESOLVED as reviewed. */
  rejectAdjustment(taskId: string, rawNote: string | null | undefined, actor: string, grant: LocationGrant): Promise<ReviewTask> {
    const note = checkNote(rawNote);
    return this.change(actor, async (tx, log) => {
      const task = await this.lockOpenTask(tx, taskId, 'reject', grant);
      const [rejected] = await closeTasks(tx, { ids: [task.id] }, 'REJECTED', log.at);
      log.task(rejected!, 'REJECTED', note);
      const reviewed = task.discrepancyId ? await resolveDiscrepancies(tx, [task.discrepancyId], log.at) : [];
      for (const d of reviewed) log.discrepancy(d, 'RESOLVED', `reviewed in review task ${task.id}: no adjustment`);
      return rejected!;
    });
  }

  /** Gives an OPEN task to `assignee`, instead of whoever had it. */
  assignTask(taskId: string, rawAssignee: string, actor: string, grant: LocationGrant): Promise<ReviewTask> {
    const assignee = checkAssignee(rawAssignee);
    return this.change(actor, async (tx, log) => {
      const task = await this.lockOpenTask(tx, taskId, 'assign', grant);
      const assigned = (await assignTask(tx, task.id, assignee))!;
      log.task(assigned, 'ASSIGNED', `to ${assignee}`);
      return assigned;
    });
  }

  /** Marks an OPEN alert ACKNOWLEDGED; it stays in force, with its hold. */
  acknowledgeAlert(alertId: string, rawNote: string | null | undefined, actor: string, grant: LocationGrant): Promise<Alert> {
    const note = checkNote(rawNote);
    return this.change(actor, async (tx, log) => {
      await this.lockAlertFor(tx, alertId, 'acknowledge', grant);
      const [acknowledged] = await changeAlerts(tx, { ids: [alertId] }, 'ACKNOWLEDGED', log.at);
      log.alert(acknowledged!, 'ACKNOWLEDGED', note);
      return acknowledged!;
    });
  }

  /** Resolves an alert that is not yet; a VARIANCE alert's hold is released and its discrepancy RESOLVED. */
  resolveAlert(alertId: string, rawNote: string | null | undefined, actor: string, grant: LocationGrant): Promise<Alert> {
    const note = checkNote(rawNote);
    return this.change(actor, async (tx, log) => {
      const discrepancyId = await discrepancyIdOf(tx, 'alert', alertId, grant);
      if (discrepancyId) await lockDiscrepancy(tx, discrepancyId);
      await this.lockAlertFor(tx, alertId, 'resolve', grant);
      const [resolved] = await changeAlerts(tx, { ids: [alertId] }, 'RESOLVED', log.at);
      log.alert(resolved!, 'RESOLVED', note);
      if (discrepancyId) {
        const because = `alert ${alertId} resolved`;
        for (const d of await resolveDiscrepancies(tx, [discrepancyId], log.at)) log.discrepancy(d, 'RESOLVED', because);
        for (const hold of await releaseHolds(tx, { discrepancyIds: [discrepancyId] }, log.at)) log.hold(hold, 'RELEASED', because);
      }
      return resolved!;
    });
  }

  /** Releases an ACTIVE hold: order releases of its SKU at its location may go ahead. Its alert stays as it is. */
  releaseHold(holdId: string, rawNote: string | null | undefined, actor: string, grant: LocationGrant): Promise<Hold> {
    const note = checkNote(rawNote);
    return this.change(actor, async (tx, log) => {
      const hold = await lockHold(tx, holdId, grant);
      if (!hold) throw new ReconciliationError(ReconciliationErrorCode.HOLD_NOT_FOUND, `No hold ${holdId}`);
      refuseIf(holdReleaseRefusal(hold));
      const [released] = await releaseHolds(tx, { ids: [holdId] }, log.at);
      log.hold(released!, 'RELEASED', note);
      return released!;
    });
  }

  /** The task, locked (after its discrepancy, in lock order), if `action` may be done to it. */
  private async lockOpenTask(tx: Prisma.TransactionClient, taskId: string, action: 'approve' | 'reject' | 'assign', grant: LocationGrant): Promise<ReviewTask> {
    const discrepancyId = await discrepancyIdOf(tx, 'review_task', taskId, grant);
    if (discrepancyId) await lockDiscrepancy(tx, discrepancyId);
    const task = await lockTask(tx, taskId, grant);
    if (!task) throw new ReconciliationError(ReconciliationErrorCode.TASK_NOT_FOUND, `No review task ${taskId}`);
    refuseIf(taskActionRefusal(task, action));
    return task;
  }

  private async lockAlertFor(tx: Prisma.TransactionClient, alertId: string, action: 'acknowledge' | 'resolve', grant: LocationGrant): Promise<Alert> {
    const alert = await lockAlert(tx, alertId, grant);
    if (!alert) throw new ReconciliationError(ReconciliationErrorCode.ALERT_NOT_FOUND, `No alert ${alertId}`);
    refuseIf(alertActionRefusal(alert, action));
    return alert;
  }

  /** Runs `work` in one transaction with the log of its changes, written before it commits; publishes after. */
  private async change<T>(actor: string, work: (tx: Prisma.TransactionClient, log: ChangeLog) => Promise<T>): Promise<T> {
    const result = await this.prisma.$transaction(async (tx) => {
      const log = new ChangeLog(actor, new Date());
      const done = await work(tx, log);
      await log.write(tx);
      return done;
    });
    this.options.publishNow();
    return result;
  }
}

function refuseIf(refusal: ReconciliationError | null): void {
  if (refusal) throw refusal;
}
