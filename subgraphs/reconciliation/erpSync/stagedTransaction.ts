import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';
import type { SyncTransactionKind } from './syncPlan.ts';

/** Names the ERP's transactions after us, so that its operators see where they came from. */
const STOCKGRAPH_SOURCE_CODE = 'STOCKGRAPH';

/** What of a sync transaction the ERP is told. */
export interface SyncTransactionToPost {
  readonly id: string;
  readonly kind: SyncTransactionKind;
  readonly sku: string;
  readonly locationId: string;
  readonly subinventory: string;
  readonly lot: string;
  readonly erpQuantity: number;
  readonly unitOfMeasure: string;
  readonly transferSubinventory: string | null;
  readonly counterpartLocationId: string | null;
  readonly serials: readonly string[];
  readonly occurredAt: Date;
}

/** A staged transaction in Oracle's attribute names, or why it cannot be posted at all. */
export type StagedTransactionRequest =
  | { readonly ok: true; readonly body: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly problem: string };

/** Oracle Fusion's transaction type for a sync transaction (its TransactionTypeName). */
export function transactionTypeName(kind: SyncTransactionKind, erpQuantity: number, transferSubinventory: string | null): string {
  const miscellaneous = erpQuantity > 0 ? 'Miscellaneous Receipt' : 'Miscellaneous Issue';
  switch (kind) {
    case 'RECEIPT': return 'Miscellaneous Receipt';
    case 'PICK': return 'Sales Order Pick';
    case 'SHIP': return 'Sales Order Issue';
    case 'RECONCILIATION_ADJUSTMENT': return miscellaneous;
    case 'CYCLE_COUNT': return 'Cycle Count Adjustment';
    // A line of a move that had no partner (see syncPlan), as every line of a plain adjustment, is a plain change.
    case 'ADJUSTMENT':
    case 'SUBINVENTORY_TRANSFER':
    case 'RETURN_RESTOCKED': return transferSubinventory === null ? miscellaneous : 'Subinventory Transfer';
    case 'TRANSFER_OUT': return 'Intransit Shipment';
    case 'TRANSFER_IN': return 'Intransit Receipt';
    case 'RETURN_RECEIVED': return 'RMA Receipt';
    default: throw new UnreachableCaseError(kind);
  }
}

/**
 * The staged transaction (Oracle's inventoryStagedTransactions) that tells the ERP of `row`:
 * TransactionReference is the row's id, so that a resend is recognised as the same; each serial a
 * range of one. Refused, with the reason, when the location or the transfer's other location is
 * not an ERP organization: such a row could never be posted.
 */
export function stagedTransactionOf(row: SyncTransactionToPost, locationOrganizations: ReadonlyMap<string, string>): StagedTransactionRequest {
  const locations = row.counterpartLocationId === null ? [row.locationId] : [row.locationId, row.counterpartLocationId];
  const unmapped = locations.filter((locationId) => !locationOrganizations.has(locationId));
  if (unmapped.length) return { ok: false, problem: `no ERP organization for location ${unmapped.join(', ')} (ERP_ORGANIZATIONS)` };
  return {
    ok: true,
    body: {
      SourceCode: STOCKGRAPH_SOURCE_CODE,
      TransactionReference: row.id,
      TransactionTypeName: transactionTypeName(row.kind, row.erpQuantity, row.transferSubinventory),
      OrganizationCode: locationOrganizations.get(row.locationId),
      ItemNumber: row.sku,
      SubinventoryCode: row.subinventory,
      ...(row.lot === '' ? {} : { LotNumber: row.lot }),
      TransactionQuantity: row.erpQuantity,
      TransactionUnitOfMeasure: row.unitOfMeasure,
      TransactionDate: row.occurredAt.toISOString(),
      ...(row.transferSubinventory === null ? {} : { TransferSubinventory: row.transferSubinventory }),
      ...(row.counterpartLocationId === null ? {} : { TransferOrganizationName: locationOrganizations.get(row.counterpartLocationId) }),
      // Fusion costs a transaction that names no cost at the item's current cost only when asked to.
      UseCurrentCostFlag: true,
      ...(row.serials.length === 0 ? {} : { serials: row.serials.map((serial) => ({ FmSerialNumber: serial, ToSerialNumber: serial })) }),
    },
  };
}
