/**
 * One on-hand balance as Fusion's inventoryOnhandBalances resource lists it, in Oracle's attribute
 * names, for item x organization x subinventory x lot.
 */
export interface OnhandBalance {
  readonly OrganizationCode: string;
  readonly ItemNumber: string;
  readonly SubinventoryCode: string;
  /** Absent, null or '' when the item is not lot-controlled; the simulator lists it as null. */
  readonly LotNumber?: string | null;
  /** May be negative: the ERP records what it is told, and may be told to issue more than it holds. */
  readonly PrimaryQuantity: number;
  /** Absent when nobody said; a transaction that opens a balance gives it its unit of measure. */
  readonly PrimaryUOMCode?: string;
}

/** Which balance: OnhandBalance's key attributes. */
export type BalanceKey = Pick<OnhandBalance, 'OrganizationCode' | 'ItemNumber' | 'SubinventoryCode' | 'LotNumber'>;

/** A change made to a balance on purpose, to create a drift between the ERP and Stockgraph. */
export interface BalanceAdjustment extends BalanceKey {
  /** Added to PrimaryQuantity; the balance is opened at 0 first when the ERP has none. */
  readonly delta: number;
}

/**
 * The ERP's balances, one per key, listed in a stable order (by organization, item, subinventory,
 * then lot, comparing code units, so that no locale changes the order a client pages through).
 * A balance that reaches 0 stays listed: only a reset or a replacement removes one.
 */
export class BalanceBook {
  private readonly byKey = new Map<string, OnhandBalance>();
  private sorted: readonly OnhandBalance[] | undefined;

  /** @param balances as readBalances returns them: one per key, in the listed shape. */
  replace(balances: readonly OnhandBalance[]): void {
    this.byKey.clear();
    for (const balance of balances) this.byKey.set(keyOf(balance), balance);
    this.sorted = undefined;
  }

  /** Adds `delta` to the balance at `key`, opening it when there is none; returns it as it now is. */
  add(key: BalanceKey, delta: number, unitOfMeasure?: string): OnhandBalance {
    const current = this.byKey.get(keyOf(key));
    const next = listed(key, (current?.PrimaryQuantity ?? 0) + delta, current?.PrimaryUOMCode ?? unitOfMeasure);
    this.byKey.set(keyOf(key), next);
    this.sorted = undefined;
    return next;
  }

  list(): readonly OnhandBalance[] {
    this.sorted ??= [...this.byKey.values()].sort(compareKeys);
    return this.sorted;
  }
}

/**
 * The balances in `value` (an array of OnhandBalance, or an object with such an array in `items`,
 * as GET /admin/balances answers), or every problem with them in one text. A key given twice is a
 * problem rather than a sum: both copies claim to be the whole balance. Attributes other than
 * OnhandBalance's are ignored, so that a record copied from a real Fusion pod can be loaded.
 */
export function readBalances(value: unknown): OnhandBalance[] | string {
  const list = Array.isArray(value) ? value : (value as { items?: unknown } | null)?.items;
  if (!Array.isArray(list)) return 'balances must be an array of balances, or an object with one in items';
  const problems: string[] = [];
  const firstIndexByKey = new Map<string, number>();
  const balances: OnhandBalance[] = [];
  list.forEach((item: unknown, index) => {
    const balance = readBalance(item);
    if (typeof balance === 'string') return void problems.push(`balances[${index}] ${balance}`);
    const key = keyOf(balance);
    const first = firstIndexByKey.get(key);
    if (first !== undefined) return void problems.push(`balances[${index}] has the key of balances[${first}]`);
    firstIndexByKey.set(key, index);
    balances.push(balance);
  });
  return problems.length ? problems.join('; ') : balances;
}

/** The adjustment in `value`, or every problem with it in one text. */
export function readBalanceAdjustment(value: unknown): BalanceAdjustment | string {
  const key = readKey(value);
  const { delta } = (value ?? {}) as { delta?: unknown };
  const problems = typeof key === 'string' ? [key] : [];
  if (typeof delta !== 'number' || !Number.isFinite(delta) || delta === 0) problems.push(`delta must be a non-zero number (got ${JSON.stringify(delta)})`);
  return problems.length ? problems.join('; ') : { ...(key as BalanceKey), delta: delta as number };
}

function readBalance(value: unknown): OnhandBalance | string {
  const key = readKey(value);
  const { PrimaryQuantity: quantity, PrimaryUOMCode: unit } = (value ?? {}) as Record<string, unknown>;
  const problems = typeof key === 'string' ? [key] : [];
  if (typeof quantity !== 'number' || !Number.isFinite(quantity)) problems.push(`PrimaryQuantity must be a number (got ${JSON.stringify(quantity)})`);
  if (unit !== undefined && unit !== null && (typeof unit !== 'string' || unit === '')) problems.push(`PrimaryUOMCode must be text (got ${JSON.stringify(unit)})`);
  if (problems.length) return problems.join(', ');
  return listed(key as BalanceKey, quantity as number, typeof unit === 'string' ? unit : undefined);
}

function readKey(value: unknown): BalanceKey | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be an object';
  const fields = value as Record<string, unknown>;
  const problems = (['OrganizationCode', 'ItemNumber', 'SubinventoryCode'] as const)
    .filter((name) => typeof fields[name] !== 'string' || fields[name] === '')
    .map((name) => `${name} must be non-empty text (got ${JSON.stringify(fields[name])})`);
  const lot = fields.LotNumber;
  if (lot !== undefined && lot !== null && typeof lot !== 'string') problems.push(`LotNumber must be text or null (got ${JSON.stringify(lot)})`);
  if (problems.length) return problems.join(', ');
  return {
    OrganizationCode: fields.OrganizationCode as string,
    ItemNumber: fields.ItemNumber as string,
    SubinventoryCode: fields.SubinventoryCode as string,
    LotNumber: (lot as string | null | undefined) || null,
  };
}

/** A balance as the collection lists it: LotNumber null when there is no lot, PrimaryUOMCode only when known. */
function listed(key: BalanceKey, quantity: number, unitOfMeasure: string | undefined): OnhandBalance {
  return Object.freeze({
    OrganizationCode: key.OrganizationCode,
    ItemNumber: key.ItemNumber,
    SubinventoryCode: key.SubinventoryCode,
    LotNumber: key.LotNumber || null,
    PrimaryQuantity: quantity,
    ...(unitOfMeasure === undefined ? {} : { PrimaryUOMCode: unitOfMeasure }),
  });
}

const keyParts = (key: BalanceKey) => [key.OrganizationCode, key.ItemNumber, key.SubinventoryCode, key.LotNumber || ''] as const;
const keyOf = (key: BalanceKey) => JSON.stringify(keyParts(key));

function compareKeys(a: BalanceKey, b: BalanceKey): number {
  const [left, right] = [keyParts(a), keyParts(b)];
  for (let i = 0; i < left.length; i++) {
    if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
  }
  return 0;
}
