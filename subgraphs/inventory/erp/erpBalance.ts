import { isWithinStockRange, STOCK_RANGE_DESCRIPTION } from '../domain/quantityRange.ts';

/** One on-hand balance as the ERP sees it, for item x ERP organization x subinventory x lot. */
export interface ErpBalance {
  readonly sku: string;
  readonly locationId: string;
  readonly subinventory: string;
  /** '' when the item is not lot-controlled. */
  readonly lot: string;
  /** A whole number, at least 0. */
  readonly onHand: number;
  /** When the source was read; every balance of one pull or file shares it. */
  readonly asOf: Date;
  /** Where it stands in its source (CSV line, ERP record number), for rejections; 1-based. */
  readonly line?: number;
}

export interface RejectedBalance {
  /** 1-based record or row number in its source. */
  readonly line: number;
  readonly reason: string;
}

/**
 * One raw field as its source names it, so that a reason speaks the source's language
 * (`on_hand "-3" ...` for a CSV file, `PrimaryQuantity -3 ...` for the ERP).
 */
export type SourceField = readonly [name: string, value: unknown];

export interface BalanceFields {
  readonly sku: SourceField;
  readonly locationId: SourceField;
  readonly subinventory: SourceField;
  /** Absent, null or blank means no lot. */
  readonly lot: SourceField;
  /** A JSON number, or the text of a whole number. */
  readonly onHand: SourceField;
}

/**
 * The balance that these fields describe, or the reason they describe none. Text is trimmed.
 * Never throws.
 */
export function toErpBalance(fields: BalanceFields, asOf: Date): ErpBalance | string {
  const sku = requiredText(fields.sku);
  if (sku.problem !== undefined) return sku.problem;
  const locationId = requiredText(fields.locationId);
  if (locationId.problem !== undefined) return locationId.problem;
  const subinventory = requiredText(fields.subinventory);
  if (subinventory.problem !== undefined) return subinventory.problem;
  const lot = optionalText(fields.lot);
  if (lot.problem !== undefined) return lot.problem;
  const onHand = wholeQuantity(fields.onHand);
  if (typeof onHand === 'string') return onHand;
  return { sku: sku.text, locationId: locationId.text, subinventory: subinventory.text, lot: lot.text, onHand, asOf };
}

/**
 * Gathers the balances of one source in source order. A record whose (sku, location,
 * subinventory, lot) repeats an earlier one is rejected rather than summed or overwritten:
 * both copies claim to be the whole balance, and nothing says which is right.
 */
export class BalanceCollector {
  readonly balances: ErpBalance[] = [];
  readonly rejected: RejectedBalance[] = [];
  private readonly firstLineByKey = new Map<string, number>();

  /** @param unit what a line number counts in this source, for duplicate reasons ("line", "record"). */
  constructor(private readonly unit: string) {}

  add(line: number, result: ErpBalance | string): void {
    if (typeof result === 'string') return this.reject(line, result);
    const key = JSON.stringify([result.sku, result.locationId, result.subinventory, result.lot]);
    const first = this.firstLineByKey.get(key);
    if (first !== undefined) return this.reject(line, `duplicate of ${this.unit} ${first}`);
    this.firstLineByKey.set(key, line);
    this.balances.push({ ...result, line });
  }

  reject(line: number, reason: string): void {
    this.rejected.push({ line, reason });
  }
}

type TextResult = { text: string; problem?: undefined } | { text?: undefined; problem: string };

function requiredText(field: SourceField): TextResult {
  const result = optionalText(field);
  if (result.text === '') return { problem: `${field[0]} is missing` };
  return result;
}

function optionalText([name, value]: SourceField): TextResult {
  if (value === undefined || value === null) return { text: '' };
  if (typeof value !== 'string') return { problem: `${name} ${shown(value)} must be text` };
  return { text: value.trim() };
}

function wholeQuantity([name, value]: SourceField): number | string {
  if (value === undefined || value === null || (typeof value === 'string' && value.trim() === '')) return `${name} is missing`;
  const quantity = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 0) return `${name} ${shown(value)} must be a whole number of at least 0`;
  if (!isWithinStockRange(quantity)) return `${name} ${shown(value)} is ${STOCK_RANGE_DESCRIPTION}`;
  return quantity;
}

/** A value as a reason quotes it: JSON, cut short, so that a megabyte of junk in a field is not echoed back whole. */
function shown(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length <= 40 ? json : `${json.slice(0, 39)}…`;
}
