import { applyBucketEffects, type LedgerEffect } from '../applyBucketEffects.ts';
import { firstExpiryFirstOut, isLotExpired, type LotSupply } from '../lotSelection.ts';
import { summarizeStockLevel, type PositionState } from '../stockLevelSummary.ts';
import { positionEffects } from './reservationEffects.ts';

/** Units of one lot a reservation holds, on the lot's position in a nettable subinventory. */
export interface ReservedLot {
  readonly subinventory: string;
  readonly lot: string;
  /** Null when the lot does not expire. */
  readonly expiresAt: Date | null;
  readonly quantity: number;
}

/**
 * What each lot of an item at one location has that nothing holds yet, per position of a lot in
 * a nettable subinventory: on hand less quality hold, reservations and allocations there.
 */
function unheldLots(positions: Iterable<PositionState>): (LotSupply & { readonly subinventory: string })[] {
  const supplies: (LotSupply & { subinventory: string })[] = [];
  for (const position of positions) {
    if (!position.lot || !position.nettable) continue;
    const unheld = position.onHandWms - position.qualityHold - position.reserved - position.allocated;
    supplies.push({ subinventory: position.subinventory, lot: position.lot, expiresAt: position.lotExpiresAt, quantity: Math.max(0, unheld) });
  }
  return supplies;
}

/**
 * The most a reservation of a lot-controlled item can hold at a location whose level can promise
 * `available`: no more than its unexpired lots have unheld, so that every unit reserved is a unit
 * of a lot (see chooseReservedLots).
 */
export function reservableInLots(positions: Iterable<PositionState>, available: number, now: Date): number {
  const unheld = unheldLots(positions).filter((supply) => !isLotExpired(supply.expiresAt, now)).reduce((sum, supply) => sum + supply.quantity, 0);
  return Math.min(available, unheld);
}

/**
 * The lots for `quantity` units of a lot-controlled item at one location, first expiry first out,
 * from what no one holds of the lots unexpired at `now`, in that order; null when they cannot
 * cover it (never for a quantity within reservableInLots).
 */
export function chooseReservedLots(quantity: number, positions: Iterable<PositionState>, now: Date): ReservedLot[] | null {
  const taken = firstExpiryFirstOut(quantity, unheldLots(positions), now);
  return taken && taken.map(({ supply, quantity: part }) => ({ subinventory: supply.subinventory, lot: supply.lot, expiresAt: supply.expiresAt, quantity: part }));
}

/** What becomes of a reservation line whose lots have expired (see planLotExpiry). */
export interface LotExpiryPlan {
  /** The lots the line holds afterwards, first expiry first: those it kept, and the replacements. */
  readonly lots: readonly ReservedLot[];
  /** What it held of lots expired at the time: given up. */
  readonly expired: readonly ReservedLot[];
  /** Units it holds afterwards: 0 when nothing could replace its expired lots and it held no other. */
  readonly quantity: number;
  /** To the line's positions: the expired lots' reserved units given back, the replacements' reserved. */
  readonly effects: readonly LedgerEffect[];
}

/**
 * What the reservation line `line` (at one location, whose positions are `positions` and safety
 * stock `safetyStock`) does about the lots it holds that have expired at `now`: gives them up, and
 * holds as many units instead of the location's unexpired lots, first expiry first, as the location
 * can promise once they are given up; what it cannot replace is released. A line none of whose
 * lots expired is left as it is.
 */
export function planLotExpiry(line: { readonly quantity: number; readonly lots: readonly ReservedLot[] }, positions: ReadonlyMap<string, PositionState>, safetyStock: number, now: Date): LotExpiryPlan {
  const expired = line.lots.filter((lot) => isLotExpired(lot.expiresAt, now));
  if (expired.length === 0) return { lots: line.lots, expired: [], quantity: line.quantity, effects: [] };
  const givenUp = positionEffects('reserved', expired, -1);
  const freed = applyBucketEffects(positions, givenUp, () => null);
  // The line's own units are reserved on its positions, so giving them back cannot be refused.
  if (!freed.ok) throw new TypeError(`planLotExpiry: the line's expired lots are not reserved where it says (${freed.reason})`);
  const wanted = expired.reduce((sum, lot) => sum + lot.quantity, 0);
  const available = summarizeStockLevel(freed.positions.values(), safetyStock, now).available;
  const replacements = chooseReservedLots(Math.min(wanted, reservableInLots(freed.positions.values(), available, now)), freed.positions.values(), now) ?? [];
  const lots = mergeLots([...line.lots.filter((lot) => !expired.includes(lot)), ...replacements]);
  return {
    lots,
    expired,
    quantity: lots.reduce((sum, lot) => sum + lot.quantity, 0),
    effects: [...givenUp, ...positionEffects('reserved', replacements, 1)],
  };
}

/** One entry per lot position, first expiry first (lots without expiry last), then by lot and subinventory. */
function mergeLots(lots: readonly ReservedLot[]): ReservedLot[] {
  const byPosition = new Map<string, ReservedLot>();
  for (const lot of lots) {
    const key = `${lot.subinventory}\u0000${lot.lot}`;
    const held = byPosition.get(key);
    byPosition.set(key, held ? { ...held, quantity: held.quantity + lot.quantity } : lot);
  }
  return [...byPosition.values()].sort((a, b) =>
    (a.expiresAt?.getTime() ?? Infinity) - (b.expiresAt?.getTime() ?? Infinity) || compare(a.lot, b.lot) || compare(a.subinventory, b.subinventory));
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
