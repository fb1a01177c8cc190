import type { AlertKind, AlertStatus, DiscrepancyStatus, HoldStatus, ReviewTaskKind, ReviewTaskStatus } from './reconciliationStatus.ts';
import type { VarianceTier } from './varianceTiers.ts';

// Reconciliation's records as the domain makes and changes them (the database's rows have the
// same fields; see schema.graphql for what each means).

export interface DiscrepancyRecord {
  readonly id: string;
  readonly runId: string;
  readonly sku: string;
  readonly locationId: string;
  readonly wmsOnHand: number;
  readonly erpOnHand: number;
  readonly inFlight: number;
  readonly variance: number;
  readonly tier: VarianceTier;
  readonly status: DiscrepancyStatus;
  readonly detectedAt: Date;
  readonly closedAt: Date | null;
  /** The sync transaction of the adjustment posted for it, if any. */
  readonly adjustmentId: string | null;
  /** Bumped by each change; orders its events. */
  readonly version: number;
}

export interface ReviewTaskRecord {
  readonly id: string;
  readonly kind: ReviewTaskKind;
  readonly status: ReviewTaskStatus;
  readonly sku: string;
  readonly locationId: string;
  readonly discrepancyId: string | null;
  readonly syncTransactionId: string | null;
  readonly proposedAdjustment: number;
  readonly assignee: string | null;
  readonly version: number;
  readonly createdAt: Date;
  readonly closedAt: Date | null;
}

export interface AlertRecord {
  readonly id: string;
  readonly kind: AlertKind;
  readonly status: AlertStatus;
  readonly sku: string;
  readonly locationId: string;
  readonly discrepancyId: string | null;
  readonly syncTransactionId: string | null;
  readonly message: string;
  readonly version: number;
  readonly createdAt: Date;
  readonly closedAt: Date | null;
}

export interface HoldRecord {
  readonly id: string;
  readonly status: HoldStatus;
  readonly sku: string;
  readonly locationId: string;
  readonly alertId: string;
  readonly discrepancyId: string;
  readonly reason: string;
  readonly placedAt: Date;
  readonly releasedAt: Date | null;
}

/** An adjustment posted to the ERP for a discrepancy: `quantity` into its SKU's on hand at its location. */
export interface AdjustmentRecord {
  readonly discrepancyId: string;
  readonly sku: string;
  readonly locationId: string;
  readonly quantity: number;
}

/** The sync transaction id of the adjustment posted for a discrepancy: one per discrepancy, whoever posts it. */
export const adjustmentIdOf = (discrepancyId: string): string => `RECON:${discrepancyId}`;
