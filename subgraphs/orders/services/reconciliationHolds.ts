import { holdCleared, holdPlaced, type PayloadOf } from '../../../platform/contracts/events.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import type { DecodedEvent } from '../../../platform/events/decodedEvent.ts';
import { recordClearedHolds, recordPlacedHolds } from '../data/releaseHoldStore.ts';
import type { OrderFulfilment } from './orderFulfilment.ts';

/**
 * Keeps the reconciliation holds on order releases as their events tell (placed, cleared), in
 * the consumer's transaction, and releases the orders whose release waited for a hold that has
 * cleared, unless another still stands on one of their lines.
 */
export async function applyReconciliationHolds(tx: Prisma.TransactionClient, events: readonly DecodedEvent[], fulfilment: OrderFulfilment): Promise<void> {
  const placed = events.filter((event) => event.type === holdPlaced.type).map((event) => event.payload as PayloadOf<typeof holdPlaced>);
  const cleared = events.filter((event) => event.type === holdCleared.type).map((event) => event.payload as PayloadOf<typeof holdCleared>);
  // A hold's events arrive in order, placed before cleared: placements first, then clearings.
  await recordPlacedHolds(tx, placed);
  const lifted = await recordClearedHolds(tx, cleared);
  if (lifted.length > 0) await fulfilment.releaseWaitingOrders(tx, lifted, new Date());
}
