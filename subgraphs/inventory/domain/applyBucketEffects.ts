import type { BucketEffect, StockBucket } from './events/bucketEffects.ts';
import { MAX_STOCK_QUANTITY, QUANTITY_OUT_OF_RANGE, STOCK_RANGE_DESCRIPTION } from './quantityRange.ts';
import type { PositionState } from './stockLevelSummary.ts';

/** A bucket a ledger change can touch: the warehouse's buckets, the ERP's view of on hand, and our reservations. */
export type LedgerBucket = StockBucket | 'onHandErp' | 'reserved';

/** A change to one bucket of one position; `add` may be negative, `set` is an absolute count. */
export interface LedgerEffect extends Omit<BucketEffect, 'bucket'> {
  readonly bucket: LedgerBucket;
  /** For inbound in transit: when the quantity is expected; a position keeps its earliest expected arrival. */
  readonly expectedAt?: Date;
}

export type EffectRejection = { readonly code: 'NEGATIVE_STOCK' | 'UNKNOWN_SUBINVENTORY' | typeof QUANTITY_OUT_OF_RANGE; readonly reason: string };

/** What effects did to the WMS on hand of one position, all of them taken together. */
export interface OnHandChange {
  readonly subinventory: string;
  readonly lot: string;
  readonly nettable: boolean;
  /** Signed, never 0. */
  readonly change: number;
}

export type EffectOutcome =
  | {
    readonly ok: true;
    readonly positions: Map<string, PositionState>;
    readonly changedBuckets: ReadonlySet<LedgerBucket>;
    /** Per position whose WMS on hand ended other than it began, in the order the effects first name them. */
    readonly onHandChanges: readonly OnHandChange[];
  }
  | ({ readonly ok: false } & EffectRejection);

export const positionKey = (subinventory: string, lot: string) => `${subinventory}\u0000${lot}`;

// On hand, the ERP's on hand, quality holds and our own reservations are counts of real units:
// going below zero means the change is wrong, so it is refused. Allocations and inbound quantities are expectations
// that a warehouse may overtake (a ship without a recorded pick, a receipt of an unannounced
// transfer), so they stop at zero instead.
const REFUSED_BELOW_ZERO: ReadonlySet<LedgerBucket> = new Set(['onHandWms', 'onHandErp', 'qualityHold', 'reserved']);

/**
 * Applies `effects` in order to the positions of one item x location, all or nothing.
 * `blankPosition` describes a position that does not exist yet, or returns null when its
 * subinventory is unknown at the location. Does not modify `positions`.
 */
export function applyBucketEffects(
  positions: ReadonlyMap<string, PositionState>,
  effects: readonly LedgerEffect[],
  blankPosition: (subinventory: string, lot: string) => PositionState | null,
): EffectOutcome {
  const next = new Map(positions);
  const changedBuckets = new Set<LedgerBucket>();
  const onHandKeys = new Set<string>();
  for (const effect of effects) {
    const key = positionKey(effect.subinventory, effect.lot);
    if (effect.bucket === 'onHandWms') onHandKeys.add(key);
    const current = next.get(key) ?? blankPosition(effect.subinventory, effect.lot);
    if (!current) {
      return { ok: false, code: 'UNKNOWN_SUBINVENTORY', reason: `subinventory ${effect.subinventory} does not exist at this location` };
    }
    const before = current[effect.bucket];
    const wanted = effect.op === 'set' ? effect.quantity : before + effect.quantity;
    const where = () => (effect.lot ? `${effect.subinventory}, lot ${effect.lot}` : effect.subinventory);
    if (wanted < 0 && REFUSED_BELOW_ZERO.has(effect.bucket)) {
      return { ok: false, code: 'NEGATIVE_STOCK', reason: `${effect.bucket} in ${where()} would go from ${before} to ${wanted}` };
    }
    if (wanted > MAX_STOCK_QUANTITY) {
      return { ok: false, code: QUANTITY_OUT_OF_RANGE, reason: `${effect.bucket} in ${where()} would go from ${before} to ${wanted}, ${STOCK_RANGE_DESCRIPTION}` };
    }
    const after = Math.max(0, wanted);
    if (after !== before) changedBuckets.add(effect.bucket);
    const arrival = effect.expectedAt && (before === 0 || !current.inboundExpectedAt || effect.expectedAt < current.inboundExpectedAt)
      ? { inboundExpectedAt: effect.expectedAt }
      : {};
    next.set(key, { ...current, [effect.bucket]: after, ...arrival });
  }
  // Compared end to end, so that a count's change is its real delta and effects that cancel out are none.
  const onHandChanges = [...onHandKeys].flatMap((key): OnHandChange[] => {
    const { subinventory, lot, nettable, onHandWms } = next.get(key)!;
    const change = onHandWms - (positions.get(key)?.onHandWms ?? 0);
    return change === 0 ? [] : [{ subinventory, lot, nettable, change }];
  });
  return { ok: true, positions: next, changedBuckets, onHandChanges };
}
