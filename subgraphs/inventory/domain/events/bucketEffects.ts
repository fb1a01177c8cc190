import { UnreachableCaseError } from '../../../../platform/lang/unreachableCaseError.ts';
import type { InventoryEventType, ItemEvent } from './canonicalEvent.ts';

export type StockBucket = 'onHandWms' | 'allocated' | 'qualityHold' | 'inboundInTransit' | 'damaged';

/** One change to one bucket of one position (sku x location x subinventory x lot) of the event's item. */
export interface BucketEffect {
  readonly subinventory: string;
  readonly lot: string;
  readonly bucket: StockBucket;
  /** `add` may be negative; `set` is an absolute count. */
  readonly op: 'add' | 'set';
  readonly quantity: number;
}

/**
 * What one movement does to the buckets of its item at its location, in the order to apply
 * them. Every effect is on the event's subinventory and lot unless stated; q is the quantity.
 *
 * - RECEIPT: on hand +q.
 * - PICK: allocated +q (picked for an order, not shipped yet).
 * - PACK: nothing; packing changes the order's status, not the stock.
 * - SHIP: on hand -q and allocated -q.
 * - DELIVERY: nothing; the carrier's confirmation changes the order's status, not the stock.
 * - ADJUSTMENT: on hand +q, q signed.
 * - CYCLE_COUNT: on hand set to q.
 * - TRANSFER_OUT: on hand -q.
 * - TRANSFER_IN: on hand +q and inbound in transit -q.
 * - RETURN_RECEIVED: on hand +q in the event's subinventory (QA, awaiting inspection, unless the WMS says otherwise).
 * - RETURN_RESTOCKED: on hand -q in fromSubinventory (QA unless the WMS says otherwise), then +q in
 *   the event's subinventory: a nettable one restocks the units, DAMAGED scraps them.
 * - QUALITY_HOLD: quality hold +q; QUALITY_RELEASE: quality hold -q.
 *
 * Pure: clamping and refusing a bucket that would go below zero is the caller's business.
 */
export function bucketEffectsOf(event: ItemEvent): BucketEffect[] {
  const { subinventory, lot, quantity } = event;
  const add = (bucket: StockBucket, change: number, where = subinventory): BucketEffect =>
    ({ subinventory: where, lot, bucket, op: 'add', quantity: change });
  switch (event.type) {
    case 'RECEIPT':
      return [add('onHandWms', quantity)];
    case 'PICK':
      return [add('allocated', quantity)];
    case 'PACK':
    case 'DELIVERY':
      return [];
    case 'SHIP':
      return [add('onHandWms', -quantity), add('allocated', -quantity)];
    case 'ADJUSTMENT':
      return [add('onHandWms', quantity)];
    case 'CYCLE_COUNT':
      return [{ subinventory, lot, bucket: 'onHandWms', op: 'set', quantity }];
    case 'TRANSFER_OUT':
      return [add('onHandWms', -quantity)];
    case 'TRANSFER_IN':
      return [add('onHandWms', quantity), add('inboundInTransit', -quantity)];
    case 'RETURN_RECEIVED':
      return [add('onHandWms', quantity)];
    case 'RETURN_RESTOCKED':
      return [add('onHandWms', -quantity, event.fromSubinventory ?? 'QA'), add('onHandWms', quantity)];
    case 'QUALITY_HOLD':
      return [add('qualityHold', quantity)];
    case 'QUALITY_RELEASE':
      return [add('qualityHold', -quantity)];
    default: {
      const unhandled: never = event.type;
      throw new TypeError(`Unknown inventory event type ${String(unhandled)}`);
    }
  }
}

/**
 * What a movement that names serial numbers does to where they are: `arrive` puts them in
 * stock at the event's location, subinventory and lot; `leave` takes them off the books;
 * null leaves them where they are.
 */
export function serialMovementOf(event: ItemEvent): 'arrive' | 'leave' | null {
  if (event.serials.length === 0) return null;
  switch (event.type) {
    case 'RECEIPT':
    case 'TRANSFER_IN':
    case 'RETURN_RECEIVED':
    case 'RETURN_RESTOCKED':
      return 'arrive';
    case 'SHIP':
    case 'TRANSFER_OUT':
      return 'leave';
    case 'ADJUSTMENT':
      return event.quantity > 0 ? 'arrive' : 'leave';
    case 'PICK':
    case 'PACK':
    case 'DELIVERY':
    case 'CYCLE_COUNT':
    case 'QUALITY_HOLD':
    case 'QUALITY_RELEASE':
      return null;
    default: {
      const unhandled: never = event.type;
      throw new TypeError(`Unknown inventory event type ${String(unhandled)}`);
    }
  }
}

/** The movements the ERP records as inventory transactions, each under its own name. */
export type TransactionEventType = Exclude<InventoryEventType, 'PACK' | 'DELIVERY' | 'QUALITY_HOLD' | 'QUALITY_RELEASE'>;

/**
 * Whether the ERP records the movement as an inventory transaction: every movement that changes
 * on hand, and a pick, which commits stock to an order. Packing and delivery change an order's
 * status, a quality hold what may be promised: none changes what the ERP holds.
 */
export function isErpTransaction(type: InventoryEventType): type is TransactionEventType {
  switch (type) {
    case 'RECEIPT':
    case 'PICK':
    case 'SHIP':
    case 'ADJUSTMENT':
    case 'CYCLE_COUNT':
    case 'TRANSFER_OUT':
    case 'TRANSFER_IN':
    case 'RETURN_RECEIVED':
    case 'RETURN_RESTOCKED':
      return true;
    case 'PACK':
    case 'DELIVERY':
    case 'QUALITY_HOLD':
    case 'QUALITY_RELEASE':
      return false;
    default:
      throw new UnreachableCaseError(type);
  }
}
