import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';

/** A warehouse confirmation as warehouse_confirmation keeps it. */
export interface ConfirmationRecord {
  readonly source: string;
  readonly eventId: string;
  readonly type: string;
  readonly orderReference: string;
  readonly orderId: string | null;
  readonly sku: string;
  readonly locationId: string;
  readonly quantity: number;
  readonly outcome: 'APPLIED' | 'UNMATCHED' | 'INAPPLICABLE';
  readonly reason: string | null;
  readonly occurredAt: string;
}

/** Of these warehouse events, (`<source>\0<eventId>`) those received before. */
export async function confirmationsReceived(tx: Prisma.TransactionClient, events: readonly { source: string; eventId: string }[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await tx.$queryRaw<{ source: string; eventId: string }[]>`
    SELECT c.source, c.event_id AS "eventId"
      FROM warehouse_confirmation c
      JOIN ${recordset(events.map((e) => ({ source: e.source, event_id: e.eventId })), 'e', { source: 'text', event_id: 'text' })}
        ON c.source = e.source AND c.event_id = e.event_id`;
  return new Set(rows.map((row) => `${row.source}\u0000${row.eventId}`));
}

/** The statement that records confirmations received (an OrderLedger.write `alongside`). */
export function confirmationInserts(records: readonly ConfirmationRecord[]): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO warehouse_confirmation (source, event_id, type, order_reference, order_id, sku, location_id, quantity, outcome, reason, occurred_at)
    SELECT * FROM ${recordset(records.map((r) => ({
      source: r.source, event_id: r.eventId, type: r.type, order_reference: r.orderReference, order_id: r.orderId, sku: r.sku,
      location_id: r.locationId, quantity: r.quantity, outcome: r.outcome, reason: r.reason, occurred_at: r.occurredAt,
    })), 'v', {
      source: 'text', event_id: 'text', type: 'text', order_reference: 'text', order_id: 'text', sku: 'text', location_id: 'text',
      quantity: 'int', outcome: 'text', reason: 'text', occurred_at: 'timestamptz',
    })}
    ON CONFLICT (source, event_id) DO NOTHING`;
}
