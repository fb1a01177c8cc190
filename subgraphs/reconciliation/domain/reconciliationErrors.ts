/** Error codes reconciliation puts in `extensions.code`, beside the common ones (BAD_USER_INPUT, FORBIDDEN). */
export enum ReconciliationErrorCode {
  /** A location no stock was ever reported at (`locationIds`). */
  UNKNOWN_LOCATION = 'UNKNOWN_LOCATION',
  TASK_NOT_FOUND = 'TASK_NOT_FOUND',
  /** The task was decided or cancelled already (`status`). */
  TASK_CLOSED = 'TASK_CLOSED',
  /** An ORPHANED_TRANSACTION task proposes no adjustment to approve. */
  TASK_NOT_APPROVABLE = 'TASK_NOT_APPROVABLE',
  ALERT_NOT_FOUND = 'ALERT_NOT_FOUND',
  /** The alert is not in a status the action applies to (`status`). */
  ALERT_CLOSED = 'ALERT_CLOSED',
  HOLD_NOT_FOUND = 'HOLD_NOT_FOUND',
  HOLD_RELEASED = 'HOLD_RELEASED',
  /** Some of the ids name no sync transaction (`ids`). */
  SYNC_TRANSACTION_NOT_FOUND = 'SYNC_TRANSACTION_NOT_FOUND',
  /** Some of the sync transactions are not SYNC_FAILED (`ids`). */
  SYNC_TRANSACTION_NOT_FAILED = 'SYNC_TRANSACTION_NOT_FAILED',
  /** A run over locations the caller is not granted is under way, and one runs at a time: it starts none, and is not shown that one. */
  RUN_IN_PROGRESS = 'RUN_IN_PROGRESS',
}

/**
 * A request reconciliation's rules (or its ERP sync ledger's) refuse; nothing was changed. Services throw it, the resolvers
 * turn it into a GraphQL error with `code` and `details` in its extensions.
 */
export class ReconciliationError extends Error {
  constructor(
    readonly code: ReconciliationErrorCode | 'BAD_USER_INPUT' | 'FORBIDDEN',
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'ReconciliationError';
  }
}
