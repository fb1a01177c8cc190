import { grantsLocation, type LocationGrant } from '../../../../platform/lang/locationGrant.ts';

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

/** Where each sales channel may take stock from, and how a request without a location is spread. */
export interface ChannelAllocationRules {
  /** The locations each channel may take stock from, in priority order; a channel not listed may use every location. */
  readonly channelLocations: ReadonlyMap<string, readonly string[]>;
  readonly defaultStrategy: AllocationStrategy;
  readonly strategyByChannel: ReadonlyMap<string, AllocationStrategy>;
}

/**
 * The locations that may serve a request of `channel` for a SKU stocked at `stocked` (in
 * location id order): the one it names, or else the channel's locations in priority order (every
 * location that stocks the SKU, in id order, for a channel not configured); only those that stock
 * it and that the requester is granted (`granted`: a partner's locations; null for every one).
 */
export function candidateLocations(
  locationId: string | null,
  channel: string,
  stocked: ReadonlySet<string>,
  rules: ChannelAllocationRules,
  granted: LocationGrant,
): string[] {
  return (locationId ? [locationId] : (rules.channelLocations.get(channel) ?? [...stocked])).filter((id) => stocked.has(id) && grantsLocation(granted, id));
}

export function strategyOf(channel: string, rules: ChannelAllocationRules): AllocationStrategy {
  return rules.strategyByChannel.get(channel) ?? rules.defaultStrategy;
}
