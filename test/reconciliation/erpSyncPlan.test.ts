import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stagedTransactionOf, transactionTypeName, type SyncTransactionToPost } from '../../subgraphs/reconciliation/erpSync/stagedTransaction.ts';
import { planSyncTransactions, type InventoryTransaction, type PlannedSyncTransaction } from '../../subgraphs/reconciliation/erpSync/syncPlan.ts';

const OCCURRED_AT = '2026-12-07T10:15:00.000Z';
const ORGANIZATIONS = new Map([['DC-01', 'ATL'], ['DC-02', 'DFW']]);

function transaction(overrides: Partial<InventoryTransaction>): InventoryTransaction {
  return {
    transactionId: 'WAREHOUSE_EVENT:acme-wms:EVT-1',
    kind: 'RECEIPT',
    sku: 'SKU-1',
    locationId: 'DC-01',
    unitOfMeasure: 'EA',
    quantity: 5,
    lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: 5 }],
    subinventory: 'STOCK',
    transferSubinventory: null,
    counterpartLocationId: null,
    serials: [],
    occurredAt: OCCURRED_AT,
    ...overrides,
  };
}

/** What a row says besides what every row of the transaction repeats. */
const movement = ({ id, subinventory, lot, quantity, erpQuantity, transferSubinventory, serials }: PlannedSyncTransaction) =>
  ({ id, subinventory, lot, quantity, erpQuantity, transferSubinventory, serials: serials.length });

const serials = (count: number) => Array.from({ length: count }, (_, i) => `SN-${String(i + 1).padStart(3, '0')}`);

const toPost = (row: PlannedSyncTransaction): SyncTransactionToPost => ({ ...row, occurredAt: new Date(row.occurredAt) });

describe('planning an inventory transaction into sync ledger rows', () => {
  it('makes one row per subinventory and lot, counting only nettable changes toward on hand', () => {
    // Given a receipt of two lots, one of them into QA (not nettable)
    const receipt = transaction({
      quantity: 8,
      lines: [{ subinventory: 'STOCK', lot: 'L1', nettable: true, change: 5 }, { subinventory: 'QA', lot: 'L2', nettable: false, change: 3 }],
    });

    // Then each line is a row of its own, numbered from 1
    assert.deepEqual(planSyncTransactions(receipt).map(movement), [
      { id: 'WAREHOUSE_EVENT:acme-wms:EVT-1#1', subinventory: 'STOCK', lot: 'L1', quantity: 5, erpQuantity: 5, transferSubinventory: null, serials: 0 },
      { id: 'WAREHOUSE_EVENT:acme-wms:EVT-1#2', subinventory: 'QA', lot: 'L2', quantity: 0, erpQuantity: 3, transferSubinventory: null, serials: 0 },
    ]);
  });

  it('names a transaction of one row after the transaction, and plans the same rows every time', () => {
    const ship = transaction({ kind: 'SHIP', lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -2 }], quantity: 2 });
    const rows = planSyncTransactions(ship);
    assert.deepEqual(rows, [{
      id: ship.transactionId, transactionId: ship.transactionId, kind: 'SHIP', sku: 'SKU-1', locationId: 'DC-01', subinventory: 'STOCK', lot: '',
      quantity: -2, erpQuantity: -2, unitOfMeasure: 'EA', transferSubinventory: null, counterpartLocationId: null, serials: [], occurredAt: OCCURRED_AT,
    }]);
    assert.deepEqual(planSyncTransactions(ship), rows);
  });

  it('posts a subinventory transfer as one move at its source, the units leaving', () => {
    // Given 4 units moved from STOCK to QA, and a restock of 3 from QA back to STOCK
    const transfer = transaction({
      kind: 'SUBINVENTORY_TRANSFER', quantity: 4, transferSubinventory: 'QA',
      lines: [{ subinventory: 'STOCK', lot: 'L1', nettable: true, change: -4 }, { subinventory: 'QA', lot: 'L1', nettable: false, change: 4 }],
    });
    const restock = transaction({
      kind: 'RETURN_RESTOCKED', quantity: 3,
      lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: 3 }, { subinventory: 'QA', lot: '', nettable: false, change: -3 }],
    });

    // Then each is one row: from the source, to TransferSubinventory, the nettable on hand changing by what crossed
    assert.deepEqual(planSyncTransactions(transfer).map(movement), [
      { id: transfer.transactionId, subinventory: 'STOCK', lot: 'L1', quantity: -4, erpQuantity: -4, transferSubinventory: 'QA', serials: 0 },
    ]);
    assert.deepEqual(planSyncTransactions(restock).map(movement), [
      { id: restock.transactionId, subinventory: 'QA', lot: '', quantity: 3, erpQuantity: -3, transferSubinventory: 'STOCK', serials: 0 },
    ]);
  });

  it('posts a damage adjustment as one move into DAMAGED with its serials, and a plain adjustment as the change it is', () => {
    // Given 2 serial units found damaged in STOCK, and 1 damaged unit written off
    const damage = transaction({
      kind: 'ADJUSTMENT', quantity: 2, serials: ['SN-1', 'SN-2'],
      lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -2 }, { subinventory: 'DAMAGED', lot: '', nettable: false, change: 2 }],
    });
    const writeOff = transaction({ kind: 'ADJUSTMENT', quantity: 1, subinventory: 'DAMAGED', lines: [{ subinventory: 'DAMAGED', lot: '', nettable: false, change: -1 }] });

    // Then the damage is one row from STOCK to DAMAGED carrying both serials, posted as a subinventory transfer
    const [moved, ...more] = planSyncTransactions(damage);
    assert.deepEqual([movement(moved!), more], [{ id: damage.transactionId, subinventory: 'STOCK', lot: '', quantity: -2, erpQuantity: -2, transferSubinventory: 'DAMAGED', serials: 2 }, []]);
    assert.equal((stagedTransactionOf(toPost(moved!), ORGANIZATIONS) as { body: Record<string, unknown> }).body.TransactionTypeName, 'Subinventory Transfer');
    // And the write-off a miscellaneous issue from DAMAGED, changing no nettable on hand
    assert.deepEqual(planSyncTransactions(writeOff).map(movement), [
      { id: writeOff.transactionId, subinventory: 'DAMAGED', lot: '', quantity: 0, erpQuantity: -1, transferSubinventory: null, serials: 0 },
    ]);
  });

  it('posts a pick as one row with the units picked and no change to on hand, and plans nothing for a pick of none', () => {
    const pick = transaction({ kind: 'PICK', quantity: 6, lines: [], subinventory: 'STOCK' });
    assert.deepEqual(planSyncTransactions(pick).map(movement), [
      { id: pick.transactionId, subinventory: 'STOCK', lot: '', quantity: 0, erpQuantity: -6, transferSubinventory: null, serials: 0 },
    ]);
    assert.deepEqual(planSyncTransactions(transaction({ kind: 'PICK', quantity: 0, lines: [] })), []);
  });

  it('splits 120 serials into batches of 50, 50 and 20, each with its share of the quantities', () => {
    // Given 120 serial units moved from STOCK to QA
    const transfer = transaction({
      kind: 'SUBINVENTORY_TRANSFER', quantity: 120, serials: serials(120), transferSubinventory: 'QA',
      lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -120 }, { subinventory: 'QA', lot: '', nettable: false, change: 120 }],
    });

    // When it is planned
    const rows = planSyncTransactions(transfer);

    // Then three rows, numbered in serial order, carry every serial once
    assert.deepEqual(rows.map(movement), [
      { id: `${transfer.transactionId}#1`, subinventory: 'STOCK', lot: '', quantity: -50, erpQuantity: -50, transferSubinventory: 'QA', serials: 50 },
      { id: `${transfer.transactionId}#2`, subinventory: 'STOCK', lot: '', quantity: -50, erpQuantity: -50, transferSubinventory: 'QA', serials: 50 },
      { id: `${transfer.transactionId}#3`, subinventory: 'STOCK', lot: '', quantity: -20, erpQuantity: -20, transferSubinventory: 'QA', serials: 20 },
    ]);
    assert.deepEqual(rows.flatMap((row) => row.serials), serials(120));
  });

  it('hands serials to the lines in order, as many as each moves', () => {
    const receipt = transaction({
      quantity: 3, serials: serials(3),
      lines: [{ subinventory: 'STOCK', lot: 'L1', nettable: true, change: 2 }, { subinventory: 'STOCK', lot: 'L2', nettable: true, change: 1 }],
    });
    assert.deepEqual(planSyncTransactions(receipt).map((row) => row.serials), [['SN-001', 'SN-002'], ['SN-003']]);
  });

  it('sends a transfer to another location to its organization, into the destination subinventory', () => {
    const shipped = transaction({
      transactionId: 'TRANSFER:TRF-1:SHIP', kind: 'TRANSFER_OUT', quantity: 2, transferSubinventory: 'STOCK', counterpartLocationId: 'DC-02',
      lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -2 }],
    });
    const [row] = planSyncTransactions(shipped);
    assert.deepEqual(stagedTransactionOf(toPost(row!), ORGANIZATIONS), {
      ok: true,
      body: {
        SourceCode: 'STOCKGRAPH', TransactionReference: 'TRANSFER:TRF-1:SHIP', TransactionTypeName: 'Intransit Shipment', OrganizationCode: 'ATL',
        ItemNumber: 'SKU-1', SubinventoryCode: 'STOCK', TransactionQuantity: -2, TransactionUnitOfMeasure: 'EA', TransactionDate: OCCURRED_AT,
        TransferSubinventory: 'STOCK', TransferOrganizationName: 'DFW', UseCurrentCostFlag: true,
      },
    });
    const received = transaction({ transactionId: 'TRANSFER:TRF-1:RECEIVE', kind: 'TRANSFER_IN', locationId: 'DC-02', counterpartLocationId: 'DC-01' });
    const body = (stagedTransactionOf(toPost(planSyncTransactions(received)[0]!), ORGANIZATIONS) as { body: Record<string, unknown> }).body;
    assert.deepEqual([body.TransactionTypeName, body.OrganizationCode, body.TransferOrganizationName, body.TransferSubinventory], ['Intransit Receipt', 'DFW', 'ATL', undefined]);
  });
});

describe('the staged transaction posted for a sync transaction', () => {
  it('names each kind by its Oracle transaction type', () => {
    const cases = [
      ['RECEIPT', 5, null, 'Miscellaneous Receipt'],
      ['PICK', -5, null, 'Sales Order Pick'],
      ['SHIP', -5, null, 'Sales Order Issue'],
      ['ADJUSTMENT', 5, null, 'Miscellaneous Receipt'],
      ['ADJUSTMENT', -5, null, 'Miscellaneous Issue'],
      ['ADJUSTMENT', -5, 'DAMAGED', 'Subinventory Transfer'],
      ['RECONCILIATION_ADJUSTMENT', 3, null, 'Miscellaneous Receipt'],
      ['RECONCILIATION_ADJUSTMENT', -3, null, 'Miscellaneous Issue'],
      ['CYCLE_COUNT', -1, null, 'Cycle Count Adjustment'],
      ['SUBINVENTORY_TRANSFER', -5, 'QA', 'Subinventory Transfer'],
      ['RETURN_RESTOCKED', -5, 'STOCK', 'Subinventory Transfer'],
      ['TRANSFER_OUT', -5, 'STOCK', 'Intransit Shipment'],
      ['TRANSFER_IN', 5, null, 'Intransit Receipt'],
      ['RETURN_RECEIVED', 5, null, 'RMA Receipt'],
    ] as const;
    assert.deepEqual(cases.map(([kind, quantity, to]) => transactionTypeName(kind, quantity, to)), cases.map((c) => c[3]));
  });

  it('carries the lot when there is one, and each serial as a range of one', () => {
    const [row] = planSyncTransactions(transaction({ quantity: 2, serials: ['SN-1', 'SN-2'], lines: [{ subinventory: 'STOCK', lot: 'L7', nettable: true, change: 2 }] }));
    const { body } = stagedTransactionOf(toPost(row!), ORGANIZATIONS) as { body: Record<string, unknown> };
    assert.equal(body.LotNumber, 'L7');
    assert.deepEqual(body.serials, [{ FmSerialNumber: 'SN-1', ToSerialNumber: 'SN-1' }, { FmSerialNumber: 'SN-2', ToSerialNumber: 'SN-2' }]);
    const [plain] = planSyncTransactions(transaction({}));
    assert.equal('LotNumber' in (stagedTransactionOf(toPost(plain!), ORGANIZATIONS) as { body: object }).body, false);
  });

  it('cannot be posted for a location, or a transfer to one, that is no ERP organization', () => {
    const [atUnknown] = planSyncTransactions(transaction({ locationId: 'DC-09' }));
    const [toUnknown] = planSyncTransactions(transaction({ kind: 'TRANSFER_OUT', counterpartLocationId: 'DC-09', transferSubinventory: 'STOCK', lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -5 }] }));
    assert.deepEqual(stagedTransactionOf(toPost(atUnknown!), ORGANIZATIONS), { ok: false, problem: 'no ERP organization for location DC-09 (ERP_ORGANIZATIONS)' });
    assert.deepEqual(stagedTransactionOf(toPost(toUnknown!), ORGANIZATIONS), { ok: false, problem: 'no ERP organization for location DC-09 (ERP_ORGANIZATIONS)' });
  });
});
