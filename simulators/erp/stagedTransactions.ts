import type { BalanceKey } from './balanceBook.ts';

const MAX_SERIALS_PER_TRANSACTION = 50;
const REQUIRED_TEXT = ['SourceCode', 'TransactionReference', 'TransactionTypeName', 'ItemNumber', 'SubinventoryCode', 'TransactionUnitOfMeasure'] as const;
// Fusion records a pick against the sales order; the units leave on the Sales Order Issue that follows.
const PICK = 'Sales Order Pick';

/** One serial of a staged transaction: Fusion takes ranges, our connector sends ranges of one. */
export interface SerialRange {
  readonly FmSerialNumber: string;
  readonly ToSerialNumber: string;
}

/** A staged inventory transaction the ERP accepted, as posted, with the id it was given. */
export type StagedTransactionRecord = Readonly<Record<string, unknown>> & {
  readonly TransactionInterfaceId: number;
  readonly TransactionReference: string;
  /** As posted; [] when the post had none. */
  readonly serials: readonly SerialRange[];
};

/** What a staged transaction means for the ERP, read from its Oracle attributes. */
export interface StagedTransaction {
  readonly reference: string;
  readonly typeName: string;
  readonly organization: string;
  readonly item: string;
  readonly subinventory: string;
  /** '' when not lot-controlled. */
  readonly lot: string;
  /** Signed: positive into `subinventory`, negative out of it. */
  readonly quantity: number;
  readonly unitOfMeasure: string;
  /** '' unless the units move to another subinventory. */
  readonly transferSubinventory: string;
  /** '' unless the units leave for another organization (an in-transit shipment). */
  readonly transferOrganization: string;
  readonly serials: readonly SerialRange[];
}

/** One balance a transaction changes, and by how much. */
export interface BalanceChange {
  readonly key: BalanceKey;
  readonly delta: number;
}

/**
 * The transaction a POST to inventoryStagedTransactions describes, or every reason the ERP
 * refuses it, in one text. The organization may be named by OrganizationCode or OrganizationName
 * (both name its code here), the transfer organization by TransferOrganizationCode or
 * TransferOrganizationName; TransactionTypeName may be any text, since Fusion's types are
 * configurable.
 */
export function readStagedTransaction(body: unknown): StagedTransaction | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'The request body must be a JSON object';
  const fields = body as Record<string, unknown>;
  const problems: string[] = [];
  const missing: string[] = REQUIRED_TEXT.filter((name) => !isText(fields[name]));
  const organization = eitherText(fields, 'OrganizationCode', 'OrganizationName', problems);
  if (organization === '') missing.push('OrganizationCode or OrganizationName');
  if (missing.length) problems.push(`Missing attributes: ${missing.join(', ')}`);
  const transferOrganization = eitherText(fields, 'TransferOrganizationCode', 'TransferOrganizationName', problems);
  const [lot, transferSubinventory, date] = (['LotNumber', 'TransferSubinventory', 'TransactionDate'] as const).map((name) => optionalText(fields, name, problems));
  if (date && Number.isNaN(Date.parse(date))) problems.push(`TransactionDate ${JSON.stringify(date)} is not a date`);

  const quantity = fields.TransactionQuantity;
  const wholeQuantity = typeof quantity === 'number' && Number.isSafeInteger(quantity) && quantity !== 0;
  if (!wholeQuantity) problems.push(`TransactionQuantity must be a non-zero whole number (got ${JSON.stringify(quantity)})`);
  const serials = fields.serials ?? [];
  if (!Array.isArray(serials) || serials.some((s: Partial<SerialRange> | null) => !isText(s?.FmSerialNumber) || s.FmSerialNumber !== s.ToSerialNumber)) {
    problems.push('serials must be ranges of one serial each (FmSerialNumber = ToSerialNumber)');
  } else if (serials.length > MAX_SERIALS_PER_TRANSACTION) {
    problems.push(`A transaction takes at most ${MAX_SERIALS_PER_TRANSACTION} serials; got ${serials.length}`);
  } else if (serials.length > 0 && wholeQuantity && Math.abs(quantity) !== serials.length) {
    problems.push(`TransactionQuantity ${quantity} does not match the ${serials.length} serials`);
  }
  if (problems.length) return problems.join('; ');
  return {
    reference: fields.TransactionReference as string,
    typeName: fields.TransactionTypeName as string,
    organization,
    item: fields.ItemNumber as string,
    subinventory: fields.SubinventoryCode as string,
    lot: lot!,
    quantity: quantity as number,
    unitOfMeasure: fields.TransactionUnitOfMeasure as string,
    transferSubinventory: transferSubinventory!,
    transferOrganization,
    serials: serials as SerialRange[],
  };
}

/**
 * The balances a transaction changes: its quantity, signed, at its own subinventory; the opposite
 * at TransferSubinventory when the units stay in the organization (a subinventory transfer). An
 * in-transit shipment changes only the source, since the units are on the road until the other
 * organization receives them; a pick changes nothing.
 */
export function balanceChanges(transaction: StagedTransaction): BalanceChange[] {
  if (transaction.typeName === PICK) return [];
  const key = (subinventory: string): BalanceKey => ({
    OrganizationCode: transaction.organization,
    ItemNumber: transaction.item,
    SubinventoryCode: subinventory,
    LotNumber: transaction.lot,
  });
  const changes = [{ key: key(transaction.subinventory), delta: transaction.quantity }];
  if (transaction.transferSubinventory && !transaction.transferOrganization) {
    changes.push({ key: key(transaction.transferSubinventory), delta: -transaction.quantity });
  }
  return changes;
}

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** '' when absent, null or ''; a problem when it is there but not text. */
function optionalText(fields: Record<string, unknown>, name: string, problems: string[]): string {
  const value = fields[name];
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  problems.push(`${name} must be text (got ${JSON.stringify(value)})`);
  return '';
}

/** The value of whichever of two attributes naming the same thing is given; a problem when they disagree. */
function eitherText(fields: Record<string, unknown>, code: string, name: string, problems: string[]): string {
  const [byCode, byName] = [optionalText(fields, code, problems), optionalText(fields, name, problems)];
  if (byCode && byName && byCode !== byName) problems.push(`${code} ${JSON.stringify(byCode)} and ${name} ${JSON.stringify(byName)} name different organizations`);
  return byCode || byName;
}
