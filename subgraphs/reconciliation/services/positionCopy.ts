import type { PayloadOf, stockLevelChanged } from '../../../platform/contracts/events.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import type { DecodedEvent } from '../../../platform/events/decodedEvent.ts';
import { upsertPositions, type PositionState } from '../data/positionStore.ts';

type StockLevelChanged = PayloadOf<typeof stockLevelChanged>;

/**
 * Keeps reconciliation's copy of WMS and ERP on hand (reconciliation_position) as inventory's
 * stock changes tell, in the consumer's transaction: one statement per batch, each item x
 * location at the newest change the batch holds for it. A change's onHandWms and onHandErp are
 * nettable on hand, as a sync transaction's quantity is a change to it: the run compares like for
 * like. When an ERP balance changed onHandErp, the change's time is when the ERP last reported.
 */
export async function applyStockChanges(tx: Prisma.TransactionClient, events: readonly DecodedEvent[]): Promise<void> {
  const newest = new Map<string, PositionState>();
  for (const { key, payload } of events as readonly DecodedEvent<StockLevelChanged>[]) {
    const kept = newest.get(key);
    // A key's changes arrive in sequence order; what is not newer is a repeat.
    if (kept && kept.sequence >= payload.sequence) continue;
    const reported = payload.cause.type === 'ERP_BALANCE' && payload.before.onHandErp !== payload.after.onHandErp;
    newest.set(key, {
      sku: payload.sku,
      locationId: payload.locationId,
      wmsOnHand: payload.after.onHandWms,
      erpOnHand: payload.after.onHandErp,
      sequence: payload.sequence,
      erpReportedAt: reported ? payload.occurredAt : (kept?.erpReportedAt ?? null),
    });
  }
  await upsertPositions(tx, [...newest.values()]);
}
