import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { StockCatalogue } from '../data/stockCatalogue.ts';
import type { StockLedger, StockLevelKey } from '../data/stockLedger.ts';
import { allocateReservation, candidateLocations, strategyOf, type ChannelAllocationRules } from '../domain/reservations/allocateReservation.ts';
import { chooseReservedLots, reservableInLots, type ReservedLot } from '../domain/reservations/reservationLots.ts';
import type { ReservationRequest } from '../domain/reservations/reservationRequest.ts';

/**
 * Stock to take for a channel, as a reservation asks for it: at one location, or (null) spread
 * over the channel's locations; only those of `locationGrant` (a partner's), when given.
 */
export type ChannelStockRequest = Pick<ReservationRequest, 'sku' | 'quantity' | 'locationId' | 'channel'> & {
  /** Absent: every location (an order's hold, whose locations the orders subgraph checked). */
  readonly locationGrant?: LocationGrant;
};

/** The part of a request taken at one location, and the nettable subinventory whose position carries it. */
export interface ChannelAllocationLine {
  readonly locationId: string;
  readonly subinventory: string;
  readonly quantity: number;
  /** Lot-controlled items: the unexpired lots that have the units unheld, first expiry first; empty otherwise. */
  readonly lots: readonly ReservedLot[];
}

export type ChannelAllocation =
  | { readonly ok: true; readonly lines: readonly ChannelAllocationLine[] }
  | { readonly ok: false; readonly available: number };

/** The stock levels the request may take from, to open (and lock) before allocating. The SKU must be in the catalogue. */
export function candidateLevels(request: ChannelStockRequest, catalogue: StockCatalogue, rules: ChannelAllocationRules): StockLevelKey[] {
  return candidatesOf(request, catalogue, rules).map((locationId) => ({ sku: request.sku, locationId }));
}

/**
 * Splits the request over its candidate locations by the channel's strategy, all or nothing,
 * judged by what the ledger can promise at each as it stands at `now` less what the caller has
 * set aside there (`setAside`: taken by an earlier part of the same all-or-nothing request, not
 * applied yet); for a lot-controlled item, by no more than its unexpired lots have unheld there
 * either, and each line names those lots, first expiry first. Lines come in location id order;
 * when the candidates cannot cover the request, says how much they could.
 */
export function allocateFromLedger(
  ledger: StockLedger,
  request: ChannelStockRequest,
  catalogue: StockCatalogue,
  rules: ChannelAllocationRules,
  now: Date,
  setAside: (locationId: string) => number = () => 0,
): ChannelAllocation {
  const { sku } = request;
  const lotControlled = catalogue.lotControlled.has(sku);
  const candidates = candidatesOf(request, catalogue, rules).map((locationId) => {
    const available = Math.max(0, ledger.level(sku, locationId).available - setAside(locationId));
    return { locationId, available: lotControlled ? reservableInLots(ledger.positions(sku, locationId).values(), available, now) : available };
  });
  const allocation = allocateReservation(request.quantity, candidates, strategyOf(request.channel, rules));
  if (!allocation.ok) return allocation;
  return {
    ok: true,
    lines: allocation.lines
      .map((line) => ({
        ...line,
        // Stock with available > 0 is on hand in a nettable subinventory, so the location has one.
        subinventory: ledger.nettableSubinventories(line.locationId)[0]!,
        // Within reservableInLots, so the lots cover the line.
        lots: lotControlled ? chooseReservedLots(line.quantity, ledger.positions(sku, line.locationId).values(), now)! : [],
      }))
      .sort((a, b) => (a.locationId < b.locationId ? -1 : 1)),
  };
}

function candidatesOf(request: ChannelStockRequest, catalogue: StockCatalogue, rules: ChannelAllocationRules): string[] {
  return candidateLocations(request.locationId, request.channel, catalogue.stockedBySku.get(request.sku) ?? new Set(), rules, request.locationGrant ?? null);
}
