import { UnreachableCaseError } from '../../../../platform/lang/unreachableCaseError.ts';
import type { LedgerEffect } from '../applyBucketEffects.ts';

/**
 * What happens to a reservation's stock: it is made (`reserve`), confirmed (`confirm`), consumed
 * by an order (`consume`), or given back (`release`, `expire`).
 */
export type ReservationStockAction = 'reserve' | 'confirm' | 'consume' | 'release' | 'expire';

/** Units on one position (subinventory x lot). */
export interface PositionQuantity {
  readonly subinventory: string;
  readonly lot: string;
  readonly quantity: number;
}

/** Where a reservation line's units are: on its lots' positions, or on its subinventory's position without a lot. */
export interface ReservationHoldings {
  /** The nettable subinventory that carries a line without lots, and an order's allocation of the line. */
  readonly subinventory: string;
  readonly quantity: number;
  /** Lot-controlled items: the lots held, adding up to `quantity`; empty otherwise. */
  readonly lots: readonly PositionQuantity[];
}

/** The positions a line's units are on. */
const positionsOf = (line: ReservationHoldings): readonly PositionQuantity[] =>
  line.lots.length > 0 ? line.lots : [{ subinventory: line.subinventory, lot: '', quantity: line.quantity }];

/** Adds `sign` times each quantity to `bucket` of its position. */
export function positionEffects(bucket: LedgerEffect['bucket'], quantities: readonly PositionQuantity[], sign: 1 | -1): LedgerEffect[] {
  return quantities.map(({ subinventory, lot, quantity }) => ({ subinventory, lot, bucket, op: 'add', quantity: sign * quantity }));
}

/**
 * What one line of a reservation (its quantity at one location) does to that location's
 * positions: reserving adds to `reserved` of each position it holds; confirming moves the
 * quantity from `reserved` to `allocated` there; an order consuming it takes it out of `reserved`
 * and allocates it on the line's subinventory without a lot, where an order's allocations are
 * kept (orders hold stock per location, the warehouse picks the lots); giving it back takes it
 * out of `reserved`.
 */
export function reservationLineEffects(line: ReservationHoldings, action: ReservationStockAction): LedgerEffect[] {
  const held = positionsOf(line);
  switch (action) {
    case 'reserve':
      return positionEffects('reserved', held, 1);
    case 'confirm':
      return [...positionEffects('reserved', held, -1), ...positionEffects('allocated', held, 1)];
    case 'consume':
      return [...positionEffects('reserved', held, -1), ...positionEffects('allocated', [{ subinventory: line.subinventory, lot: '', quantity: line.quantity }], 1)];
    case 'release':
    case 'expire':
      return positionEffects('reserved', held, -1);
    default:
      throw new UnreachableCaseError(action);
  }
}
