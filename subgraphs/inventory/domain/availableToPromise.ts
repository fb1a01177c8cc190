/** The buckets that decide what can be promised at one item x location. */
export interface PromisableBuckets {
  /** WMS on hand in nettable subinventories. */
  readonly onHandNettable: number;
  readonly allocated: number;
  readonly reserved: number;
  readonly qualityHold: number;
  readonly safetyStock: number;
}

/**
 * Available to promise: nettable on hand less what is allocated, reserved, on quality hold
 * and kept as safety stock; never below zero. Inbound stock is deliberately not counted.
 */
export function availableToPromise(buckets: PromisableBuckets): number {
  const { onHandNettable, allocated, reserved, qualityHold, safetyStock } = buckets;
  return Math.max(0, onHandNettable - allocated - reserved - qualityHold - safetyStock);
}
