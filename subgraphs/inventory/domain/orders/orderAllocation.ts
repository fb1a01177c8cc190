/**
 * How far the warehouse has come with what an order holds at one location. The order's hold put
 * `quantity` into `allocated` there; a pick the allocation covers allocates nothing more, a ship
 * takes its units out of `allocated`, and a release gives back what is left.
 */
export interface AllocationProgress {
  readonly quantity: number;
  readonly picked: number;
  readonly shipped: number;
  readonly released: number;
}

/** What of the allocation is still allocated for picks to come: quantity - released - picked, never below zero. */
export function pickCoverage({ quantity, picked, released }: AllocationProgress): number {
  return Math.max(0, quantity - released - picked);
}

/**
 * What the order still holds allocated and the warehouse has not shipped: the larger of what was
 * allocated and what was picked (a pick beyond the allocation allocated its excess), less what
 * shipped and what was given back, never below zero. A release gives back this much (no more
 * than the position's allocated, which the caller checks).
 */
export function unshippedRemainder({ quantity, picked, shipped, released }: AllocationProgress): number {
  return Math.max(0, Math.max(quantity, picked) - shipped - released);
}

/**
 * A pick of `quantity` for an order that holds `allocations` of the SKU at the location: each
 * allocation, in the order given, covers what it still can (pickCoverage); only the rest, the
 * excess over all of them, adds to `allocated`. `picked` is what each allocation counts as picked
 * (the excess is the last one's), summing to `quantity`.
 */
export function planOrderPick(quantity: number, allocations: readonly AllocationProgress[]): { readonly allocatedIncrease: number; readonly picked: number[] } {
  const coverage = allocations.map(pickCoverage);
  return { allocatedIncrease: Math.max(0, quantity - coverage.reduce((sum, covered) => sum + covered, 0)), picked: spread(quantity, coverage) };
}

/**
 * A ship of `quantity` for an order that holds `allocations` of the SKU at the location: what each
 * counts as shipped, each taking up to its unshipped remainder in the order given, the rest the
 * last one's. The ship itself changes stock as any ship does (on hand and allocated, less `quantity`).
 */
export function planOrderShip(quantity: number, allocations: readonly AllocationProgress[]): { readonly shipped: number[] } {
  return { shipped: spread(quantity, allocations.map(unshippedRemainder)) };
}

/** `quantity` split over places of the given capacities, in order; what exceeds them all goes to the last. */
function spread(quantity: number, capacities: readonly number[]): number[] {
  let left = quantity;
  const parts = capacities.map((capacity) => {
    const part = Math.min(left, capacity);
    left -= part;
    return part;
  });
  if (parts.length > 0) parts[parts.length - 1]! += left;
  return parts;
}
