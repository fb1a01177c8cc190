import type { InputProblem } from '../reservations/reservationRequest.ts';

export interface TransferEnd {
  readonly locationId: string;
  readonly subinventory: string;
}

export interface LotQuantity {
  readonly lot: string;
  readonly quantity: number;
}

/** What a client asks to move; see CreateTransferInput in schema.graphql. */
export interface TransferRequest {
  readonly sku: string;
  readonly quantity: number;
  readonly from: TransferEnd;
  readonly to: TransferEnd;
  /** Null: none given (first-expiry-first-out for a lot-controlled item, when the policy allows). */
  readonly lots: readonly LotQuantity[] | null;
  readonly serials: readonly string[] | null;
  /** Between locations: when the destination expects it. */
  readonly expectedArrivalAt: Date | null;
  readonly idempotencyKey: string;
}

export interface ItemControl {
  readonly lotControlled: boolean;
  readonly serialControlled: boolean;
}

/**
 * Every problem with the request that needs no stock to see, all at once: quantities, the two
 * ends, and lots and serials against how the item is controlled. `lotsRequired`: whether a
 * lot-controlled item must name its lots (otherwise they are chosen first-expiry-first-out).
 */
export function validateTransferRequest(request: TransferRequest, item: ItemControl, lotsRequired: boolean): InputProblem[] {
  const problems: InputProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ field, message });
  if (!Number.isInteger(request.quantity) || request.quantity < 1) problem('quantity', `must be a whole number of at least 1, got ${request.quantity}`);
  if (request.from.locationId === request.to.locationId && request.from.subinventory === request.to.subinventory) {
    problem('to', 'is the same location and subinventory as from: nothing would move');
  }
  if (request.idempotencyKey.trim() === '' || request.idempotencyKey.length > 200) problem('idempotencyKey', 'must be 1 to 200 characters');

  if (request.lots !== null && !item.lotControlled) problem('lots', `${request.sku} is not lot-controlled; give no lots`);
  if (request.lots === null && item.lotControlled && lotsRequired) problem('lots', `${request.sku} is lot-controlled; name the lots to move`);
  if (request.lots !== null && item.lotControlled) {
    const seen = new Set<string>();
    request.lots.forEach(({ lot, quantity }, index) => {
      if (!Number.isInteger(quantity) || quantity < 1) problem(`lots[${index}].quantity`, `must be a whole number of at least 1, got ${quantity}`);
      if (seen.has(lot)) problem(`lots[${index}].lot`, `${lot} is named twice`);
      seen.add(lot);
    });
    const total = request.lots.reduce((sum, line) => sum + line.quantity, 0);
    if (total !== request.quantity) problem('lots', `add up to ${total}, not the quantity ${request.quantity}`);
  }

  if (request.serials !== null && !item.serialControlled) problem('serials', `${request.sku} is not serial-controlled; give no serials`);
  if (item.serialControlled) {
    const serials = request.serials ?? [];
    if (serials.length !== request.quantity) problem('serials', `${serials.length} serial numbers given for a quantity of ${request.quantity}`);
    const repeated = serials.filter((serial, index) => serials.indexOf(serial) !== index);
    if (repeated.length) problem('serials', `repeat ${[...new Set(repeated)].join(', ')}`);
  }
  return problems;
}
