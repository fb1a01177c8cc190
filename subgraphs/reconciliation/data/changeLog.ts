import type { Prisma } from '../../../platform/database/generated/client.ts';
import { writeOutbox, type OutboxRecord } from '../../../platform/events/outbox.ts';
import { RECONCILIATION_PRODUCER } from '../reconciliationModule.ts';
import { writeAudit, type AuditEntry } from './caseStore.ts';
import { alertChange, discrepancyChange, holdChange, taskChange } from './reconciliationOutbox.ts';
import type { AlertRecord, DiscrepancyRecord, HoldRecord, ReviewTaskRecord } from '../domain/caseRecords.ts';

/**
 * What one transaction did to discrepancies, tasks, alerts and holds, by one actor at one time:
 * each change as its audit entry and its event, written together before the transaction commits.
 * Record changes in the order they were made: a row's events must follow its versions.
 */
export class ChangeLog {
  private readonly audit: AuditEntry[] = [];
  private readonly records: OutboxRecord[] = [];

  constructor(
    readonly actor: string,
    readonly at: Date,
  ) {}

  discrepancy(row: DiscrepancyRecord, action: string, note: string | null): void {
    this.audit.push({ subjectType: 'DISCREPANCY', subjectId: row.id, action, actor: this.actor, note });
    this.records.push(discrepancyChange(row, this.actor, this.at));
  }

  task(row: ReviewTaskRecord, action: string, note: string | null): void {
    this.audit.push({ subjectType: 'TASK', subjectId: row.id, action, actor: this.actor, note });
    this.records.push(taskChange(row, this.actor, this.at));
  }

  alert(row: AlertRecord, action: string, note: string | null): void {
    this.audit.push({ subjectType: 'ALERT', subjectId: row.id, action, actor: this.actor, note });
    this.records.push(alertChange(row, this.actor, this.at));
  }

  hold(row: HoldRecord, action: string, note: string | null): void {
    this.audit.push({ subjectType: 'HOLD', subjectId: row.id, action, actor: this.actor, note });
    this.records.push(holdChange(row));
  }

  /** Whether any event was recorded (the outbox relay has something to publish). */
  get hasEvents(): boolean {
    return this.records.length > 0;
  }

  async write(tx: Prisma.TransactionClient): Promise<void> {
    await writeAudit(tx, this.audit, this.at);
    await writeOutbox(tx, RECONCILIATION_PRODUCER, this.records, this.at);
  }
}
