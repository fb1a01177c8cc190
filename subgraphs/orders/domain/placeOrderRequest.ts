import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';

/** What placeOrder asks for; see PlaceOrderInput in schema.graphql. */
export interface PlaceOrderRequest {
  readonly reference: string;
  readonly channel: string;
  readonly idempotencyKey: string;
  readonly lines: readonly RequestedLine[];
}

export interface RequestedLine {
  readonly sku: string;
  readonly quantity: number;
  /** Null: the channel's allocation strategy chooses. */
  readonly locationId: string | null;
  readonly reservationId: string | null;
}

export interface InputProblem {
  readonly field: string;
  readonly message: string;
}

export const MAX_ORDER_LINES = 100;
export const MAX_LINE_QUANTITY = 1_000_000;
const MAX_TEXT_LENGTH = 200;

/**
 * Every problem with the request's shape, all at once; empty when there is none. A requester
 * granted only some locations (`grant`) must name one on every line: the channel's allocation
 * strategy could choose any location.
 */
export function validatePlaceOrderRequest(request: PlaceOrderRequest, grant: LocationGrant): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const field of ['reference', 'channel', 'idempotencyKey'] as const) {
    const problem = textProblem(request[field]);
    if (problem) problems.push({ field, message: problem });
  }
  if (request.lines.length === 0 || request.lines.length > MAX_ORDER_LINES) {
    problems.push({ field: 'lines', message: `must hold 1 to ${MAX_ORDER_LINES} lines, got ${request.lines.length}` });
  }
  const linesWithSku = new Map<string, number[]>();
  const firstWithReservation = new Map<string, number>();
  request.lines.forEach((line, index) => {
    const field = `lines[${index}]`;
    const skuProblem = textProblem(line.sku);
    if (skuProblem) problems.push({ field: `${field}.sku`, message: skuProblem });
    if (!Number.isInteger(line.quantity) || line.quantity < 1 || line.quantity > MAX_LINE_QUANTITY) {
      problems.push({ field: `${field}.quantity`, message: `must be a whole number from 1 to ${MAX_LINE_QUANTITY.toLocaleString('en-US')}, got ${line.quantity}` });
    }
    for (const optional of ['locationId', 'reservationId'] as const) {
      const value = line[optional];
      const problem = value === null ? null : textProblem(value);
      if (problem) problems.push({ field: `${field}.${optional}`, message: problem });
    }
    if (line.locationId === null && grant !== null) {
      problems.push({ field: `${field}.locationId`, message: 'must name one of the locations this caller is granted' });
    }
    // Lines of one SKU may only split it between locations they name: where the strategy or a
    // reservation chooses, two lines could land at the same location.
    const sameSku = linesWithSku.get(line.sku) ?? [];
    const clash = sameSku.find((earlier) => {
      const other = request.lines[earlier]!;
      return [other, line].some((one) => one.locationId === null || one.reservationId !== null) || other.locationId === line.locationId;
    });
    if (clash !== undefined) {
      problems.push({ field, message: `repeats lines[${clash}]'s SKU ${line.sku}: lines of one SKU must each name a location of their own and no reservation; put the quantities on one line` });
    }
    linesWithSku.set(line.sku, [...sameSku, index]);
    if (line.reservationId !== null) {
      const sameReservation = firstWithReservation.get(line.reservationId);
      if (sameReservation !== undefined) problems.push({ field: `${field}.reservationId`, message: `repeats lines[${sameReservation}]'s reservation ${line.reservationId}` });
      else firstWithReservation.set(line.reservationId, index);
    }
  });
  return problems;
}

function textProblem(value: string): string | null {
  return value.trim() === '' || value.length > MAX_TEXT_LENGTH ? `must be 1 to ${MAX_TEXT_LENGTH} characters, not blank` : null;
}
