// The states of reconciliation's records, as schema.graphql describes them.

export type DiscrepancyStatus = 'OPEN' | 'AUTO_CORRECTED' | 'RESOLVED';
export type ReviewTaskKind = 'VARIANCE' | 'ORPHANED_TRANSACTION';
export type ReviewTaskStatus = 'OPEN' | 'APPROVED' | 'REJECTED' | 'CANCELLED';
export type AlertKind = 'VARIANCE' | 'SYNC_FAILED';
export type AlertStatus = 'OPEN' | 'ACKNOWLEDGED' | 'RESOLVED';
export type HoldStatus = 'ACTIVE' | 'RELEASED';

/** What an audit entry is about (reconciliation_audit.subject_type). */
export type AuditSubject = 'DISCREPANCY' | 'TASK' | 'ALERT' | 'HOLD';
