import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inventoryTransactionRecorded, STREAMS, type PayloadOf } from '../../platform/contracts/events.ts';
import { ORDER_STOCK_API } from '../../platform/contracts/orderStockApi.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory } from '../support/inventoryService.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenLocations, givenStock } from '../support/stock.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

type Transaction = PayloadOf<typeof inventoryTransactionRecorded>;
type Raw = Record<string, unknown>;

const TOKEN = 'inventory-transactions-test-01';
// When the warehouse says each movement happened.
const OCCURRED_AT = '2026-12-01T09:30:00.000Z';
const STOCK = { subinventory: 'STOCK', lot: '', nettable: true };

// acme-wms names SKU-n ACME-n and DC-01, DC-02, DC-03 ATL1, ORD1, DFW1.
describe('inventory transactions, recorded for the ERP sync ledger', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let inventory: RunningService;
  let nextSku = 0;
  const newSku = () => `SKU-7${String(++nextSku).padStart(4, '0')}`;
  const acme = (sku: string) => sku.replace('SKU-', 'ACME-');
  /** A new EA item with `onHand` in STOCK at each location given. */
  const givenSku = async (onHandByLocation: Record<string, number>, options?: Parameters<typeof givenStock>[3]) => {
    const sku = newSku();
    await givenStock(database.db, sku, onHandByLocation, options);
    return sku;
  };

  /** Posts acme-wms events (at OCCURRED_AT, in ATL1 unless they say otherwise); returns their statuses. */
  const warehouse = async (...events: Raw[]): Promise<string[]> => {
    const { status, body } = await postEvents(inventory.url, 'acme-wms', events);
    assert.equal(status, 200, JSON.stringify(body));
    return body.results.map((result: { status: string }) => result.status);
  };
  const event = (sku: string, fields: Raw) => acmeEvent({ item_code: acme(sku), ts: OCCURRED_AT, ...fields });

  /** The transactions recorded for `sku`, oldest first, each checked to be its own key's one record on the transactions stream. */
  const transactionsOf = async (sku: string): Promise<Transaction[]> => {
    const rows = await database.db.query<{ stream: string; key: string; sequence: string; payload: Transaction }>(
      `SELECT stream, key, sequence::text, payload FROM event_outbox WHERE type = $1 AND payload->>'sku' = $2 ORDER BY id`,
      [inventoryTransactionRecorded.type, sku],
    );
    for (const { stream, key, sequence, payload } of rows) assert.deepEqual([stream, key, sequence], [STREAMS.stockChanges, payload.transactionId, '1']);
    return rows.map((row) => row.payload);
  };

  /** What a warehouse event's transaction says, in the given fields and the rest as a plain movement in ATL1's STOCK says it. */
  const fromWarehouse = (raw: Raw, sku: string, fields: Pick<Transaction, 'kind' | 'quantity' | 'lines'> & Partial<Transaction>): Transaction => ({
    transactionId: `WAREHOUSE_EVENT:acme-wms:${String(raw.event_id)}`,
    sku,
    locationId: 'DC-01',
    unitOfMeasure: 'EA',
    subinventory: 'STOCK',
    transferSubinventory: null,
    counterpartLocationId: null,
    serials: [],
    occurredAt: OCCURRED_AT,
    ...fields,
  });

  const query = (text: string, variables: Record<string, unknown> = {}) => graphql(inventory.url, text, variables);
  const createTransfer = async (input: Record<string, unknown>): Promise<string> => {
    const { data, errors } = await query(`mutation ($input: CreateTransferInput!) { createTransfer(input: $input) { id } }`, { input: { idempotencyKey: `t-${Math.random()}`, ...input } });
    assert.equal(errors, undefined);
    return data.createTransfer.id;
  };
  const receiveTransfer = async (input: Record<string, unknown>) => {
    const { errors } = await query(`mutation ($input: ReceiveTransferInput!) { receiveTransfer(input: $input) { id } }`, { input });
    assert.equal(errors, undefined);
  };
  /** Runs `step` and checks that the `occurredAt` of what it recorded lies within it; returns them without it, to compare whole. */
  const recordedDuring = async (sku: string, step: () => Promise<unknown>) => {
    const known = (await transactionsOf(sku)).length;
    const startedAt = new Date().toISOString();
    await step();
    const endedAt = new Date().toISOString();
    return (await transactionsOf(sku)).slice(known).map(({ occurredAt, ...transaction }) => {
      assert.ok(startedAt <= occurredAt && occurredAt <= endedAt, `${transaction.transactionId} occurred at ${occurredAt}, outside ${startedAt}..${endedAt}`);
      return transaction;
    });
  };

  before(async () => {
    database = await createTestDatabase();
    await givenLocations(database.db, ['DC-01', 'DC-02', 'DC-03']);
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: { kind: 'in-process' } });
    inventory = await startInventory(infrastructure, { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', INTERNAL_API_TOKEN: TOKEN });
  });

  after(async () => {
    await inventory?.stop();
    await infrastructure?.close();
    await database?.drop();
  });

  it('records a receipt in the unit of the item, with the on hand it added per subinventory and lot', async () => {
    const sku = await givenSku({ 'DC-01': 10 });
    const lotted = await givenSku({}, { lotControlled: true });
    await database.db.query(`UPDATE item SET unit_of_measure = 'KG' WHERE sku = $1`, [lotted]);
    const cases = event(sku, { txn_type: 'RCV', qty: 2, uom: 'CS' });
    const ofLot = event(lotted, { txn_type: 'RCV', qty: 7, uom: 'KG', lot_no: 'L-2612', subinv: 'QC' });

    assert.deepEqual(await warehouse(cases, ofLot), ['APPLIED', 'APPLIED']);

    assert.deepEqual(await transactionsOf(sku), [{
      transactionId: `WAREHOUSE_EVENT:acme-wms:${String(cases.event_id)}`,
      kind: 'RECEIPT',
      sku,
      locationId: 'DC-01',
      unitOfMeasure: 'EA',
      quantity: 24,
      lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: 24 }],
      subinventory: 'STOCK',
      transferSubinventory: null,
      counterpartLocationId: null,
      serials: [],
      occurredAt: OCCURRED_AT,
    }], 'two cases of 12, in EA');
    assert.deepEqual(await transactionsOf(lotted), [fromWarehouse(ofLot, lotted, {
      kind: 'RECEIPT', unitOfMeasure: 'KG', quantity: 7, subinventory: 'QA', lines: [{ subinventory: 'QA', lot: 'L-2612', nettable: false, change: 7 }],
    })]);
  });

  it("records a ship with its serials, the warehouse's own transfers out and in, and an adjustment unsigned with its signed change", async () => {
    const sku = await givenSku({ 'DC-01': 10 }, { serialControlled: true });
    const ship = event(sku, { txn_type: 'SHP', qty: 2, serial_nos: ['SN-2', 'SN-1'] });
    const out = event(sku, { txn_type: 'XFO', qty: 3 });
    const back = event(sku, { txn_type: 'XFI', qty: 1, subinv: 'RET' });
    const adjustment = event(sku, { txn_type: 'ADJ', qty: -5 });

    assert.deepEqual(await warehouse(ship, out, back, adjustment), ['APPLIED', 'APPLIED', 'APPLIED', 'APPLIED']);

    assert.deepEqual(await transactionsOf(sku), [
      fromWarehouse(ship, sku, { kind: 'SHIP', quantity: 2, lines: [{ ...STOCK, change: -2 }], serials: ['SN-2', 'SN-1'] }),
      fromWarehouse(out, sku, { kind: 'TRANSFER_OUT', quantity: 3, lines: [{ ...STOCK, change: -3 }] }),
      fromWarehouse(back, sku, { kind: 'TRANSFER_IN', quantity: 1, subinventory: 'RETURNS', lines: [{ subinventory: 'RETURNS', lot: '', nettable: false, change: 1 }] }),
      fromWarehouse(adjustment, sku, { kind: 'ADJUSTMENT', quantity: 5, lines: [{ ...STOCK, change: -5 }] }),
    ], 'a WMS names no other end of its transfers');
  });

  it('records a cycle count as what it changed (counted less what was there), and nothing for a count that changes nothing', async () => {
    const sku = await givenSku({ 'DC-01': 40 });
    const count = event(sku, { txn_type: 'CNT', qty: 37 });
    const confirming = event(sku, { txn_type: 'CNT', qty: 37 });

    assert.deepEqual(await warehouse(count), ['APPLIED']);
    assert.deepEqual(await warehouse(confirming), ['APPLIED']);

    assert.deepEqual(await transactionsOf(sku), [fromWarehouse(count, sku, { kind: 'CYCLE_COUNT', quantity: 37, lines: [{ ...STOCK, change: -3 }] })]);
  });

  it('records a return received into QA, and each restock as both subinventories it moved units between', async () => {
    const sku = await givenSku({ 'DC-01': 5 });
    const received = event(sku, { txn_type: 'RTN', qty: 2, order_no: 'WEB-1' });
    const scrapped = event(sku, { txn_type: 'RST', qty: 1, subinv: 'DMG', order_no: 'WEB-1' });
    const restocked = event(sku, { txn_type: 'RST', qty: 1, subinv: 'MAIN', order_no: 'WEB-1' });

    assert.deepEqual(await warehouse(received, scrapped, restocked), ['APPLIED', 'APPLIED', 'APPLIED']);

    const qa = { subinventory: 'QA', lot: '', nettable: false };
    assert.deepEqual(await transactionsOf(sku), [
      fromWarehouse(received, sku, { kind: 'RETURN_RECEIVED', quantity: 2, subinventory: 'QA', lines: [{ ...qa, change: 2 }] }),
      fromWarehouse(scrapped, sku, {
        kind: 'RETURN_RESTOCKED', quantity: 1, subinventory: 'DAMAGED', lines: [{ ...qa, change: -1 }, { subinventory: 'DAMAGED', lot: '', nettable: false, change: 1 }],
      }),
      fromWarehouse(restocked, sku, { kind: 'RETURN_RESTOCKED', quantity: 1, lines: [{ ...qa, change: -1 }, { ...STOCK, change: 1 }] }),
    ]);
  });

  it('records a pick, which changes no on hand, with no lines: also one its held order covers, which changes no stock at all', async () => {
    const sku = await givenSku({ 'DC-01': 20 });
    const hold = await fetch(`${inventory.url}${ORDER_STOCK_API.holds}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ holds: [{ orderId: 'ORD-PICK-1', reference: 'WEB-PICK-1', channel: 'WEB', lines: [{ lineNumber: 1, sku, quantity: 3, locationId: 'DC-01', reservationId: null }] }] }),
    });
    assert.equal(hold.status, 200);
    const pick = event(sku, { txn_type: 'PCK', qty: 4 });
    const covered = event(sku, { txn_type: 'PCK', qty: 2, order_no: 'WEB-PICK-1' });

    assert.deepEqual(await warehouse(pick, covered), ['APPLIED', 'APPLIED']);

    assert.deepEqual(await transactionsOf(sku), [
      fromWarehouse(pick, sku, { kind: 'PICK', quantity: 4, lines: [] }),
      fromWarehouse(covered, sku, { kind: 'PICK', quantity: 2, lines: [] }),
    ]);
    const changes = (await recordedStockChanges(database.db, sku)).filter((change) => change.cause.type === 'WAREHOUSE_EVENT');
    assert.deepEqual(changes.map((change) => change.cause.id), [`acme-wms:${String(pick.event_id)}`], 'the order\'s hold already allocated what the covered pick takes');
  });

  it('records a location snapshot as one cycle count per item it changed, listed or zeroed', async () => {
    const counted = await givenSku({ 'DC-03': 8 });
    const unchanged = await givenSku({ 'DC-03': 5 });
    const zeroed = await givenSku({ 'DC-03': 3 });
    const snapshot = acmeEvent({
      txn_type: 'SNAP', site: 'DFW1', ts: OCCURRED_AT,
      lines: [{ item_code: acme(counted), qty: 6, uom: 'EA' }, { item_code: acme(counted), subinv: 'QC', qty: 1, uom: 'EA' }, { item_code: acme(unchanged), qty: 5, uom: 'EA' }],
    });

    assert.deepEqual(await warehouse(snapshot), ['APPLIED']);

    const id = `WAREHOUSE_EVENT:acme-wms:${String(snapshot.event_id)}`;
    const inDallas = { locationId: 'DC-03', kind: 'CYCLE_COUNT' } as const;
    assert.deepEqual(await transactionsOf(counted), [fromWarehouse(snapshot, counted, {
      ...inDallas, transactionId: `${id}/${counted}`, quantity: 7, lines: [{ ...STOCK, change: -2 }, { subinventory: 'QA', lot: '', nettable: false, change: 1 }],
    })]);
    assert.deepEqual(await transactionsOf(unchanged), []);
    assert.deepEqual(await transactionsOf(zeroed), [fromWarehouse(snapshot, zeroed, {
      ...inDallas, transactionId: `${id}/${zeroed}`, quantity: 0, lines: [{ ...STOCK, change: -3 }],
    })]);
  });

  it('records a subinventory transfer of 120 serials as one transaction carrying both sides and every serial', async () => {
    const sku = await givenSku({ 'DC-01': 0 }, { serialControlled: true });
    const serials = Array.from({ length: 120 }, (_, i) => `${sku}-SN-${String(i + 1).padStart(3, '0')}`);
    assert.deepEqual(await warehouse(event(sku, { txn_type: 'RCV', qty: 120, serial_nos: serials })), ['APPLIED']);

    let id = '';
    const recorded = await recordedDuring(sku, async () => {
      id = await createTransfer({ sku, quantity: 120, from: { locationId: 'DC-01', subinventory: 'STOCK' }, to: { locationId: 'DC-01', subinventory: 'QA' }, serials: [...serials].reverse() });
    });

    assert.deepEqual(recorded, [{
      transactionId: `TRANSFER:${id}:SHIP`,
      kind: 'SUBINVENTORY_TRANSFER',
      sku,
      locationId: 'DC-01',
      unitOfMeasure: 'EA',
      quantity: 120,
      lines: [{ ...STOCK, change: -120 }, { subinventory: 'QA', lot: '', nettable: false, change: 120 }],
      subinventory: 'STOCK',
      transferSubinventory: 'QA',
      counterpartLocationId: null,
      serials,
    }], 'in serial order; batching them 50 to a call is the sync ledger\'s');
  });

  it('records a transfer between locations as it ships and as each receipt arrives', async () => {
    const sku = await givenSku({ 'DC-01': 10, 'DC-02': 0 });
    let id = '';
    const shipped = await recordedDuring(sku, async () => {
      id = await createTransfer({ sku, quantity: 10, from: { locationId: 'DC-01', subinventory: 'STOCK' }, to: { locationId: 'DC-02', subinventory: 'STOCK' } });
    });
    const received = await recordedDuring(sku, async () => {
      await receiveTransfer({ transferId: id, quantity: 6 });
      await receiveTransfer({ transferId: id, quantity: 3, close: true });
    });

    const transfer = { sku, unitOfMeasure: 'EA', subinventory: 'STOCK', serials: [] };
    assert.deepEqual(shipped, [{
      ...transfer, transactionId: `TRANSFER:${id}:SHIP`, kind: 'TRANSFER_OUT', locationId: 'DC-01', quantity: 10,
      lines: [{ ...STOCK, change: -10 }], transferSubinventory: 'STOCK', counterpartLocationId: 'DC-02',
    }], 'the units in transit are no on hand of the destination\'s');
    assert.deepEqual(received, [
      {
        ...transfer, transactionId: `TRANSFER:${id}:RECEIPT:1`, kind: 'TRANSFER_IN', locationId: 'DC-02', quantity: 6,
        lines: [{ ...STOCK, change: 6 }], transferSubinventory: null, counterpartLocationId: 'DC-01',
      },
      {
        ...transfer, transactionId: `TRANSFER:${id}:RECEIPT:7`, kind: 'TRANSFER_IN', locationId: 'DC-02', quantity: 3,
        lines: [{ ...STOCK, change: 3 }], transferSubinventory: null, counterpartLocationId: 'DC-01',
      },
    ], 'each receipt numbered by the first unit it brings in; the unit closed short is no transaction');
  });

  it('records an event once, however often and concurrently it is delivered', async () => {
    const sku = await givenSku({ 'DC-01': 1 });
    const receipt = event(sku, { txn_type: 'RCV', qty: 5 });

    const deliveries = await Promise.all([1, 2, 3].map(() => warehouse(receipt)));
    const again = await warehouse(receipt, receipt);

    assert.deepEqual(deliveries.flat().sort(), ['APPLIED', 'DUPLICATE', 'DUPLICATE']);
    assert.deepEqual(again, ['DUPLICATE', 'DUPLICATE']);
    assert.deepEqual(await transactionsOf(sku), [fromWarehouse(receipt, sku, { kind: 'RECEIPT', quantity: 5, lines: [{ ...STOCK, change: 5 }] })]);
  });

  it('records nothing of an event it dead-letters, and the rest of its batch as usual', async () => {
    const sku = await givenSku({ 'DC-01': 4 });
    const receipt = event(sku, { txn_type: 'RCV', qty: 1 });
    const tooBig = event(sku, { txn_type: 'SHP', qty: 50 });
    const unknown = event('SKU-79999', { txn_type: 'RCV', qty: 1 });

    assert.deepEqual(await warehouse(receipt, tooBig, unknown), ['APPLIED', 'DEAD_LETTERED', 'DEAD_LETTERED']);

    assert.deepEqual(await transactionsOf(sku), [fromWarehouse(receipt, sku, { kind: 'RECEIPT', quantity: 1, lines: [{ ...STOCK, change: 1 }] })]);
    assert.deepEqual(await transactionsOf('SKU-79999'), []);
  });

  it('records no transaction for a pack, a delivery or a quality hold, which change nothing the ERP holds', async () => {
    const sku = await givenSku({ 'DC-01': 6 });

    assert.deepEqual(await warehouse(
      event(sku, { txn_type: 'PAK', qty: 2, order_no: 'WEB-2' }),
      event(sku, { txn_type: 'DLV', qty: 2, order_no: 'WEB-2' }),
      event(sku, { txn_type: 'QHD', qty: 1 }),
    ), ['APPLIED', 'APPLIED', 'APPLIED']);

    assert.deepEqual(await transactionsOf(sku), []);
  });
});
