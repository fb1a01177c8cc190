import {
  inventoryTransactionRecorded, stockLevelChanged, type PayloadOf, type STOCK_CHANGE_CAUSE_TYPES, type StockBucketsPayload,
} from '../../../platform/contracts/events.ts';
import { outboxRecord, type OutboxRecord } from '../../../platform/events/outbox.ts';
import type { StockLevelBuckets } from '../domain/stockLevelSummary.ts';

/** The producer name of the inventory's outbox records; its relay publishes them. */
export const INVENTORY_PRODUCER = 'inventory';

/** What made a stock change; its event tells it, with the change's source. */
export interface StockChangeCause {
  readonly type: (typeof STOCK_CHANGE_CAUSE_TYPES)[number];
  readonly id: string;
  /** A warehouse event's own id in its source (WAREHOUSE_EVENT only). */
  readonly eventId?: string;
}

/** What a stock change's event says of it. */
export interface StockChangeEvent {
  readonly sku: string;
  readonly locationId: string;
  readonly sequence: number;
  readonly cause: StockChangeCause;
  /** Who reported the change (see StockChange.source in stockLedger.ts). */
  readonly source: string;
  readonly before: StockLevelBuckets;
  readonly after: StockLevelBuckets;
}

/** The `inventory.stockLevel.changed` outbox record of a change made at `occurredAt`. */
export function stockChangeRecord(change: StockChangeEvent, occurredAt: Date): OutboxRecord {
  const { type, id, eventId = null } = change.cause;
  return outboxRecord(stockLevelChanged, {
    sku: change.sku,
    locationId: change.locationId,
    sequence: change.sequence,
    cause: { type, id, source: change.source, eventId },
    before: bucketsPayload(change.before),
    after: bucketsPayload(change.after),
    occurredAt: occurredAt.toISOString(),
  });
}

type TransactionPayload = PayloadOf<typeof inventoryTransactionRecorded>;

/** What an inventory transaction's event says of it. */
export interface InventoryTransactionEvent extends Omit<TransactionPayload, 'lines' | 'serials' | 'occurredAt'> {
  readonly lines: readonly TransactionPayload['lines'][number][];
  readonly serials: readonly string[];
  readonly occurredAt: Date;
}

/** The `inventory.transaction.recorded` outbox record of a transaction. */
export function transactionRecord(transaction: InventoryTransactionEvent): OutboxRecord {
  const { lines, serials, occurredAt } = transaction;
  return outboxRecord(inventoryTransactionRecorded, { ...transaction, lines: [...lines], serials: [...serials], occurredAt: occurredAt.toISOString() });
}

function bucketsPayload(buckets: StockLevelBuckets): StockBucketsPayload {
  return { ...buckets, inboundExpectedAt: buckets.inboundExpectedAt?.toISOString() ?? null };
}
