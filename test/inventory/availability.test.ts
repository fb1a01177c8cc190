import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory } from '../support/inventoryService.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';
import { isBackgroundStatement } from '../support/statementCounting.ts';

const DAY_MS = 86_400_000;

describe('stock levels and bulk availability', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let inventory: RunningService;
  const statements: string[] = [];
  const query = (text: string, variables: Record<string, unknown> = {}) => graphql(inventory.url, text, variables);

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 1_000 });
    infrastructure = await openInfrastructure(
      { database: { kind: 'postgres', url: database.url, poolSize: 5 }, eventBus: { kind: 'in-process' } },
      { onQuery: (sql) => !isBackgroundStatement(sql) && statements.push(sql) },
    );
    inventory = await startInventory(infrastructure, { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', STALE_AFTER_SECONDS: '10800', CHANNEL_LOCATIONS: 'STORE=DC-02|DC-03', OUTBOX_POLL_INTERVAL_MS: '3600000', RESERVATION_SWEEP_INTERVAL_MS: '3600000', PROMISE_FIGURES_INTERVAL_MS: '3600000' });
  });

  after(async () => {
    await inventory?.stop();
    await infrastructure?.close();
    await database?.drop();
  });

  it('answers up to 1,000 SKUs with a fixed number of SQL statements, all as of one snapshot', async () => {
    const skus = (count: number) => Array.from({ length: count }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);
    const ask = async (count: number) => {
      statements.length = 0;
      const { data, errors } = await query('query ($skus: [ID!]!) { availability(skus: $skus) { asOf items { sku available locations { locationId available } } } }', { skus: skus(count) });
      assert.equal(errors, undefined);
      return { answer: data.availability, statements: statements.length };
    };

    await ask(1); // after the start-up work of the service (its relay's first look at the outbox)
    const few = await ask(5);
    const many = await ask(1_000);

    assert.equal(many.statements, few.statements);
    assert.ok(many.statements <= 3, `at most items, locations and stock levels: ${many.statements}`);
    assert.equal(many.answer.items.length, 1_000);
    assert.ok(many.answer.items.every((item: { locations: unknown[] }) => item.locations.length === 12));
    const levels = await query('{ item(sku: "SKU-00001") { stockLevels { available } } }');
    const total = levels.data.item.stockLevels.reduce((sum: number, level: { available: number }) => sum + level.available, 0);
    assert.equal(many.answer.items[0].available, total, 'the total is the sum of the per-location ATP');
  });

  it('answers the items asked for and their locations, with one more statement for all items together', async () => {
    statements.length = 0;
    const { data, errors } = await query(
      '{ availability(skus: ["SKU-00002", "SKU-00001"], locationIds: ["DC-02"]) { items { sku item { sku description unitOfMeasure } locations { locationId location { id name } } } } }',
    );
    const catalogue = await database.db.query<{ sku: string; description: string; unitOfMeasure: string }>(
      `SELECT sku, description, unit_of_measure AS "unitOfMeasure" FROM item WHERE sku IN ('SKU-00001', 'SKU-00002') ORDER BY sku DESC`);

    assert.equal(errors, undefined);
    assert.deepEqual(data.availability.items.map((entry: { item: unknown }) => entry.item), catalogue);
    assert.deepEqual(data.availability.items[0].locations, [{ locationId: 'DC-02', location: { id: 'DC-02', name: 'Chicago Distribution Centre' } }]);
    assert.ok(statements.length <= 5, `known SKUs, locations, stock levels, and the items' and the locations' rows: ${statements.length}`);
  });

  it('limits locations by the request and by the channel rule', async () => {
    const { data } = await query(`{
      some: availability(skus: ["SKU-00001"], locationIds: ["DC-01", "DC-02"]) { items { locations { locationId } } }
      store: availability(skus: ["SKU-00001"], channel: "STORE") { items { locations { locationId } } }
      storeHere: availability(skus: ["SKU-00001"], channel: "STORE", locationIds: ["DC-01", "DC-03"]) { items { locations { locationId } } }
      web: availability(skus: ["SKU-00001"], channel: "WEB") { items { locations { locationId } } }
    }`);
    const ids = (answer: { items: { locations: { locationId: string }[] }[] }) => answer.items[0]!.locations.map((l) => l.locationId);
    assert.deepEqual(ids(data.some), ['DC-01', 'DC-02']);
    assert.deepEqual(ids(data.store), ['DC-02', 'DC-03']);
    assert.deepEqual(ids(data.storeHere), ['DC-03']);
    assert.equal(ids(data.web).length, 12, 'a channel without a rule may use every location');
  });

  it('dates a promise by inbound stock when what is available falls short', async () => {
    const expected = new Date(Date.now() + 3 * DAY_MS);
    await database.db.runScript(`
      UPDATE stock_position SET on_hand_wms = 5, allocated = 0, reserved = 0, quality_hold = 0, inbound_in_transit = 0, inbound_expected_at = NULL
       WHERE sku = 'SKU-00011';
      UPDATE stock_level SET safety_stock = 0 WHERE sku = 'SKU-00011';
      UPDATE stock_position SET inbound_in_transit = 10, inbound_expected_at = '${expected.toISOString()}'
       WHERE sku = 'SKU-00011' AND location_id = 'DC-01' AND subinventory = 'STOCK';
      UPDATE stock_level SET figures_valid_until = NULL WHERE sku = 'SKU-00011';`);
    const promise = async (quantity: number) =>
      (await query('query ($q: Int!) { availability(skus: ["SKU-00011"], locationIds: ["DC-01"], quantity: $q) { asOf items { available inboundInTransit earliestPromiseDate } } }', { q: quantity })).data.availability;

    const now = await promise(5);
    const later = await promise(12);
    const never = await promise(16);

    assert.equal(now.items[0].earliestPromiseDate, now.asOf);
    assert.deepEqual([later.items[0].available, later.items[0].inboundInTransit], [5, 10]);
    assert.equal(later.items[0].earliestPromiseDate, expected.toISOString());
    assert.equal(never.items[0].earliestPromiseDate, null);
  });

  it('refuses bad requests with stable codes, naming every unknown SKU and location', async () => {
    const unknown = await query('{ availability(skus: ["SKU-00001", "NOPE-1", "NOPE-2"]) { asOf } }');
    const badLocation = await query('{ availability(skus: ["SKU-00001"], locationIds: ["DC-01", "MARS"]) { asOf } }');
    const tooMany = await query('query ($skus: [ID!]!) { availability(skus: $skus) { asOf } }', { skus: Array.from({ length: 1_001 }, (_, i) => `S-${i}`) });
    const badQuantity = await query('{ availability(skus: ["SKU-00001"], quantity: 0) { asOf } }');

    assert.equal(unknown.errors?.[0]?.extensions?.code, 'UNKNOWN_SKU');
    assert.deepEqual(unknown.errors?.[0]?.extensions?.unknownSkus, ['NOPE-1', 'NOPE-2']);
    assert.deepEqual([badLocation.errors?.[0]?.extensions?.code, badLocation.errors?.[0]?.extensions?.unknownLocations], ['UNKNOWN_LOCATION', ['MARS']]);
    assert.equal(tooMany.errors?.[0]?.extensions?.code, 'TOO_MANY_SKUS');
    assert.equal(badQuantity.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
  });

  it('shows lots with their expiry, and never promises an expired one', async () => {
    await database.db.runScript(`
      UPDATE stock_position SET allocated = 0, reserved = 0, quality_hold = 0 WHERE sku = 'SKU-00020' AND location_id = 'DC-01';
      UPDATE stock_level SET safety_stock = 0, figures_valid_until = NULL WHERE sku = 'SKU-00020' AND location_id = 'DC-01';`);
    const { data } = await query('{ stockLevel(sku: "SKU-00020", locationId: "DC-01") { onHandWms expired available lots { lot expired onHand } } }');
    const level = data.stockLevel;
    const expiredLot = level.lots.find((lot: { expired: boolean }) => lot.expired);
    const freshLot = level.lots.find((lot: { expired: boolean }) => !lot.expired);

    assert.deepEqual(level.lots.map((lot: { lot: string }) => lot.lot), ['SKU-00020-A', 'SKU-00020-B']);
    assert.equal(level.expired, expiredLot.onHand);
    assert.equal(level.available, freshLot.onHand);
    assert.equal(level.onHandWms, expiredLot.onHand + freshLot.onHand);
  });

  it('flags a level stale when its WMS has been quiet longer than STALE_AFTER_SECONDS, and tells who changed each bucket', async () => {
    const level = async () =>
      (await query('{ stockLevel(sku: "SKU-00012", locationId: "DC-01") { stale wmsReportedAt bucketChanges { bucket source } } }')).data.stockLevel;
    // acme-wms, the level's one source, last reported `hours` ago.
    const quietFor = async (hours: number) => {
      await database.db.query(
        `UPDATE stock_level SET source_reports = jsonb_build_object('acme-wms', (extract(epoch FROM now() - $1 * interval '1 hour') * 1000)::bigint)
          WHERE sku = 'SKU-00012' AND location_id = 'DC-01'`, [hours]);
      return level();
    };

    // The service runs with STALE_AFTER_SECONDS=10800 (3 hours), not the default hour.
    const quietTwoHours = await quietFor(2);
    const quietFourHours = await quietFor(4);
    await postEvents(inventory.url, 'acme-wms', [acmeEvent({ item_code: 'ACME-00012', qty: 1 })]);
    const reported = await level();

    assert.equal(quietTwoHours.stale, false);
    assert.equal(quietFourHours.stale, true);
    assert.equal(reported.stale, false);
    assert.ok(Date.now() - Date.parse(reported.wmsReportedAt) < 60_000);
    assert.deepEqual(reported.bucketChanges.find((change: { bucket: string }) => change.bucket === 'onHandWms'), { bucket: 'onHandWms', source: 'acme-wms' });
  });
});
