import type { Prisma, PrismaClient } from '../../../platform/database/generated/client.ts';
import type { ErpSerialBatchPlan } from '../domain/transfers/erpSerialBatches.ts';
import type { TransferEnd } from '../domain/transfers/transferRequest.ts';

/** A batch claimed by one pusher, with what the ERP call needs from its transfer. */
export interface ClaimedSerialBatch {
  readonly reference: string;
  readonly transferId: string;
  /** The claim's number (attempts so far, this one included); only this claim may settle it. */
  readonly attempt: number;
  readonly serials: readonly string[];
  readonly sku: string;
  readonly unitOfMeasure: string;
  readonly from: TransferEnd;
  readonly to: TransferEnd;
  /** When the transfer shipped or completed. */
  readonly shippedAt: Date;
}

/** How a claim ended. */
export type SerialBatchOutcome =
  | { readonly kind: 'sent'; readonly erpTransactionId: string }
  | { readonly kind: 'retry'; readonly error: string; readonly afterMs: number }
  | { readonly kind: 'refused'; readonly reason: string }
  /** The pusher stopped before it knew; the batch is due again at once. */
  | { readonly kind: 'released' };

export interface SerialBatchBacklog {
  readonly pendingBatches: number;
  readonly pendingSerials: number;
  /** Refused by the ERP (or impossible to send); they wait for an operator. */
  readonly failedBatches: number;
  readonly oldestPendingAt: Date | null;
}

/** Records, in the transfer's own transaction, that these serials are due to the ERP. */
export async function insertErpSerialBatches(tx: Prisma.TransactionClient, transferId: string, batches: readonly ErpSerialBatchPlan[]): Promise<void> {
  if (batches.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO erp_serial_batch (reference, transfer_id, serials)
    SELECT b.reference, ${transferId}, ARRAY(SELECT serial FROM json_array_elements_text(b.serials) WITH ORDINALITY AS s(serial, n) ORDER BY n)
      FROM json_to_recordset(${JSON.stringify(batches)}::json) AS b(reference text, serials json)`;
}

/**
 * Claims up to `limit` batches that are due, oldest first, for `leaseMs`: no other pusher takes
 * them until the lease runs out, which is what happens to the batches of a pusher that dies.
 * Batches that another pusher is claiming at this moment are skipped, not waited for.
 */
export async function claimDueSerialBatches(prisma: PrismaClient, limit: number, leaseMs: number): Promise<ClaimedSerialBatch[]> {
  const rows = await prisma.$queryRaw<(Omit<ClaimedSerialBatch, 'from' | 'to'> & Record<'fromLocationId' | 'fromSubinventory' | 'toLocationId' | 'toSubinventory', string>)[]>`
    WITH due AS (
      SELECT reference FROM erp_serial_batch
       WHERE status = 'PENDING' AND next_attempt_at <= now()
       ORDER BY next_attempt_at, reference
       LIMIT ${limit}
       FOR UPDATE SKIP LOCKED)
    UPDATE erp_serial_batch b
       SET attempts = b.attempts + 1, next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
      FROM due, transfer t, item i
     WHERE b.reference = due.reference AND t.id = b.transfer_id AND i.sku = t.sku
    RETURNING b.reference, b.transfer_id AS "transferId", b.attempts AS attempt, b.serials, t.sku, i.unit_of_measure AS "unitOfMeasure",
              t.from_location_id AS "fromLocationId", t.from_subinventory AS "fromSubinventory",
              t.to_location_id AS "toLocationId", t.to_subinventory AS "toSubinventory", t.created_at AS "shippedAt"`;
  return rows.map(({ fromLocationId, fromSubinventory, toLocationId, toSubinventory, ...batch }) => ({
    ...batch,
    from: { locationId: fromLocationId, subinventory: fromSubinventory },
    to: { locationId: toLocationId, subinventory: toSubinventory },
  }));
}

/**
 * Records how a claim ended. A claim that has been overtaken (its lease ran out and another
 * pusher claimed the batch, or settled it) changes nothing; returns whether it still held.
 */
export async function settleSerialBatch(prisma: PrismaClient, batch: ClaimedSerialBatch, outcome: SerialBatchOutcome): Promise<boolean> {
  const status = outcome.kind === 'sent' ? 'SENT' : outcome.kind === 'refused' ? 'FAILED' : 'PENDING';
  const afterMs = outcome.kind === 'retry' ? outcome.afterMs : 0;
  const lastError = outcome.kind === 'retry' ? outcome.error : outcome.kind === 'refused' ? outcome.reason : outcome.kind === 'released' ? 'interrupted by a stop before the ERP answered' : null;
  const erpTransactionId = outcome.kind === 'sent' ? outcome.erpTransactionId : null;
  const settled = await prisma.$executeRaw`
    UPDATE erp_serial_batch
       SET status = ${status}::"ErpPushStatus", next_attempt_at = now() + ${afterMs} * interval '1 millisecond',
           last_error = ${lastError}, erp_transaction_id = ${erpTransactionId},
           sent_at = CASE WHEN ${status} = 'SENT' THEN now() END
     WHERE reference = ${batch.reference} AND attempts = ${batch.attempt} AND status = 'PENDING'`;
  return settled === 1;
}

/** What is still to send, and what the ERP refused. */
export async function serialBatchBacklog(prisma: PrismaClient): Promise<SerialBatchBacklog> {
  const [row] = await prisma.$queryRaw<SerialBatchBacklog[]>`
    SELECT count(*) FILTER (WHERE status = 'PENDING')::int AS "pendingBatches",
           coalesce(sum(cardinality(serials)) FILTER (WHERE status = 'PENDING'), 0)::int AS "pendingSerials",
           count(*) FILTER (WHERE status = 'FAILED')::int AS "failedBatches",
           min(created_at) FILTER (WHERE status = 'PENDING') AS "oldestPendingAt"
      FROM erp_serial_batch
     WHERE status IN ('PENDING', 'FAILED')`;
  return row!;
}
