import {
  inventoryTransactionRecorded, reservationChanged, stockLevelChanged, type PayloadOf, type STOCK_CHANGE_CAUSE_TYPES, type StockBucketsPayload,
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

type ReservationChangePayload = PayloadOf<typeof reservationChanged>;

/** A lot a reservation holds, as its change events describe it. */
interface HeldLot {
  readonly subinventory: string;
  readonly lot: string;
  readonly expiresAt: Date | null;
  readonly quantity: number;
}

/** A reservation as its change events describe it. */
export interface ReservationSnapshot {
  readonly id: string;
  readonly sku: string;
  readonly reference: string;
  readonly channel: string;
  readonly status: ReservationChangePayload['status'];
  readonly quantity: number;
  readonly expiresAt: Date;
  readonly version: number;
  readonly lines: readonly { readonly locationId: string; readonly subinventory: string; readonly quantity: number; readonly lots: readonly HeldLot[] }[];
}

/** What a reservation change's event says of it. */
export interface ReservationChangeEvent {
  readonly kind: ReservationChangePayload['kind'];
  /** As the change left it, with the change's version. */
  readonly reservation: ReservationSnapshot;
  /** As it was before; null for its creation. */
  readonly previous: ReservationSnapshot | null;
  readonly cause: ReservationChangePayload['cause'];
  /** LOTS_EXPIRED: what it held of the lots that expired, at each location. */
  readonly expiredLots?: readonly (HeldLot & { readonly locationId: string })[];
}

/**
 * The `inventory.reservation.changed` outbox record of a change made at `occurredAt`. It carries
 * the correlation id of the change's own request, which reservations batched together do not
 * share.
 */
export function reservationChangeRecord(change: ReservationChangeEvent, occurredAt: Date): OutboxRecord {
  const { kind, reservation, previous, cause, expiredLots = [] } = change;
  const record = outboxRecord(reservationChanged, {
    reservationId: reservation.id,
    version: reservation.version,
    kind,
    status: reservation.status,
    previousStatus: previous?.status ?? null,
    sku: reservation.sku,
    reference: reservation.reference,
    channel: reservation.channel,
    quantity: reservation.quantity,
    previousQuantity: previous?.quantity ?? null,
    expiresAt: reservation.expiresAt.toISOString(),
    lines: reservation.lines.map((line) => ({ locationId: line.locationId, subinventory: line.subinventory, quantity: line.quantity, lots: line.lots.map(lotPayload) })),
    expiredLots: expiredLots.map((lot) => ({ locationId: lot.locationId, ...lotPayload(lot) })),
    locationIds: [...new Set([...(previous?.lines ?? []), ...reservation.lines].map((line) => line.locationId))].sort(),
    cause,
    at: occurredAt.toISOString(),
  });
  return { ...record, correlationId: cause.correlationId };
}

function lotPayload({ subinventory, lot, expiresAt, quantity }: HeldLot) {
  return { subinventory, lot, expiresAt: expiresAt?.toISOString() ?? null, quantity };
}

function bucketsPayload(buckets: StockLevelBuckets): StockBucketsPayload {
  return { ...buckets, inboundExpectedAt: buckets.inboundExpectedAt?.toISOString() ?? null };
}
