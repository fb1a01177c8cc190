/** Stock on its way to a location, with when it is expected. */
export interface InboundSupply {
  readonly quantity: number;
  readonly expectedAt: Date;
}

/**
 * The earliest time `quantity` can be promised: `now` when `available` covers it, otherwise the
 * expected arrival of the inbound supply that, added in arrival order to what is available,
 * first covers it; null when even all inbound supply does not.
 */
export function earliestPromiseDate(quantity: number, available: number, inbound: readonly InboundSupply[], now: Date): Date | null {
  if (available >= quantity) return now;
  let covered = available;
  for (const supply of [...inbound].sort((a, b) => a.expectedAt.getTime() - b.expectedAt.getTime())) {
    covered += supply.quantity;
    if (covered >= quantity) return supply.expectedAt < now ? now : supply.expectedAt;
  }
  return null;
}
