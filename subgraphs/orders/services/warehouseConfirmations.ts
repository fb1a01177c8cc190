import type { PayloadOf, warehouseEventApplied } from '../../../platform/contracts/events.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import type { DecodedEvent } from '../../../platform/events/decodedEvent.ts';
import { confirmationInserts, confirmationsReceived, type ConfirmationRecord } from '../data/confirmationStore.ts';
import { OrderLedger } from '../data/orderLedger.ts';
import { applyConfirmation } from '../domain/warehouseConfirmation.ts';

type Confirmation = PayloadOf<typeof warehouseEventApplied>;

/**
 * Applies warehouse confirmations (inventory.warehouseEvent.applied) to their orders, in the
 * consumer's transaction, in stream order: each warehouse event once (warehouse_confirmation
 * remembers every one received, so a relay's repeat changes nothing), with a fixed number of
 * statements per batch. One that names no order is kept UNMATCHED, one its order cannot take
 * INAPPLICABLE with the reason: queryable, never dropped.
 */
export async function applyWarehouseConfirmations(tx: Prisma.TransactionClient, events: readonly DecodedEvent[]): Promise<void> {
  const received = await confirmationsReceived(tx, events.map((event) => event.payload as Confirmation));
  const fresh: Confirmation[] = [];
  for (const { payload } of events) {
    const confirmation = payload as Confirmation;
    const key = `${confirmation.source}\u0000${confirmation.eventId}`;
    if (received.has(key)) continue;
    received.add(key);
    fresh.push(confirmation);
  }
  if (fresh.length === 0) return;
  const ledger = await OrderLedger.open(tx, { references: [...new Set(fresh.map((confirmation) => confirmation.orderReference))] });
  const records = fresh.map((confirmation): ConfirmationRecord => {
    const order = ledger.orderByReference(confirmation.orderReference);
    const record = {
      source: confirmation.source, eventId: confirmation.eventId, type: confirmation.type, orderReference: confirmation.orderReference,
      orderId: order?.id ?? null, sku: confirmation.sku, locationId: confirmation.locationId, quantity: confirmation.quantity, occurredAt: confirmation.occurredAt,
    };
    if (!order) return { ...record, outcome: 'UNMATCHED', reason: `no order has the reference ${confirmation.orderReference}` };
    const applied = applyConfirmation(order, confirmation, {
      cause: { type: 'WAREHOUSE_EVENT', id: `${confirmation.source}:${confirmation.eventId}` },
      actor: confirmation.source,
      at: new Date(confirmation.occurredAt),
    });
    if (applied.outcome === 'INAPPLICABLE') return { ...record, outcome: 'INAPPLICABLE', reason: applied.reason };
    ledger.apply(applied.change);
    return { ...record, outcome: 'APPLIED', reason: null };
  });
  await ledger.write([confirmationInserts(records)]);
}
