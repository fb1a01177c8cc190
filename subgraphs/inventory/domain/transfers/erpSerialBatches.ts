/** The most serials the ERP takes in one call: Oracle Fusion's limit per staged transaction. */
const MAX_SERIALS_PER_ERP_CALL = 50;

export interface ErpSerialBatchPlan {
  /** `<transfer id>/<batch number from 1>`: the ERP transaction's reference, the same on every resend. */
  readonly reference: string;
  /** At most MAX_SERIALS_PER_ERP_CALL, in serial order. */
  readonly serials: readonly string[];
}

/**
 * The calls that tell the ERP about a transfer's serials, fixed when the transfer ships so
 * that a batch resent after a crash or a lost answer is the same batch under the same
 * reference. No serials, no batches.
 */
export function planErpSerialBatches(transferId: string, serials: readonly string[]): ErpSerialBatchPlan[] {
  const sorted = [...serials].sort();
  const batches: ErpSerialBatchPlan[] = [];
  for (let start = 0; start < sorted.length; start += MAX_SERIALS_PER_ERP_CALL) {
    batches.push({ reference: `${transferId}/${batches.length + 1}`, serials: sorted.slice(start, start + MAX_SERIALS_PER_ERP_CALL) });
  }
  return batches;
}
