import { randomUUID } from 'node:crypto';
import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';
import { adjustmentIdOf, type AdjustmentRecord, type AlertRecord, type DiscrepancyRecord, type HoldRecord, type ReviewTaskRecord } from './caseRecords.ts';
import type { VarianceTier } from './varianceTiers.ts';

/** What a run found at one item x location whose on hand disagrees (see Discrepancy in the schema). */
export interface PositionVariance {
  readonly sku: string;
  readonly locationId: string;
  readonly wmsOnHand: number;
  readonly erpOnHand: number;
  readonly inFlight: number;
  /** wmsOnHand - (erpOnHand + inFlight); never 0. */
  readonly variance: number;
  readonly tier: VarianceTier;
}

/** An OPEN discrepancy at one of the run's locations, raised by an earlier run. */
export interface OpenDiscrepancy {
  readonly id: string;
  readonly sku: string;
  readonly locationId: string;
}

export interface RunPlan {
  /** The variances that raise a discrepancy: no OPEN one covers their item x location. */
  readonly raise: readonly PositionVariance[];
  /** Variances an OPEN discrepancy covers already: they raise nothing. */
  readonly alreadyOpen: number;
  /** The OPEN discrepancies whose item x location the run found matched: they close. */
  readonly gone: readonly string[];
}

/**
 * What a run does with what it compared: `variances` are its positions that disagree (the others
 * matched), `open` the OPEN discrepancies at its locations. An item x location has at most one
 * OPEN discrepancy at a time.
 */
export function planRun(variances: readonly PositionVariance[], open: readonly OpenDiscrepancy[]): RunPlan {
  const keyOf = (position: { readonly sku: string; readonly locationId: string }) => JSON.stringify([position.sku, position.locationId]);
  const openKeys = new Set(open.map(keyOf));
  const varying = new Set(variances.map(keyOf));
  const raise = variances.filter((variance) => !openKeys.has(keyOf(variance)));
  return {
    raise,
    alreadyOpen: variances.length - raise.length,
    gone: open.filter((discrepancy) => !varying.has(keyOf(discrepancy))).map((discrepancy) => discrepancy.id),
  };
}

/** What a run raises: a discrepancy per variance, and what its tier calls for. */
export interface RaisedCases {
  readonly discrepancies: readonly DiscrepancyRecord[];
  /** AUTO_CORRECT: the variance posted to the ERP; the discrepancy is AUTO_CORRECTED. */
  readonly adjustments: readonly AdjustmentRecord[];
  /** REVIEW: a supervisor's task proposing the variance as the adjustment. */
  readonly tasks: readonly ReviewTaskRecord[];
  /** ALERT: an alert to the warehouse manager, and a hold on order releases of the SKU at the location. */
  readonly alerts: readonly AlertRecord[];
  readonly holds: readonly HoldRecord[];
}

/** The records run `runId` raises at `at` for `variances` (those of a plan's `raise`). */
export function raiseCases(runId: string, variances: readonly PositionVariance[], at: Date): RaisedCases {
  const raised: { discrepancies: DiscrepancyRecord[]; adjustments: AdjustmentRecord[]; tasks: ReviewTaskRecord[]; alerts: AlertRecord[]; holds: HoldRecord[] } = {
    discrepancies: [], adjustments: [], tasks: [], alerts: [], holds: [],
  };
  for (const variance of variances) {
    const id = `DSC-${randomUUID()}`;
    const { sku, locationId } = variance;
    const corrected = variance.tier === 'AUTO_CORRECT';
    raised.discrepancies.push({
      ...variance, id, runId, status: corrected ? 'AUTO_CORRECTED' : 'OPEN', detectedAt: at, closedAt: null, adjustmentId: corrected ? adjustmentIdOf(id) : null, version: 1,
    });
    switch (variance.tier) {
      case 'AUTO_CORRECT':
        raised.adjustments.push({ discrepancyId: id, sku, locationId, quantity: variance.variance });
        break;
      case 'REVIEW':
        raised.tasks.push(newTask({ kind: 'VARIANCE', sku, locationId, discrepancyId: id, syncTransactionId: null, proposedAdjustment: variance.variance }, at));
        break;
      case 'ALERT': {
        const alertId = `ALR-${randomUUID()}`;
        const units = `${variance.variance > 0 ? '+' : ''}${variance.variance} units`;
        raised.alerts.push({
          id: alertId, kind: 'VARIANCE', status: 'OPEN', sku, locationId, discrepancyId: id, syncTransactionId: null, version: 1, createdAt: at, closedAt: null,
          message: `Variance of ${units} of ${sku} at ${locationId}: WMS ${variance.wmsOnHand}, ERP ${variance.erpOnHand}, in flight ${variance.inFlight}`,
        });
        raised.holds.push({ id: `HLD-${randomUUID()}`, status: 'ACTIVE', sku, locationId, alertId, discrepancyId: id, reason: `variance of ${units} found by run ${runId}`, placedAt: at, releasedAt: null });
        break;
      }
      default:
        throw new UnreachableCaseError(variance.tier);
    }
  }
  return raised;
}

/** A review task for a sync transaction still pending after its retry as an orphan. */
export function orphanTask(transaction: { readonly id: string; readonly sku: string; readonly locationId: string }, at: Date): ReviewTaskRecord {
  return newTask({ kind: 'ORPHANED_TRANSACTION', sku: transaction.sku, locationId: transaction.locationId, discrepancyId: null, syncTransactionId: transaction.id, proposedAdjustment: 0 }, at);
}

function newTask(fields: Pick<ReviewTaskRecord, 'kind' | 'sku' | 'locationId' | 'discrepancyId' | 'syncTransactionId' | 'proposedAdjustment'>, at: Date): ReviewTaskRecord {
  return { ...fields, id: `TSK-${randomUUID()}`, status: 'OPEN', assignee: null, version: 1, createdAt: at, closedAt: null };
}

/** The share of a run's compared positions that matched; 1 for a run that compared none (nothing was found wrong). */
export function runAccuracy({ positionsCompared, matched }: { readonly positionsCompared: number; readonly matched: number }): number {
  return positionsCompared === 0 ? 1 : matched / positionsCompared;
}
