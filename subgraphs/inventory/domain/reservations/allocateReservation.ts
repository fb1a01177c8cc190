/** How a reservation without a location is spread over the locations that may serve it. */
export type AllocationStrategy = 'priority' | 'most-available';

/** A location that may serve a reservation, and what it can promise now. */
export interface AllocationCandidate {
  readonly locationId: string;
  readonly available: number;
}

export interface AllocationLine {
  readonly locationId: string;
  readonly quantity: number;
}

export type AllocationResult =
  | { readonly ok: true; readonly lines: readonly AllocationLine[] }
  | { readonly ok: false; readonly available: number };

/**
 * Splits `quantity` over `candidates`, all or nothing. `priority` takes the candidates in the
 * order given (the channel's configured order) and fills each before the next; `most-available`
 * takes the one with the most available first (ties by location id), which keeps splits few.
 * When the candidates together cannot cover the quantity, says how much they could.
 */
export function allocateReservation(quantity: number, candidates: readonly AllocationCandidate[], strategy: AllocationStrategy): AllocationResult {
  const total = candidates.reduce((sum, candidate) => sum + candidate.available, 0);
  if (total < quantity) return { ok: false, available: total };
  const ordered = strategy === 'priority'
    ? candidates
    : [...candidates].sort((a, b) => b.available - a.available || (a.locationId < b.locationId ? -1 : 1));
  const lines: AllocationLine[] = [];
  let remaining = quantity;
  for (const { locationId, available } of ordered) {
    if (remaining === 0) break;
    const taken = Math.min(available, remaining);
    if (taken > 0) lines.push({ locationId, quantity: taken });
    remaining -= taken;
  }
  return { ok: true, lines };
}
