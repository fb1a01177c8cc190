import { availableToPromise } from './availableToPromise.ts';
import type { InboundSupply } from './promiseDate.ts';
import { isLotExpired } from './lotSelection.ts';
import { isWithinStockRange } from './quantityRange.ts';

/**
 * The subinventory of units recorded as damaged: what the WMS has on hand there is a stock
 * level's `damaged`, counted apart from nettable and non-nettable on hand and never promised.
 */
export const DAMAGED_SUBINVENTORY = 'DAMAGED';

/** The buckets of one position (item x location x subinventory x lot) and what decides how they count. */
export interface PositionState {
  readonly subinventory: string;
  /** '' when the item is not lot-controlled. */
  readonly lot: string;
  /** Whether the subinventory counts toward availability. */
  readonly nettable: boolean;
  /** Expiry of the lot; null when there is no lot or it does not expire. */
  readonly lotExpiresAt: Date | null;
  readonly onHandWms: number;
  readonly onHandErp: number;
  readonly allocated: number;
  readonly reserved: number;
  readonly inboundInTransit: number;
  readonly inboundExpectedAt: Date | null;
  readonly qualityHold: number;
}

/** Item x location, summed over its positions; see StockLevel in schema.graphql for each meaning. */
export interface StockLevelBuckets {
  readonly onHandWms: number;
  readonly onHandErp: number;
  readonly onHandNonNettable: number;
  readonly expired: number;
  readonly allocated: number;
  readonly reserved: number;
  readonly inboundInTransit: number;
  readonly inboundExpectedAt: Date | null;
  readonly qualityHold: number;
  readonly damaged: number;
  readonly safetyStock: number;
  readonly available: number;
}

/**
 * Sums positions into a stock level. WMS on hand counts once, by where it is: in DAMAGED as
 * `damaged`, in another nettable subinventory as `onHandWms`, in any other as
 * `onHandNonNettable`. Stock in a lot that has expired at `now` stays in `onHandWms` but is
 * reported as `expired` and never promised; a quality hold on an expired lot is not subtracted
 * twice.
 */
export function summarizeStockLevel(positions: Iterable<PositionState>, safetyStock: number, now: Date): StockLevelBuckets {
  let onHandWms = 0, onHandErp = 0, onHandNonNettable = 0, expired = 0, allocated = 0, reserved = 0;
  let inboundInTransit = 0, qualityHold = 0, damaged = 0;
  let inboundExpectedAt: Date | null = null;
  for (const position of positions) {
    const isExpired = isLotExpired(position.lotExpiresAt, now);
    if (position.subinventory === DAMAGED_SUBINVENTORY) {
      damaged += position.onHandWms;
    } else if (position.nettable) {
      onHandWms += position.onHandWms;
      onHandErp += position.onHandErp;
      if (isExpired) expired += position.onHandWms;
      else qualityHold += position.qualityHold;
    } else {
      onHandNonNettable += position.onHandWms;
    }
    allocated += position.allocated;
    reserved += position.reserved;
    if (position.inboundInTransit > 0) {
      inboundInTransit += position.inboundInTransit;
      if (position.inboundExpectedAt && (!inboundExpectedAt || position.inboundExpectedAt < inboundExpectedAt)) {
        inboundExpectedAt = position.inboundExpectedAt;
      }
    }
  }
  const available = availableToPromise({ onHandNettable: onHandWms - expired, allocated, reserved, qualityHold, safetyStock });
  return {
    onHandWms, onHandErp, onHandNonNettable, expired, allocated, reserved,
    inboundInTransit, inboundExpectedAt, qualityHold, damaged, safetyStock, available,
  };
}

const SUMMED_FIGURES = ['onHandWms', 'onHandErp', 'onHandNonNettable', 'allocated', 'reserved', 'inboundInTransit', 'qualityHold', 'damaged'] as const;

/**
 * The first figure of `level`, summed over its positions, beyond the stock range (see
 * quantityRange.ts), or null: each position may be in range while their sum is not.
 */
export function figureBeyondStockRange(level: StockLevelBuckets): (typeof SUMMED_FIGURES)[number] | null {
  return SUMMED_FIGURES.find((figure) => !isWithinStockRange(level[figure])) ?? null;
}

/**
 * When a summary of `positions` taken at `now` stops holding with no change to them: the
 * earliest expiry of one of their lots after `now` (stock in a lot that expires stops counting
 * as available); null when no lot is still to expire.
 */
export function nextLotExpiry(positions: Iterable<PositionState>, now: Date): Date | null {
  let next: Date | null = null;
  for (const { lotExpiresAt } of positions) {
    if (lotExpiresAt && lotExpiresAt > now && (!next || lotExpiresAt < next)) next = lotExpiresAt;
  }
  return next;
}

/** A lot held at a stock level, summed over subinventories. */
export interface LotHolding {
  readonly lot: string;
  readonly expiresAt: Date | null;
  /** Whether it had expired at `now`. */
  readonly expired: boolean;
  readonly onHand: number;
  readonly qualityHold: number;
}

/** The lots among `positions`, in lot order; positions without a lot are left out. */
export function lotHoldings(positions: Iterable<PositionState>, now: Date): LotHolding[] {
  const lots = new Map<string, LotHolding>();
  for (const position of positions) {
    if (!position.lot) continue;
    const expired = isLotExpired(position.lotExpiresAt, now);
    const held = lots.get(position.lot) ?? { lot: position.lot, expiresAt: position.lotExpiresAt, expired, onHand: 0, qualityHold: 0 };
    lots.set(position.lot, { ...held, onHand: held.onHand + position.onHandWms, qualityHold: held.qualityHold + position.qualityHold });
  }
  return [...lots.values()].sort((a, b) => (a.lot < b.lot ? -1 : 1));
}

/** The inbound quantities among `positions` that have an expected arrival. */
export function inboundSupply(positions: Iterable<PositionState>): InboundSupply[] {
  const supply: InboundSupply[] = [];
  for (const { inboundInTransit, inboundExpectedAt } of positions) {
    if (inboundInTransit > 0 && inboundExpectedAt) supply.push({ quantity: inboundInTransit, expectedAt: inboundExpectedAt });
  }
  return supply;
}
