import { MAX_STOCK_QUANTITY } from '../quantityRange.ts';
import type { InputProblem } from '../reservations/reservationRequest.ts';

/** The most lines one request may set (setSafetyStocks). */
export const MAX_SAFETY_STOCK_LINES = 1_000;

/** The safety stock to set at one item x location; see SafetyStockInput in schema.graphql. */
export interface SafetyStockLine {
  readonly sku: string;
  readonly locationId: string;
  /** Units to keep back; null: follow the configured default (SAFETY_STOCK_DEFAULTS) again. */
  readonly quantity: number | null;
}

/**
 * Every problem with the lines that needs no catalogue to see, all at once: too many lines, a
 * quantity that is not a whole number from 0 to MAX_STOCK_QUANTITY, a level named twice (which
 * of two values would stand is no question to answer by order).
 */
export function validateSafetyStockLines(lines: readonly SafetyStockLine[]): InputProblem[] {
  if (lines.length > MAX_SAFETY_STOCK_LINES) {
    return [{ field: 'lines', message: `must be at most ${MAX_SAFETY_STOCK_LINES.toLocaleString('en-US')}, got ${lines.length.toLocaleString('en-US')}` }];
  }
  const problems: InputProblem[] = [];
  const firstLineByLevel = new Map<string, number>();
  lines.forEach(({ sku, locationId, quantity }, index) => {
    if (quantity !== null && (!Number.isInteger(quantity) || quantity < 0 || quantity > MAX_STOCK_QUANTITY)) {
      problems.push({ field: `lines[${index}].quantity`, message: `must be a whole number from 0 to ${MAX_STOCK_QUANTITY.toLocaleString('en-US')}, or null, got ${quantity}` });
    }
    const level = JSON.stringify([sku, locationId]);
    const first = firstLineByLevel.get(level);
    if (first === undefined) firstLineByLevel.set(level, index);
    else problems.push({ field: `lines[${index}]`, message: `names ${sku} at ${locationId} again (first in lines[${first}]): each stock level at most once` });
  });
  return problems;
}
