import { UnreachableCaseError } from '../../../../platform/lang/unreachableCaseError.ts';
import type { LedgerEffect } from '../applyBucketEffects.ts';

/** What happens to a reservation's stock: it is made (`reserve`), consumed by an order (`confirm`), or given back (`release`, `expire`). */
export type ReservationStockAction = 'reserve' | 'confirm' | 'release' | 'expire';

/**
 * What one line of a reservation (its quantity at one location, carried by one nettable
 * subinventory, without a lot) does to that position: reserving adds to `reserved`; an order
 * consuming it moves the quantity from `reserved` to `allocated`; giving it back takes it out of
 * `reserved`.
 */
export function reservationLineEffects({ subinventory, quantity }: { readonly subinventory: string; readonly quantity: number }, action: ReservationStockAction): LedgerEffect[] {
  const effect = (bucket: LedgerEffect['bucket'], change: number): LedgerEffect => ({ subinventory, lot: '', bucket, op: 'add', quantity: change });
  switch (action) {
    case 'reserve':
      return [effect('reserved', quantity)];
    case 'confirm':
      return [effect('reserved', -quantity), effect('allocated', quantity)];
    case 'release':
    case 'expire':
      return [effect('reserved', -quantity)];
    default:
      throw new UnreachableCaseError(action);
  }
}
