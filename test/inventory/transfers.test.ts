import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory } from '../support/inventoryService.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';
import { givenStock } from '../support/stock.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

const LEVEL = 'onHandWms onHandNonNettable available reserved inboundInTransit inboundExpectedAt';
const TRANSFER_FIELDS = `id status quantity receivedQuantity shortQuantity expectedArrivalAt lots { lot quantity receivedQuantity } serials { serial received }
  from { locationId subinventory stockLevel { ${LEVEL} } } to { locationId subinventory stockLevel { ${LEVEL} } }`;
const DAY_MS = 86_400_000;

describe('transfers', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let inventory: RunningService;
  let nextSku = 0;
  const newSku = () => `SKU-9${String(++nextSku).padStart(4, '0')}`;
  const query = (text: string, variables: Record<string, unknown> = {}) => graphql(inventory.url, text, variables);
  const transfer = (input: Record<string, unknown>) =>
    query(`mutation ($input: CreateTransferInput!) { createTransfer(input: $input) { ${TRANSFER_FIELDS} } }`, { input: { idempotencyKey: `t-${Math.random()}`, ...input } });
  const receive = (input: Record<string, unknown>) =>
    query(`mutation ($input: ReceiveTransferInput!) { receiveTransfer(input: $input) { ${TRANSFER_FIELDS} } }`, { input });
  const level = async (sku: string, locationId: string) => (await query(`{ stockLevel(sku: "${sku}", locationId: "${locationId}") { ${LEVEL} } }`)).data.stockLevel;
  const stock = (locationId: string, subinventory = 'STOCK') => ({ locationId, subinventory });

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 20 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: { kind: 'in-process' } });
    inventory = await startInventory(infrastructure, { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', OUTBOX_POLL_INTERVAL_MS: '3600000', RESERVATION_SWEEP_INTERVAL_MS: '3600000' });
  });

  after(async () => {
    await inventory?.stop();
    await infrastructure?.close();
    await database?.drop();
  });

  it('moves stock between subinventories of one location in one step: STOCK -> QA leaves available', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });

    const { data, errors } = await transfer({ sku, quantity: 4, from: stock('DC-01'), to: stock('DC-01', 'QA') });
    assert.equal(errors, undefined);
    assert.equal(data.createTransfer.status, 'COMPLETED');
    assert.equal(data.createTransfer.expectedArrivalAt, null);
    assert.deepEqual(
      [data.createTransfer.from.stockLevel.onHandWms, data.createTransfer.to.stockLevel.onHandNonNettable, data.createTransfer.to.stockLevel.available],
      [6, 4, 6],
      'the answer confirms both sides',
    );
    const changes = (await recordedStockChanges(database.db, sku)).filter((change) => change.cause.type === 'TRANSFER');
    assert.equal(changes.length, 1, 'one atomic change of the one stock level');
  });

  it('ships between locations into transit, then receives in part and closes short', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10, 'DC-02': 1 });
    const arrival = new Date(Date.now() + 2 * DAY_MS).toISOString();

    const shipped = (await transfer({ sku, quantity: 5, from: stock('DC-01'), to: stock('DC-02'), expectedArrivalAt: arrival })).data.createTransfer;
    assert.equal(shipped.status, 'SHIPPED');
    assert.deepEqual([shipped.from.stockLevel.onHandWms, shipped.from.stockLevel.available], [5, 5]);
    assert.deepEqual([shipped.to.stockLevel.onHandWms, shipped.to.stockLevel.inboundInTransit, shipped.to.stockLevel.inboundExpectedAt], [1, 5, arrival]);
    const promise = await query(`{ availability(skus: ["${sku}"], locationIds: ["DC-02"], quantity: 4) { items { available earliestPromiseDate } } }`);
    assert.deepEqual(promise.data.availability.items[0], { available: 1, earliestPromiseDate: arrival }, 'inbound counts only toward a promise date');

    const part = (await receive({ transferId: shipped.id, quantity: 3 })).data.receiveTransfer;
    assert.deepEqual([part.status, part.receivedQuantity, part.to.stockLevel.onHandWms, part.to.stockLevel.inboundInTransit], ['PARTIALLY_RECEIVED', 3, 4, 2]);
    const tooMuch = await receive({ transferId: shipped.id, quantity: 3 });
    assert.equal(tooMuch.errors?.[0]?.extensions?.code, 'RECEIPT_EXCEEDS_SHIPMENT');
    const negative = await receive({ transferId: shipped.id, quantity: -1 });
    assert.deepEqual([negative.errors?.[0]?.extensions?.code, negative.errors?.[0]?.message], ['BAD_USER_INPUT', `Transfer ${shipped.id}: quantity must be a whole number of at least 1`]);

    const closed = (await receive({ transferId: shipped.id, quantity: 1, close: true })).data.receiveTransfer;
    assert.deepEqual([closed.status, closed.receivedQuantity, closed.shortQuantity], ['RECEIVED', 4, 1]);
    assert.deepEqual([closed.to.stockLevel.onHandWms, closed.to.stockLevel.inboundInTransit], [5, 0]);
    assert.equal((await receive({ transferId: shipped.id })).errors?.[0]?.extensions?.code, 'TRANSFER_NOT_IN_TRANSIT');
  });

  it('takes unexpired lots first-expiry-first-out when none are named, and refuses expired or unknown lots', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 0 }, { lotControlled: true });
    await database.db.query(
      `INSERT INTO lot (sku, lot, expires_at) VALUES ($1, 'LATE', now() + interval '90 days'), ($1, 'SOON', now() + interval '10 days'), ($1, 'OLD', now() - interval '1 day')`,
      [sku],
    );
    await database.db.query(
      `INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, wms_updated_at)
       VALUES ($1, 'DC-01', 'STOCK', 'LATE', 10, now()), ($1, 'DC-01', 'STOCK', 'SOON', 3, now()), ($1, 'DC-01', 'STOCK', 'OLD', 50, now())`,
      [sku],
    );

    const fefo = (await transfer({ sku, quantity: 5, from: stock('DC-01'), to: stock('DC-03') })).data.createTransfer;
    assert.deepEqual(fefo.lots, [{ lot: 'LATE', quantity: 2, receivedQuantity: 0 }, { lot: 'SOON', quantity: 3, receivedQuantity: 0 }]);
    const byLot = (await receive({ transferId: fefo.id, lots: [{ lot: 'SOON', quantity: 3 }] })).data.receiveTransfer;
    assert.deepEqual(byLot.lots.map((l: { receivedQuantity: number }) => l.receivedQuantity), [0, 3]);

    assert.equal((await transfer({ sku, quantity: 2, from: stock('DC-01'), to: stock('DC-02'), lots: [{ lot: 'OLD', quantity: 2 }] })).errors?.[0]?.extensions?.code, 'LOT_EXPIRED');
    assert.equal((await transfer({ sku, quantity: 2, from: stock('DC-01'), to: stock('DC-02'), lots: [{ lot: 'NOPE', quantity: 2 }] })).errors?.[0]?.extensions?.code, 'UNKNOWN_LOT');
    const short = await transfer({ sku, quantity: 9, from: stock('DC-01'), to: stock('DC-02') });
    assert.equal(short.errors?.[0]?.extensions?.code, 'INSUFFICIENT_STOCK');
    assert.equal(short.errors?.[0]?.extensions?.available, 8, 'the expired lot does not count');
  });

  it('moves serials that the warehouse received, and refuses serials that are not at the source', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 0 }, { serialControlled: true });
    const received = await postEvents(inventory.url, 'acme-wms', [acmeEvent({ item_code: sku.replace('SKU-', 'ACME-'), qty: 3, serial_nos: ['S-1', 'S-2', 'S-3'] })]);
    assert.equal(received.body.applied, 1);

    const unknown = await transfer({ sku, quantity: 2, from: stock('DC-01'), to: stock('DC-02'), serials: ['S-1', 'S-9'] });
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'UNKNOWN_SERIAL');
    assert.deepEqual(unknown.errors?.[0]?.extensions?.unknownSerials, ['S-9']);
    const mismatched = await transfer({ sku, quantity: 2, from: stock('DC-01'), to: stock('DC-02'), serials: ['S-1', 'S-1', 'S-2'] });
    assert.deepEqual((mismatched.errors?.[0]?.extensions?.problems as { field: string }[]).map((p) => p.field), ['serials', 'serials']);

    const shipped = (await transfer({ sku, quantity: 2, from: stock('DC-01'), to: stock('DC-02'), serials: ['S-2', 'S-1'] })).data.createTransfer;
    assert.deepEqual(shipped.serials, [{ serial: 'S-1', received: false }, { serial: 'S-2', received: false }]);
    const again = await transfer({ sku, quantity: 1, from: stock('DC-01'), to: stock('DC-03'), serials: ['S-1'] });
    assert.equal(again.errors?.[0]?.extensions?.code, 'UNKNOWN_SERIAL', 'a serial in transit is no longer at the source');

    const part = (await receive({ transferId: shipped.id, serials: ['S-2'] })).data.receiveTransfer;
    assert.deepEqual(part.serials, [{ serial: 'S-1', received: false }, { serial: 'S-2', received: true }]);
    const serials = await database.db.query<{ serial: string; locationId: string; status: string }>(
      `SELECT serial, location_id AS "locationId", status::text FROM serial_number WHERE sku = $1 ORDER BY serial`, [sku]);
    assert.deepEqual(serials, [
      { serial: 'S-1', locationId: 'DC-02', status: 'IN_TRANSIT' },
      { serial: 'S-2', locationId: 'DC-02', status: 'IN_STOCK' },
      { serial: 'S-3', locationId: 'DC-01', status: 'IN_STOCK' },
    ]);
  });

  it('refuses what does not fit, with every problem at once, and changes nothing', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const reserved = await query(`mutation { createReservation(input: { sku: "${sku}", quantity: 8, locationId: "DC-01", channel: "WEB", reference: "r", idempotencyKey: "${sku}-r" }) { id } }`);
    assert.equal(reserved.errors, undefined);

    const held = await transfer({ sku, quantity: 3, from: stock('DC-01'), to: stock('DC-02') });
    assert.equal(held.errors?.[0]?.extensions?.code, 'INSUFFICIENT_STOCK');
    assert.equal(held.errors?.[0]?.extensions?.available, 2, 'reserved stock does not move');
    const bad = await transfer({ sku, quantity: 0, from: stock('DC-01'), to: stock('DC-01'), lots: [{ lot: 'A', quantity: 1 }], serials: ['X'] });
    assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual((bad.errors?.[0]?.extensions?.problems as { field: string }[]).map((p) => p.field), ['quantity', 'to', 'lots', 'serials']);
    assert.equal((await transfer({ sku, quantity: 1, from: stock('DC-01'), to: stock('DC-02', 'NOWHERE') })).errors?.[0]?.extensions?.code, 'UNKNOWN_SUBINVENTORY');
    assert.equal((await transfer({ sku, quantity: 1, from: stock('DC-01'), to: stock('DC-99') })).errors?.[0]?.extensions?.code, 'UNKNOWN_LOCATION');
    assert.deepEqual(await level(sku, 'DC-01'), { onHandWms: 10, onHandNonNettable: 0, available: 2, reserved: 8, inboundInTransit: 0, inboundExpectedAt: null });
    assert.equal(await level(sku, 'DC-02'), null);
  });

  it('returns the first result for a retried idempotency key, and refuses the key for another transfer', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const input = { sku, quantity: 2, from: stock('DC-01'), to: stock('DC-02'), idempotencyKey: `${sku}-move` };

    const answers = await Promise.all([transfer(input), transfer(input), transfer(input)]);
    assert.equal(new Set(answers.map((a) => a.data?.createTransfer?.id)).size, 1);
    assert.equal((await level(sku, 'DC-01')).onHandWms, 8, 'moved once');
    assert.equal((await transfer({ ...input, quantity: 3 })).errors?.[0]?.extensions?.code, 'IDEMPOTENCY_CONFLICT');
  });
});
