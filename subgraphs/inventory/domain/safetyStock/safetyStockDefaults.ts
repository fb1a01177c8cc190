/** Stands for any location, or any item class, in a default rule. */
export const ANY = '*';

/**
 * One rule of SAFETY_STOCK_DEFAULTS: the safety stock of the levels at `locationId` of items of
 * `itemClass` (either may be ANY) that have none set for them. Where several rules match a level,
 * the most specific wins: a location's own rules before those for any location, and among those
 * an item class's own rule before the one for any class. No rule: 0.
 */
export interface SafetyStockDefaultRule {
  readonly locationId: string;
  readonly itemClass: string;
  readonly quantity: number;
}
