import { UnreachableCaseError } from '../../../../platform/lang/unreachableCaseError.ts';
import { DAMAGED_SUBINVENTORY } from '../stockLevelSummary.ts';
import type { InventoryEventType, ItemEvent } from './canonicalEvent.ts';

export type StockBucket = 'onHandWms' | 'allocated' | 'qualityHold' | 'inboundInTransit';

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
 * - ADJUSTMENT: on hand +q, q signed. With reason DAMAGE in a subinventory other than DAMAGED,
 *   the units move between it and DAMAGED: on hand +q there, then -q in DAMAGED (damage found:
 *   q < 0; damaged units found sellable after all: q > 0).
 * - CYCLE_COUNT: on hand set to q.
 * - TRANSFER_OUT: on hand -q.
 * - TRANSFER_IN: on hand +q and inbound in transit -q.
 * - RETURN_RECEIVED: on hand +q in the event's subinventory (QA, awaiting inspection, unless the WMS says otherwise).
 * - RETURN_RESTOCKED: on hand -q in fromSubinventory (QA unless the WMS says otherwise), then +q in
 *   the event's subinventory: a nettable one restocks the units, DAMAGED scraps them.
 * - QUALITY_HOLD: quality hold +q; QUALITY_RELEASE: quality hold -q.
 *
 * Damaged stock has no bucket of its own: it is the WMS on hand of the DAMAGED subinventory
 * (DAMAGED_SUBINVENTORY), which a stock level shows as `damaged` and counts in neither nettable
 * nor non-nettable on hand. So every movement into or out of DAMAGED changes `damaged`: a damage
 * adjustment, an adjustment of DAMAGED itself (a write-off of damaged units: q < 0), a count of
 * it, a return restocked into it, a transfer out of it or into it.
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
    case 'ADJUSTMENT': {
      const counterpart = damageCounterpartOf(event);
      return counterpart === null ? [add('onHandWms', quantity)] : [add('onHandWms', quantity), add('onHandWms', -quantity, counterpart)];
    }
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
    default:
      throw new UnreachableCaseError(event.type);
  }
}

/** DAMAGED, where a damage adjustment of another subinventory sends its units (or takes them back from); null for any other movement. */
function damageCounterpartOf(event: ItemEvent): string | null {
  return event.type === 'ADJUSTMENT' && event.reason === 'DAMAGE' && event.subinventory !== DAMAGED_SUBINVENTORY ? DAMAGED_SUBINVENTORY : null;
}

/** Every subinventory a movement names or changes, each once: each must exist at its location. */
export function subinventoriesOf(event: ItemEvent): string[] {
  return [...new Set([event.subinventory, ...bucketEffectsOf(event).map((effect) => effect.subinventory)])];
}

/** Where a movement takes the serial numbers it names. */
export type SerialMovement =
  /** Into stock at the event's location and lot, in `subinventory`. */
  | { readonly kind: 'arrive'; readonly subinventory: string }
  /** Off the books. */
  | { readonly kind: 'leave' };

/**
 * What a movement that names serial numbers does to where they are: in stock where its units
 * arrive (a damage adjustment's in DAMAGED, or back out of it), or off the books where they
 * leave; null leaves them where they are.
 */
export function serialMovementOf(event: ItemEvent): SerialMovement | null {
  if (event.serials.length === 0) return null;
  const arriveIn = (subinventory: string): SerialMovement => ({ kind: 'arrive', subinventory });
  switch (event.type) {
    case 'RECEIPT':
    case 'TRANSFER_IN':
    case 'RETURN_RECEIVED':
    case 'RETURN_RESTOCKED':
      return arriveIn(event.subinventory);
    case 'SHIP':
    case 'TRANSFER_OUT':
      return { kind: 'leave' };
    case 'ADJUSTMENT': {
      const counterpart = damageCounterpartOf(event);
      if (counterpart !== null) return arriveIn(event.quantity > 0 ? event.subinventory : counterpart);
      return event.quantity > 0 ? arriveIn(event.subinventory) : { kind: 'leave' };
    }
    case 'PICK':
    case 'PACK':
    case 'DELIVERY':
    case 'CYCLE_COUNT':
    case 'QUALITY_HOLD':
    case 'QUALITY_RELEASE':
      return null;
    default:
      throw new UnreachableCaseError(event.type);
  }
}

/**
 * The serial numbers the movement's ERP transaction carries: those it moves (see
 * serialMovementOf) and those a pick commits to its order. A count names the serials it found,
 * which it moves nowhere: its transaction carries none.
 */
export function transactionSerialsOf(event: ItemEvent): readonly string[] {
  return event.type === 'PICK' || serialMovementOf(event) !== null ? event.serials : [];
}

/** The movements the ERP records as inventory transactions, each under its own name. */
export type TransactionEventType = Exclude<InventoryEventType, 'PACK' | 'DELIVERY' | 'QUALITY_HOLD' | 'QUALITY_RELEASE'>;

/**
 * Whether the ERP records the movement as an inventory transaction: every movement that changes
 * on hand, and a pick, which commits stock to an order. Packing and delivery change an order's
 * status, a quality hold what may be promised: none changes what the ERP holds. Moving units into
 * or out of DAMAGED changes on hand per subinventory, which the ERP keeps too: a damage adjustment
 * is a transaction with both subinventories' changes, which the ERP books as one subinventory transfer.
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
