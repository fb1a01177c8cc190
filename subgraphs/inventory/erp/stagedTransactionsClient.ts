import { basicAuthorization, requestErp, TransientErpFailure } from './erpHttp.ts';

/** Oracle Fusion SCM's staged inventory transactions collection (REST framework version 11.13.18.05). */
const STAGED_TRANSACTIONS_PATH = '/fscmRestApi/resources/11.13.18.05/inventoryStagedTransactions';

/** Names the ERP's transactions after us, so that its operators see where they came from. */
const STOCKGRAPH_SOURCE_CODE = 'STOCKGRAPH';

export interface StagedTransactionsClientOptions {
  /** The Fusion pod, e.g. `https://example.fa.ocs.oraclecloud.com`; the resource path is appended. */
  readonly baseUrl: string;
  /** HTTP Basic credentials. */
  readonly auth?: { readonly username: string; readonly password: string };
  /** How long one call may take, answer included, in milliseconds. */
  readonly timeoutMs: number;
}

/** Serials of one item moved from one subinventory to another, as the ERP is told of them. */
export interface SerialTransferTransaction {
  /** Our reference for the call, the same on every resend. */
  readonly reference: string;
  readonly sku: string;
  readonly unitOfMeasure: string;
  readonly fromOrganization: string;
  readonly fromSubinventory: string;
  readonly toOrganization: string;
  readonly toSubinventory: string;
  readonly transactionDate: Date;
  readonly serials: readonly string[];
}

/**
 * One staged transaction in Oracle's attribute names: a subinventory transfer within one
 * organization, or an in-transit shipment to another; the quantity leaves the source, so it is
 * negative, one unit per serial, each serial a range of one (`FmSerialNumber` = `ToSerialNumber`).
 */
function toStagedTransaction(transaction: SerialTransferTransaction): Record<string, unknown> {
  const withinOrganization = transaction.fromOrganization === transaction.toOrganization;
  return {
    SourceCode: STOCKGRAPH_SOURCE_CODE,
    TransactionReference: transaction.reference,
    TransactionTypeName: withinOrganization ? 'Subinventory Transfer' : 'Intransit Shipment',
    OrganizationName: transaction.fromOrganization,
    ItemNumber: transaction.sku,
    SubinventoryCode: transaction.fromSubinventory,
    TransactionQuantity: -transaction.serials.length,
    TransactionUnitOfMeasure: transaction.unitOfMeasure,
    TransactionDate: transaction.transactionDate.toISOString(),
    ...(withinOrganization ? {} : { TransferOrganizationName: transaction.toOrganization }),
    TransferSubinventory: transaction.toSubinventory,
    UseCurrentCostFlag: true,
    serials: transaction.serials.map((serial) => ({ FmSerialNumber: serial, ToSerialNumber: serial })),
  };
}

/**
 * Creates one staged transaction; one attempt, no retry.
 *
 * @returns the ERP's TransactionInterfaceId for it.
 * @throws TransientErpFailure or ErpRefusal (see requestErp); the caller's abort reason when `signal` aborts.
 */
export async function postStagedTransaction(
  { baseUrl, auth, timeoutMs }: StagedTransactionsClientOptions,
  transaction: SerialTransferTransaction,
  signal?: AbortSignal,
): Promise<string> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (auth) headers.authorization = basicAuthorization(auth);
  const url = new URL(baseUrl.replace(/\/+$/, '') + STAGED_TRANSACTIONS_PATH);
  const body = await requestErp(url, { method: 'POST', headers, body: JSON.stringify(toStagedTransaction(transaction)), timeoutMs, signal });
  let created: unknown;
  try {
    created = JSON.parse(body);
  } catch {
    throw new TransientErpFailure('answered the transaction with a body that is not JSON');
  }
  const id = (created as { TransactionInterfaceId?: unknown } | null)?.TransactionInterfaceId;
  // Without its id we cannot tell the transaction was created; a resend under the same reference can.
  if (typeof id !== 'number' && typeof id !== 'string') throw new TransientErpFailure('answered the transaction without a TransactionInterfaceId');
  return String(id);
}
