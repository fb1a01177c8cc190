import type { inventoryTransactionRecorded, PayloadOf, SYNC_TRANSACTION_KINDS } from '../../../platform/contracts/events.ts';
import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';

/** An inventory transaction as inventory records it (inventory.transaction.recorded). */
export type InventoryTransaction = PayloadOf<typeof inventoryTransactionRecorded>;

export type SyncTransactionKind = (typeof SYNC_TRANSACTION_KINDS)[number];

/** The most serials Oracle takes in one staged transaction. */
export const MAX_SERIALS_PER_TRANSACTION = 50;

/** One row of the sync ledger: one staged transaction for the ERP. */
export interface PlannedSyncTransaction {
  /** `<transactionId>` when the transaction makes one row, `<transactionId>#<n>` (n from 1) when it makes several. */
  readonly id: string;
  readonly transactionId: string;
  readonly kind: SyncTransactionKind;
  readonly sku: string;
  readonly locationId: string;
  readonly subinventory: string;
  readonly lot: string;
  /** Signed change to the location's nettable on hand (what reconciliation counts in flight). */
  readonly quantity: number;
  /** Signed quantity posted at `subinventory` (TransactionQuantity). */
  readonly erpQuantity: number;
  readonly unitOfMeasure: string;
  readonly transferSubinventory: string | null;
  readonly counterpartLocationId: string | null;
  readonly serials: readonly string[];
  readonly occurredAt: string;
}

/** One staged transaction before its serials are batched. */
interface Movement {
  readonly subinventory: string;
  readonly lot: string;
  readonly quantity: number;
  readonly erpQuantity: number;
  readonly transferSubinventory: string | null;
}

type Line = InventoryTransaction['lines'][number];

const nettableChange = (line: Line) => (line.nettable ? line.change : 0);

/**
 * The sync ledger's rows for one inventory transaction, always the same for the same
 * transaction (their ids are stable): one per line (subinventory x lot); a subinventory transfer,
 * a restock or an adjustment that moved units between subinventories (a damage adjustment, into
 * or out of DAMAGED) one per move, posted at its source with the units leaving
 * (TransferSubinventory takes them); a pick one with the units picked, changing no on hand;
 * serials handed to the rows in order and split into batches of at most 50, one row each with its
 * share of the quantities. A transaction that moved nothing makes none.
 */
export function planSyncTransactions(transaction: InventoryTransaction): PlannedSyncTransaction[] {
  const rows = withSerialBatches(movementsOf(transaction), transaction.serials);
  return rows.map(({ movement, serials }, index) => ({
    id: rows.length === 1 ? transaction.transactionId : `${transaction.transactionId}#${index + 1}`,
    transactionId: transaction.transactionId,
    kind: transaction.kind,
    sku: transaction.sku,
    locationId: transaction.locationId,
    ...movement,
    unitOfMeasure: transaction.unitOfMeasure,
    counterpartLocationId: transaction.counterpartLocationId,
    serials,
    occurredAt: transaction.occurredAt,
  }));
}

function movementsOf(transaction: InventoryTransaction): Movement[] {
  switch (transaction.kind) {
    case 'PICK':
      // Fusion records the pick against the sales order; the stock leaves with the ship.
      return transaction.quantity === 0 ? [] : [{ subinventory: transaction.subinventory, lot: '', quantity: 0, erpQuantity: -transaction.quantity, transferSubinventory: null }];
    case 'SUBINVENTORY_TRANSFER':
    case 'RETURN_RESTOCKED':
    case 'ADJUSTMENT':
      return moves(transaction.lines);
    case 'TRANSFER_OUT':
      return transaction.lines.map((line) => lineMovement(line, transaction.transferSubinventory));
    case 'RECEIPT':
    case 'SHIP':
    case 'CYCLE_COUNT':
    case 'TRANSFER_IN':
    case 'RETURN_RECEIVED':
      return transaction.lines.map((line) => lineMovement(line, null));
    default:
      throw new UnreachableCaseError(transaction.kind);
  }
}

const lineMovement = (line: Line, transferSubinventory: string | null): Movement => ({
  subinventory: line.subinventory, lot: line.lot, quantity: nettableChange(line), erpQuantity: line.change, transferSubinventory,
});

/**
 * A move within the location: the line the units left and the line of the same lot they reached
 * make one movement at the source. A line with no such partner (inventory records none) goes as
 * the change it is.
 */
function moves(lines: readonly Line[]): Movement[] {
  const partnered = new Set<Line>();
  const movements: Movement[] = [];
  for (const from of lines) {
    if (from.change > 0 || partnered.has(from)) continue;
    const to = lines.find((line) => !partnered.has(line) && line.lot === from.lot && line.change === -from.change);
    if (!to) continue;
    partnered.add(from).add(to);
    movements.push({ subinventory: from.subinventory, lot: from.lot, quantity: nettableChange(from) + nettableChange(to), erpQuantity: from.change, transferSubinventory: to.subinventory });
  }
  return [...movements, ...lines.filter((line) => !partnered.has(line)).map((line) => lineMovement(line, null))];
}

/**
 * Hands the serials to the movements in order, each as many as units it moves (the last the
 * rest), and splits a movement carrying more than 50 into batches with their share of its
 * quantities (shares that add up to the whole, whatever the rounding).
 */
function withSerialBatches(movements: readonly Movement[], serials: readonly string[]): { movement: Movement; serials: string[] }[] {
  let handedOut = 0;
  return movements.flatMap((movement, index) => {
    const count = index === movements.length - 1 ? serials.length - handedOut : Math.min(Math.abs(movement.erpQuantity), serials.length - handedOut);
    const own = serials.slice(handedOut, handedOut + count);
    handedOut += count;
    if (own.length <= MAX_SERIALS_PER_TRANSACTION) return [{ movement, serials: own }];
    const share = (total: number, from: number, to: number) => Math.trunc((total * to) / own.length) - Math.trunc((total * from) / own.length);
    const batches: { movement: Movement; serials: string[] }[] = [];
    for (let from = 0; from < own.length; from += MAX_SERIALS_PER_TRANSACTION) {
      const to = Math.min(from + MAX_SERIALS_PER_TRANSACTION, own.length);
      batches.push({
        movement: { ...movement, quantity: share(movement.quantity, from, to), erpQuantity: share(movement.erpQuantity, from, to) },
        serials: own.slice(from, to),
      });
    }
    return batches;
  });
}
