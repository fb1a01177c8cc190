/** Units of one lot that may be taken, and when the lot expires (null: it does not). */
export interface LotSupply {
  readonly lot: string;
  readonly expiresAt: Date | null;
  readonly quantity: number;
}

/** Whether the lot has expired at `now`: from its expiry on, it is never promised, moved or reserved. */
export const isLotExpired = (expiresAt: Date | null, now: Date): boolean => expiresAt !== null && expiresAt <= now;

/**
 * Takes `quantity` units from `supplies` first-expiry-first-out: lots without expiry last, ties
 * by lot, then in the order given; lots expired at `now` and supplies with nothing to take are
 * skipped. Null when the rest cannot cover the quantity.
 */
export function firstExpiryFirstOut<Supply extends LotSupply>(quantity: number, supplies: readonly Supply[], now: Date): { readonly supply: Supply; readonly quantity: number }[] | null {
  const usable = supplies
    .filter((supply) => supply.quantity > 0 && !isLotExpired(supply.expiresAt, now))
    .sort((a, b) => (a.expiresAt?.getTime() ?? Infinity) - (b.expiresAt?.getTime() ?? Infinity) || (a.lot < b.lot ? -1 : a.lot > b.lot ? 1 : 0));
  const taken: { supply: Supply; quantity: number }[] = [];
  let remaining = quantity;
  for (const supply of usable) {
    if (remaining === 0) break;
    const part = Math.min(supply.quantity, remaining);
    taken.push({ supply, quantity: part });
    remaining -= part;
  }
  return remaining === 0 ? taken : null;
}
