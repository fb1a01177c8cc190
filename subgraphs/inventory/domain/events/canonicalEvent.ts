/** Every movement a WMS reports for one item at one location; see bucketEffects.ts for what each does. */
export const INVENTORY_EVENT_TYPES = [
  'RECEIPT', 'PICK', 'PACK', 'SHIP', 'DELIVERY', 'ADJUSTMENT', 'CYCLE_COUNT', 'TRANSFER_OUT', 'TRANSFER_IN',
  'RETURN_RECEIVED', 'RETURN_RESTOCKED', 'QUALITY_HOLD', 'QUALITY_RELEASE',
] as const;

export type InventoryEventType = (typeof INVENTORY_EVENT_TYPES)[number];

export function isInventoryEventType(value: unknown): value is InventoryEventType {
  return typeof value === 'string' && (INVENTORY_EVENT_TYPES as readonly string[]).includes(value);
}

/**
 * The reasons for an ADJUSTMENT that change what it does (see bucketEffectsOf): DAMAGE moves the
 * units between the event's subinventory and DAMAGED. An adjustment for any other reason, or
 * none, changes its own subinventory only.
 */
export const ADJUSTMENT_REASONS = ['DAMAGE'] as const;

export type AdjustmentReason = (typeof ADJUSTMENT_REASONS)[number];

export function isAdjustmentReason(value: unknown): value is AdjustmentReason {
  return typeof value === 'string' && (ADJUSTMENT_REASONS as readonly string[]).includes(value);
}

/** One warehouse movement of one item at one location, after mapping. */
export interface ItemEvent {
  readonly kind: 'item';
  /** Unique per source: the exactly-once key is (source, eventId). */
  readonly eventId: string;
  /** The WMS instance, e.g. "acme-wms". */
  readonly source: string;
  /** Increasing per source; a positive safe integer. */
  readonly sequence: number;
  readonly type: InventoryEventType;
  /** Stockgraph SKU, after translation. */
  readonly sku: string;
  /** Stockgraph location id, after translation. */
  readonly locationId: string;
  /** e.g. STOCK, QA, DAMAGED, RETURNS. */
  readonly subinventory: string;
  /** Only for RETURN_RESTOCKED, where the units come from; null for every other type. */
  readonly fromSubinventory: string | null;
  /**
   * Only for ADJUSTMENT, the reason that changes what it does; absent for a plain adjustment and
   * every other type, so that such an event keeps the fingerprint it had before reasons were read
   * (a redelivery of it stays a DUPLICATE).
   */
  readonly reason?: AdjustmentReason;
  /** '' when the item is not lot-controlled. */
  readonly lot: string;
  readonly serials: readonly string[];
  /** The order the movement fulfils or returns (Order.reference), when the WMS names one. */
  readonly orderReference: string | null;
  /** A whole number in `unitOfMeasure`, after conversion; see quantityRuleViolation for its sign. */
  readonly quantity: number;
  readonly unitOfMeasure: string;
  readonly occurredAt: Date;
}

/** One counted position of a location snapshot: a whole number, zero or more. */
export interface SnapshotLine {
  readonly sku: string;
  readonly subinventory: string;
  readonly lot: string;
  readonly quantity: number;
  readonly unitOfMeasure: string;
}

/** A full count of a location: every position not listed is zero. */
export interface LocationSnapshot {
  readonly kind: 'snapshot';
  readonly eventId: string;
  readonly source: string;
  readonly sequence: number;
  readonly locationId: string;
  readonly occurredAt: Date;
  readonly lines: readonly SnapshotLine[];
}

export type CanonicalInventoryEvent = ItemEvent | LocationSnapshot;

/**
 * Why `quantity` (already in the canonical unit) is not allowed for `type`, or null when it is.
 * The type carries the direction, so movements are at least one unit; ADJUSTMENT is the one
 * signed movement and a zero adjustment means nothing; CYCLE_COUNT is an absolute count, so
 * zero is a real answer.
 */
export function quantityRuleViolation(type: InventoryEventType, quantity: number): string | null {
  if (!Number.isSafeInteger(quantity)) return 'is not a whole number';
  switch (type) {
    case 'ADJUSTMENT':
      return quantity === 0 ? 'must not be zero for ADJUSTMENT' : null;
    case 'CYCLE_COUNT':
      return quantity < 0 ? 'must be at least 0 for CYCLE_COUNT' : null;
    case 'RECEIPT':
    case 'PICK':
    case 'PACK':
    case 'SHIP':
    case 'DELIVERY':
    case 'TRANSFER_OUT':
    case 'TRANSFER_IN':
    case 'RETURN_RECEIVED':
    case 'RETURN_RESTOCKED':
    case 'QUALITY_HOLD':
    case 'QUALITY_RELEASE':
      return quantity < 1 ? `must be at least 1 for ${type}` : null;
    default: {
      const unhandled: never = type;
      throw new TypeError(`Unknown inventory event type ${String(unhandled)}`);
    }
  }
}
