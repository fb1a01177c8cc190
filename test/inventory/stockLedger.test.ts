import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inventoryTransactionRecorded } from '../../platform/contracts/events.ts';
import { connectDatabase, type Database } from '../../platform/database/database.ts';
import { Prisma } from '../../platform/database/generated/client.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { StockLedger, type StockChange } from '../../subgraphs/inventory/data/stockLedger.ts';
import { ReservationService } from '../../subgraphs/inventory/services/reservationService.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenStock, reservationSettings, stockOf } from '../support/stock.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';

const receipt = (sku: string, locationId: string, quantity: number, id: string): StockChange => ({
  sku, locationId, cause: { type: 'WAREHOUSE_EVENT', id }, source: 'test-wms',
  effects: [{ subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'add', quantity }],
});

describe('StockLedger', () => {
  let database: TestDatabase;
  // A second connection that records every statement Prisma sends.
  let counted: Database;
  const statements: string[] = [];
  const outboxOf = async (sku: string) => (await recordedStockChanges(database.db, sku)).map((change) => ({ causeId: change.cause.id, sequence: String(change.sequence) }));

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 5 });
    await givenStock(database.db, 'LEDGER-1', { 'DC-01': 10, 'DC-02': 4 });
    counted = await connectDatabase({ kind: 'postgres', url: database.url, poolSize: 4 }, { onQuery: (sql) => statements.push(sql) });
  });

  after(async () => {
    await counted?.close();
    await database?.drop();
  });

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
    assert.deepEqual(await outboxOf('LEDGER-1'), [{ causeId: 'first', sequence: '1' }], 'one outbox record, and the sequence did not skip');
  });

  it("records an applied change's transaction by what it changed on hand, and none of a refused group or of a count that changes nothing", async () => {
    await givenStock(database.db, 'LEDGER-5', { 'DC-01': 10, 'DC-02': 4 });
    const now = new Date('2026-12-01T09:30:00.000Z');
    const transaction = (id: string, kind: 'CYCLE_COUNT' | 'ADJUSTMENT' | 'PICK', quantity: number) => ({ kind, transactionId: `TEST:${id}`, quantity });
    const count = (quantity: number, id: string): StockChange => ({
      sku: 'LEDGER-5', locationId: 'DC-01', cause: { type: 'WAREHOUSE_EVENT', id }, source: 'test-wms',
      effects: [{ subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'set', quantity }], transaction: transaction(id, 'CYCLE_COUNT', quantity),
    });
    await database.db.prisma.$transaction(async (tx) => {
      const ledger = await StockLedger.open(tx, [{ sku: 'LEDGER-5', locationId: 'DC-01' }, { sku: 'LEDGER-5', locationId: 'DC-02' }], now);
      assert.equal(ledger.apply(count(7, 'counted')).status, 'APPLIED');
      assert.equal(ledger.apply(count(7, 'confirmed')).status, 'APPLIED');
      const group = ledger.applyAll([count(9, 'undone'), { ...receipt('LEDGER-5', 'DC-02', -5, 'refused'), transaction: transaction('refused', 'ADJUSTMENT', 5) }]);
      assert.equal(group.ok, false);
      const picked = { ...receipt('LEDGER-5', 'DC-02', 0, 'picked'), effects: [], transaction: { ...transaction('picked', 'PICK', 2), subinventory: 'STOCK' } };
      assert.equal(ledger.apply(picked).status, 'APPLIED');
      await ledger.write();
    });

    const recorded = await database.db.query<{ payload: unknown }>(`SELECT payload FROM event_outbox WHERE type = $1 AND payload->>'sku' = 'LEDGER-5' ORDER BY id`, [inventoryTransactionRecorded.type]);
    const alike = { kind: 'CYCLE_COUNT', sku: 'LEDGER-5', unitOfMeasure: 'EA', subinventory: 'STOCK', transferSubinventory: null, counterpartLocationId: null, serials: [], occurredAt: now.toISOString() };
    assert.deepEqual(recorded.map((row) => row.payload), [
      { ...alike, transactionId: 'TEST:counted', locationId: 'DC-01', quantity: 7, lines: [{ subinventory: 'STOCK', lot: '', nettable: true, change: -3 }] },
      { ...alike, transactionId: 'TEST:picked', kind: 'PICK', locationId: 'DC-02', quantity: 2, lines: [] },
    ], 'the count in the first line\'s subinventory, the item\'s unit, at the ledger\'s time');
    assert.deepEqual(await outboxOf('LEDGER-5'), [{ causeId: 'counted', sequence: '1' }, { causeId: 'confirmed', sequence: '2' }], 'a change without effects changes no level');
  });

  it('creates a stock level that does not exist yet, and applies changes to it', async () => {
    await givenStock(database.db, 'LEDGER-2', {});
    await database.db.prisma.$transaction(async (tx) => {
      const ledger = await StockLedger.open(tx, [{ sku: 'LEDGER-2', locationId: 'DC-03' }, { sku: 'LEDGER-1', locationId: 'DC-02' }]);
      assert.equal(ledger.apply(receipt('LEDGER-2', 'DC-03', 7, 'new-level')).status, 'APPLIED');
      await ledger.write();
    });

    assert.deepEqual(await stockOf(database.db, 'LEDGER-2', 'DC-03'), { available: 7, reserved: 0, allocated: 0 });
    assert.deepEqual(await outboxOf('LEDGER-2'), [{ causeId: 'new-level', sequence: '1' }]);
  });

  it('stamps each bucket a change moves in each position, and reports its source on the level; a refused group stamps nothing', async () => {
    await givenStock(database.db, 'LEDGER-6', { 'DC-01': 10 });
    const first = new Date('2026-12-09T08:00:00.000Z');
    const second = new Date('2026-12-09T09:00:00.000Z');
    const change = (source: string, id: string, effects: StockChange['effects']): StockChange =>
      ({ sku: 'LEDGER-6', locationId: 'DC-01', cause: { type: 'WAREHOUSE_EVENT', id }, source, effects });
    const move = (subinventory: string, bucket: StockChange['effects'][number]['bucket'], quantity: number) =>
      ({ subinventory, lot: '', bucket, op: 'add', quantity }) as const;
    const applyAt = (now: Date, changes: StockChange[]) => database.db.prisma.$transaction(async (tx) => {
      const ledger = await StockLedger.open(tx, [{ sku: 'LEDGER-6', locationId: 'DC-01' }], now);
      const outcome = ledger.applyAll(changes);
      await ledger.write();
      return outcome.ok;
    });
    const stamps = () => database.db.query<{ subinventory: string; bucketChanges: unknown }>(
      `SELECT subinventory, bucket_changes AS "bucketChanges" FROM stock_position WHERE sku = 'LEDGER-6' ORDER BY subinventory`);
    const sourceReports = async () =>
      (await database.db.query<{ reports: unknown }>(`SELECT source_reports AS reports FROM stock_level WHERE sku = 'LEDGER-6' AND location_id = 'DC-01'`))[0]!.reports;

    // Given a WMS move of 3 units from STOCK to QA, and the ERP's view of STOCK, an hour before a reservation
    assert.equal(await applyAt(first, [
      change('test-wms', 'move', [move('STOCK', 'onHandWms', -3), move('QA', 'onHandWms', 3)]),
      change('erp', 'balance', [{ subinventory: 'STOCK', lot: '', bucket: 'onHandErp', op: 'set', quantity: 9 }]),
    ]), true);
    assert.equal(await applyAt(second, [change('stockgraph', 'reservation', [move('STOCK', 'reserved', 2)])]), true);
    // When a group whose second change is refused would move both positions again
    assert.equal(await applyAt(new Date('2026-12-09T10:00:00.000Z'), [
      change('test-wms', 'refused-move', [move('STOCK', 'onHandWms', 1)]),
      change('test-wms', 'refused-hold', [move('QA', 'qualityHold', -1)]),
    ]), false);

    // Then each position holds who last moved each of its buckets, and when; the refused group left no trace
    const at = (instant: Date, source: string) => ({ source, at: instant.toISOString() });
    assert.deepEqual(await stamps(), [
      { subinventory: 'QA', bucketChanges: { onHandWms: at(first, 'test-wms') } },
      { subinventory: 'STOCK', bucketChanges: { onHandWms: at(first, 'test-wms'), onHandErp: at(first, 'erp'), reserved: at(second, 'stockgraph') } },
    ]);
    // and the level the sources availability rests on: not the ERP
    assert.deepEqual(await sourceReports(), { 'test-wms': first.getTime(), stockgraph: second.getTime() });
  });

  it('writes the caller\'s statements in its one statement, all or nothing with the changes', async () => {
    await givenStock(database.db, 'LEDGER-3', { 'DC-01': 10 });
    const markItem = (description: string) => Prisma.sql`UPDATE item SET description = ${description} WHERE sku = 'LEDGER-3'`;
    const applyAndWrite = (id: string, alongside: Prisma.Sql[]) => counted.prisma.$transaction(async (tx) => {
      const ledger = await StockLedger.open(tx, [{ sku: 'LEDGER-3', locationId: 'DC-01' }]);
      ledger.apply(receipt('LEDGER-3', 'DC-01', 5, id));
      statements.length = 0;
      await ledger.write(alongside);
      return statements.length;
    });

    assert.equal(await applyAndWrite('with-caller', [markItem('written alongside')]), 1, 'one statement for the changes and the caller\'s');
    const duplicateItem = Prisma.sql`INSERT INTO item (sku, description, unit_of_measure) VALUES ('LEDGER-3', 'again', 'EA')`;
    await assert.rejects(applyAndWrite('refused', [markItem('never written'), duplicateItem]));

    assert.deepEqual(await stockOf(database.db, 'LEDGER-3', 'DC-01'), { available: 15, reserved: 0, allocated: 0 }, 'the refused write changed no stock');
    assert.deepEqual(await outboxOf('LEDGER-3'), [{ causeId: 'with-caller', sequence: '1' }]);
    const [item] = await database.db.query<{ description: string }>(`SELECT description FROM item WHERE sku = 'LEDGER-3'`);
    assert.equal(item!.description, 'written alongside');
  });

  it('reserves a batch of 39 with as many SQL statements as a batch of 1', async () => {
    await givenStock(database.db, 'LEDGER-4', { 'DC-01': 100, 'DC-02': 100 });
    const reservations = new ReservationService(counted.prisma, reservationSettings(), () => {});
    const reserve = (i: number) => reservations.create({ sku: 'LEDGER-4', locationId: null, quantity: 1 + (i % 2), channel: 'WEB', reference: 'count', idempotencyKey: `count-${i}` }, null);

    statements.length = 0;
    await reserve(0);
    const alone = statements.length;
    statements.length = 0;
    // The first runs at once, alone; the other 39 arrive while it runs and form the next batch.
    await Promise.all(Array.from({ length: 40 }, (_, i) => reserve(i + 1)));

    assert.equal(statements.length, 2 * alone, `statements for 40 requests in two batches: ${statements.join('\n---\n')}`);
    assert.ok(alone <= 6, `idempotency keys, catalogue, lock, positions, write, COMMIT; got ${alone}: ${statements.join('\n---\n')}`);
    const [units] = await database.db.query<{ reserved: number }>(`SELECT sum(quantity)::int AS reserved FROM reservation WHERE sku = 'LEDGER-4'`);
    assert.equal(units!.reserved, 1 + 20 * 1 + 20 * 2);
  });
});
