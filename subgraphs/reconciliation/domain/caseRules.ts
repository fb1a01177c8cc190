import { locationsNotGrantedMessage, ungrantedLocations, type LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { ReconciliationError, ReconciliationErrorCode } from './reconciliationErrors.ts';
import type { AlertStatus, HoldStatus, ReviewTaskKind, ReviewTaskStatus } from './reconciliationStatus.ts';

export const MAX_NOTE_LENGTH = 1_000;
export const MAX_ASSIGNEE_LENGTH = 200;
export const MAX_RUN_LOCATIONS = 1_000;

/** A person's note on what they did: at most MAX_NOTE_LENGTH characters; null when there is none. */
export function checkNote(note: string | null | undefined): string | null {
  if (note === null || note === undefined || note.trim() === '') return null;
  if (note.length > MAX_NOTE_LENGTH) throw badInput(`note must be at most ${MAX_NOTE_LENGTH} characters, got ${note.length}`);
  return note;
}

/** Who a task goes to, trimmed: 1 to MAX_ASSIGNEE_LENGTH characters. */
export function checkAssignee(assignee: string): string {
  const trimmed = assignee.trim();
  if (trimmed === '' || trimmed.length > MAX_ASSIGNEE_LENGTH) throw badInput(`assignee must be 1 to ${MAX_ASSIGNEE_LENGTH} characters, got ${trimmed.length}`);
  return trimmed;
}

/** The locations a run compares, each once, in order; empty for all. At most MAX_RUN_LOCATIONS, none blank. */
export function checkRunLocations(locationIds: readonly string[] | null | undefined): string[] {
  const ids = [...new Set(locationIds ?? [])].sort();
  if (ids.length > MAX_RUN_LOCATIONS) throw badInput(`At most ${MAX_RUN_LOCATIONS} locationIds per run, got ${ids.length}`);
  if (ids.some((id) => id.trim() === '')) throw badInput('locationIds must not be blank');
  return ids;
}

/**
 * Why a caller granted `grant` may not start a run over `locationIds` (as checkRunLocations
 * returns them: empty for every location); null when it may. A caller granted some locations names
 * locations, all of them granted: FORBIDDEN naming the others (`locationIds`), or for naming none,
 * since a run over every location compares others' stock too. Asked before whether the locations
 * exist, so that a partner cannot probe for other locations.
 */
export function runGrantRefusal(grant: LocationGrant, locationIds: readonly string[]): ReconciliationError | null {
  if (grant === null) return null;
  if (locationIds.length === 0) {
    return new ReconciliationError('FORBIDDEN', 'This caller is granted only some locations: name those to reconcile in locationIds (a run over every location compares others too)');
  }
  const outside = ungrantedLocations(grant, locationIds);
  return outside.length > 0 ? new ReconciliationError('FORBIDDEN', locationsNotGrantedMessage(outside), { locationIds: outside }) : null;
}

export type TaskAction = 'approve' | 'reject' | 'assign';

/** Why `action` cannot be done to a task as it stands; null when it can. */
export function taskActionRefusal(task: { readonly id: string; readonly kind: ReviewTaskKind; readonly status: ReviewTaskStatus }, action: TaskAction): ReconciliationError | null {
  if (task.status !== 'OPEN') return new ReconciliationError(ReconciliationErrorCode.TASK_CLOSED, `Review task ${task.id} is ${task.status}: it takes no more decisions`, { status: task.status });
  if (action === 'approve' && task.kind !== 'VARIANCE') {
    return new ReconciliationError(ReconciliationErrorCode.TASK_NOT_APPROVABLE, `Review task ${task.id} is about an orphaned sync transaction: reject it, or redrive the transaction`);
  }
  return null;
}

export type AlertAction = 'acknowledge' | 'resolve';

/** Why `action` cannot be done to an alert as it stands; null when it can. */
export function alertActionRefusal(alert: { readonly id: string; readonly status: AlertStatus }, action: AlertAction): ReconciliationError | null {
  const applies = action === 'acknowledge' ? alert.status === 'OPEN' : alert.status !== 'RESOLVED';
  if (applies) return null;
  return new ReconciliationError(ReconciliationErrorCode.ALERT_CLOSED, `Alert ${alert.id} is ${alert.status}: it cannot be ${action === 'acknowledge' ? 'acknowledged' : 'resolved'}`, { status: alert.status });
}

/** Why a hold cannot be released; null when it can. */
export function holdReleaseRefusal(hold: { readonly id: string; readonly status: HoldStatus }): ReconciliationError | null {
  return hold.status === 'ACTIVE' ? null : new ReconciliationError(ReconciliationErrorCode.HOLD_RELEASED, `Hold ${hold.id} was released already`);
}

const badInput = (message: string) => new ReconciliationError('BAD_USER_INPUT', message);
