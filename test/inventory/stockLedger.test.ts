import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { seedDemoData } from '../../prisma/seed.ts';
import { StockLedger, type StockChange } from '../../subgraphs/inventory/data/stockLedger.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenStock, stockOf } from '../support/stock.ts';

const receipt = (sku: string, locationId: string, quantity: number, id: string): StockChange => ({
  sku, locationId, cause: { type: 'WAREHOUSE_EVENT', id }, source: 'test-wms',
  effects: [{ subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'add', quantity }],
});

describe('StockLedger', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 5 });
    await givenStock(database.db, 'LEDGER-1', { 'DC-01': 10, 'DC-02': 4 });
  });

  after(async () => database?.drop());

  it('applies a group all or nothing: a refused change undoes the group and leaves earlier changes standing', async () => {
    await database.db.prisma.$transaction(async (tx) => {
      const ledger = await StockLedger.open(tx, [{ sku: 'LEDGER-1', locationId: 'DC-01' }, { sku: 'LEDGER-1', locationId: 'DC-02' }]);
      assert.equal(ledger.apply(receipt('LEDGER-1', 'DC-01', 5, 'first')).status, 'APPLIED');

      const group = ledger.applyAll([receipt('LEDGER-1', 'DC-01', 2, 'second'), receipt('LEDGER-1', 'DC-02', -5, 'third')]);
      assert.equal(group.ok, false);
      assert.equal(!group.ok && group.refused.status === 'REJECTED' && group.refused.code, 'NEGATIVE_STOCK');
      assert.equal(ledger.level('LEDGER-1', 'DC-01').onHandWms, 15, 'the group\'s first change was undone');
      assert.equal(ledger.level('LEDGER-1', 'DC-02').onHandWms, 4);
      await ledger.write();
    });

    assert.deepEqual(await stockOf(database.db, 'LEDGER-1', 'DC-01'), { available: 15, reserved: 0, allocated: 0 });
    const outbox = await database.db.query<{ causeId: string; sequence: string }>(
      `SELECT cause_id AS "causeId", sequence::text FROM stock_change_outbox WHERE sku = 'LEDGER-1' ORDER BY id`);
    assert.deepEqual(outbox, [{ causeId: 'first', sequence: '1' }], 'one outbox record, and the sequence did not skip');
  });
});
