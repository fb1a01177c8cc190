import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GRANTABLE_SCOPE_NAMES } from '../../gateway/edge/scopes.ts';
import { useCleanup } from '../support/cleanup.ts';
import { OPERATOR } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { ordersApi } from '../support/orders.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { subscribe } from '../support/subscriber.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';
import { isBackgroundStatement } from '../support/statementCounting.ts';

// Stock positions and where each number comes from, through the gateway over the real subgraphs,
// on PostgreSQL and Redis. The demo data holds SKU-00001..SKU-00010 at DC-01..DC-12 (acme-wms
// names them ACME-000nn; DC-01 is its site ATL1; SKU-00006 and SKU-00007 are counted in EA, as
// acme-wms events say by default); each test changes SKUs of its own.

const PARTNER = { name: 'partner', scopes: [...GRANTABLE_SCOPE_NAMES], locations: ['DC-01'], limits: OPERATOR.limits };
const ERP_IMPORT_TOKEN = 'positions-test-erp-import-token';
const POSITION_FIELDS = `subinventory { code nettable } lot expiresAt expired
  onHandWms onHandErp allocated reserved inboundInTransit inboundExpectedAt qualityHold bucketChanges { bucket source at }`;
const SOURCE_FIELDS = 'source lastReportedAt stale';
const HOUR_MS = 3_600_000;

interface Stamp { source: string; at: string }
interface Position {
  subinventory: { code: string; nettable: boolean };
  lot: string | null;
  expiresAt: string | null;
  expired: boolean;
  onHandWms: number;
  onHandErp: number;
  allocated: number;
  reserved: number;
  inboundInTransit: number;
  inboundExpectedAt: string | null;
  qualityHold: number;
  bucketChanges: ({ bucket: string } & Stamp)[];
}
interface Freshness { source: string; lastReportedAt: string; stale: boolean }

/** A position's stamps by bucket. */
const stampsOf = (position: Position): Record<string, Stamp> => Object.fromEntries(position.bucketChanges.map(({ bucket, ...stamp }) => [bucket, stamp]));

describe('stock positions and the provenance of every number, through the gateway, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  const statements: string[] = [];
  let running: TestSystem;
  const asOperator = <Data = any>(query: string, variables: Record<string, unknown> = {}) =>
    graphql<Data>(running.system.gateway.url, query, variables, running.clients.headers());
  const asPartner = <Data = any>(query: string, variables: Record<string, unknown> = {}) =>
    graphql<Data>(running.system.gateway.url, query, variables, running.clients.headers(PARTNER.name));
  const db = () => running.database.db;

  const positionsOf = async (sku: string, locationId: string): Promise<Position[]> => {
    const { data, errors } = await asOperator<{ stockLevel: { positions: Position[] } }>(
      `query ($sku: ID!, $locationId: ID!) { stockLevel(sku: $sku, locationId: $locationId) { positions { ${POSITION_FIELDS} } } }`, { sku, locationId });
    assert.equal(errors, undefined, JSON.stringify(errors));
    return data!.stockLevel.positions;
  };
  /** Applies signed acme-wms events; returns their ids. */
  const fromWarehouse = async (...events: Record<string, unknown>[]) => {
    const { status, body } = await postEvents(running.system.subgraphs.inventory.url, 'acme-wms', events);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.applied, events.length, JSON.stringify(body));
    return events.map((event) => event.event_id as string);
  };
  const reserve = async (sku: string, quantity: number) => {
    const { data, errors } = await asOperator<{ createReservation: { id: string } }>(
      'mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }',
      { input: { sku, quantity, locationId: 'DC-01', channel: 'WEB', reference: `cart-${randomUUID()}`, idempotencyKey: randomUUID() } });
    assert.equal(errors, undefined, JSON.stringify(errors));
    return data!.createReservation.id;
  };

  before(async () => {
    running = await startTestSystem('positions', {
      skuCount: 10,
      clients: [OPERATOR, PARTNER],
      env: {
        WMS_SOURCE_SECRETS: 'acme-wms=test-secret', ERP_IMPORT_TOKEN,
        // Only requests may send SQL while statements are counted: no idle polling by the sweepers.
        RESERVATION_SWEEP_INTERVAL_MS: '3600000', ORDER_RECOVERY_INTERVAL_MS: '3600000', PROMISE_FIGURES_INTERVAL_MS: '3600000',
      },
      // Not counted: the outbox relays' look at their outboxes, which runs every few hundred milliseconds.
      onQuery: (sql) => void (!isBackgroundStatement(sql) && statements.push(sql)),
    });
  });

  after(() => running?.stop());

  it('reads the positions of many stock levels, and the sources of a whole availability answer, with no SQL statement more', async () => {
    const levels = (positions: string) => `query ($first: Int!) { items(first: $first) { nodes { sku stockLevels { locationId available ${positions} } } } }`;
    const availability = (sources: string) =>
      `query ($skus: [ID!]!) { availability(skus: $skus) { items { sku available ${sources} locations { locationId available ${sources} } } } }`;
    const counted = async (query: string, variables: Record<string, unknown>) => {
      statements.length = 0;
      const { data, errors } = await asOperator(query, variables);
      assert.equal(errors, undefined, JSON.stringify(errors));
      return { data, statements: statements.length };
    };
    const skus = Array.from({ length: 10 }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);
    await counted(levels(''), { first: 1 }); // after the services' start-up work

    const fewWithPositions = await counted(levels(`positions { ${POSITION_FIELDS} }`), { first: 2 });
    const manyWithPositions = await counted(levels(`positions { ${POSITION_FIELDS} }`), { first: 10 });
    const manyWithout = await counted(levels(''), { first: 10 });
    const withoutSources = await counted(availability(''), { skus });
    const withSources = await counted(availability(`stale sources { ${SOURCE_FIELDS} }`), { skus });

    assert.equal(manyWithPositions.statements, fewWithPositions.statements, 'no statement per level');
    assert.equal(manyWithPositions.statements, manyWithout.statements, 'the positions come with their levels');
    const shownLevels = manyWithPositions.data.items.nodes.flatMap((item: { stockLevels: { positions: Position[] }[] }) => item.stockLevels);
    assert.equal(shownLevels.length, 10 * 12);
    assert.ok(shownLevels.every((level: { positions: Position[] }) => level.positions.length > 0), 'every demo level has a STOCK position at least');
    assert.equal(withSources.statements, withoutSources.statements, 'the sources come with the promise figures');
    const lines = withSources.data.availability.items.flatMap((item: { locations: { sources: Freshness[] }[] }) => item.locations);
    assert.equal(lines.length, 10 * 12);
    assert.ok(lines.every((line: { sources: Freshness[] }) => line.sources.some((source) => source.source === 'demo-wms')), 'the demo WMS reported every level');
  });

  it('shows each position of a level with its subinventory, its lot and expiry, and every bucket as the database holds it', async () => {
    // Given SKU-00010, lot-controlled, with a live lot (-A) and an expired one (-B) in STOCK at DC-01
    const { data, errors } = await asOperator(`{ stockLevel(sku: "SKU-00010", locationId: "DC-01") { onHandWms expired positions { ${POSITION_FIELDS} } } }`);
    assert.equal(errors, undefined, JSON.stringify(errors));
    const stored = await db().query<Omit<Position, 'subinventory' | 'bucketChanges'> & { code: string; nettable: boolean; stamps: Record<string, Stamp> }>(`
      SELECT p.subinventory AS code, s.nettable, nullif(p.lot, '') AS lot, to_json(lot.expires_at) #>> '{}' AS "expiresAt",
             coalesce(lot.expires_at <= now(), false) AS expired, p.on_hand_wms AS "onHandWms", p.on_hand_erp AS "onHandErp", p.allocated,
             p.reserved, p.inbound_in_transit AS "inboundInTransit", to_json(p.inbound_expected_at) #>> '{}' AS "inboundExpectedAt",
             p.quality_hold AS "qualityHold", p.bucket_changes AS stamps
        FROM stock_position p JOIN subinventory s ON s.location_id = p.location_id AND s.code = p.subinventory
        LEFT JOIN lot ON lot.sku = p.sku AND lot.lot = p.lot
       WHERE p.sku = 'SKU-00010' AND p.location_id = 'DC-01' ORDER BY p.subinventory, p.lot`);
    const level = data.stockLevel;
    const iso = (instant: string | null) => (instant === null ? null : new Date(instant).toISOString());

    // Then it shows one entry per lot, each with its expiry and every bucket as stored
    assert.deepEqual(level.positions.map((position: Position) => [position.subinventory, position.lot, position.expired]), [
      [{ code: 'STOCK', nettable: true }, 'SKU-00010-A', false],
      [{ code: 'STOCK', nettable: true }, 'SKU-00010-B', true],
    ]);
    assert.deepEqual(level.positions, stored.map(({ code, nettable, stamps, expiresAt, inboundExpectedAt, ...buckets }) => ({
      subinventory: { code, nettable }, ...buckets, expiresAt: iso(expiresAt), inboundExpectedAt: iso(inboundExpectedAt),
      bucketChanges: Object.entries(stamps).map(([bucket, stamp]) => ({ bucket, ...stamp })).sort((a, b) => (a.bucket < b.bucket ? -1 : 1)),
    })));
    // and the level's figures are theirs summed, the expired lot's units apart
    assert.equal(level.onHandWms, level.positions.reduce((sum: number, position: Position) => sum + position.onHandWms, 0));
    assert.equal(level.expired, level.positions.find((position: Position) => position.expired).onHandWms);
    // and the demo data's buckets name the demo WMS, and the ERP its on hand
    assert.deepEqual(level.positions.map((position: Position) => [stampsOf(position).onHandWms?.source, stampsOf(position).onHandErp?.source]), [['demo-wms', 'erp'], ['demo-wms', 'erp']]);
  });

  it('stamps each bucket of a position with the source and time of the change that last moved it, and tells stockChanged subscribers the source and event id of each', async () => {
    // Given a subscriber to SKU-00006's changes at DC-01 from the start of the stream, and its positions as they are
    type Change = { occurredAt: string; cause: { type: string; id: string; source: string | null; eventId: string | null } };
    const subscriber = subscribe<Change>(running.system.gateway.url, running.clients.headers(),
      'subscription { stockChanged(skus: ["SKU-00006"], locationIds: ["DC-01"], after: "0-0") { occurredAt cause { type id source eventId } } }', {}, 'stockChanged');
    cleanup(() => subscriber.close());
    const before = await positionsOf('SKU-00006', 'DC-01');

    // When Stockgraph moves 2 units from STOCK to QA, the WMS receives 5 into STOCK, the ERP reports STOCK, and a reservation and an order take one each
    const transfer = await asOperator('mutation ($input: CreateTransferInput!) { createTransfer(input: $input) { id status } }', {
      input: { sku: 'SKU-00006', quantity: 2, from: { locationId: 'DC-01', subinventory: 'STOCK' }, to: { locationId: 'DC-01', subinventory: 'QA' }, idempotencyKey: randomUUID() },
    });
    assert.equal(transfer.data?.createTransfer.status, 'COMPLETED', JSON.stringify(transfer.errors));
    const [receiptId] = await fromWarehouse(acmeEvent({ item_code: 'ACME-00006', qty: 5 }));
    const erp = await fetch(`${running.system.subgraphs.inventory.url}/erp/balances`, {
      method: 'POST', headers: { authorization: `Bearer ${ERP_IMPORT_TOKEN}`, 'content-type': 'text/csv' }, body: 'sku,location,subinventory,lot,on_hand\nSKU-00006,DC-01,STOCK,,7777\n',
    });
    assert.equal(erp.status, 200, await erp.text());
    const reservationId = await reserve('SKU-00006', 1);
    const order = await ordersApi(running.system.gateway.url, running.clients.headers()).place({ reference: `ORD-${randomUUID()}`, lines: [{ sku: 'SKU-00006', quantity: 1, locationId: 'DC-01' }] });
    assert.equal(order.errors, undefined, JSON.stringify(order.errors));

    // Then the subscriber hears of each change with the source that reported it, and the WMS event's own id
    await subscriber.until((heard) => heard.length >= 5, 15_000);
    const { received } = subscriber;
    const erpImportId = received[2]?.cause.id ?? '';
    assert.match(erpImportId, /^erp-import:/);
    assert.deepEqual(received.map((change) => change.cause), [
      { type: 'TRANSFER', id: transfer.data.createTransfer.id, source: 'stockgraph', eventId: null },
      { type: 'WAREHOUSE_EVENT', id: `acme-wms:${receiptId}`, source: 'acme-wms', eventId: receiptId },
      { type: 'ERP_BALANCE', id: erpImportId, source: 'erp', eventId: null },
      { type: 'RESERVATION', id: reservationId, source: 'stockgraph', eventId: null },
      { type: 'ORDER', id: order.data!.placeOrder.id, source: 'stockgraph', eventId: null },
    ]);
    // and each bucket of each position names the change that last moved it, at the instant that change was made
    const madeBy = (type: string) => received.find((change) => change.cause.type === type)!.occurredAt;
    const after = await positionsOf('SKU-00006', 'DC-01');
    const position = (positions: Position[], code: string) => positions.find((candidate) => candidate.subinventory.code === code);
    const [stockBefore, stockAfter, qaAfter] = [position(before, 'STOCK')!, position(after, 'STOCK')!, position(after, 'QA')!];
    assert.deepEqual(stampsOf(stockAfter), {
      ...stampsOf(stockBefore),
      onHandWms: { source: 'acme-wms', at: madeBy('WAREHOUSE_EVENT') },
      onHandErp: { source: 'erp', at: madeBy('ERP_BALANCE') },
      reserved: { source: 'stockgraph', at: madeBy('RESERVATION') },
      allocated: { source: 'stockgraph', at: madeBy('ORDER') },
    });
    assert.deepEqual(stampsOf(qaAfter).onHandWms, { source: 'stockgraph', at: madeBy('TRANSFER') });
    // and the buckets hold what those changes left
    assert.deepEqual([stockAfter.onHandWms, stockAfter.onHandErp, stockAfter.reserved, stockAfter.allocated], [
      stockBefore.onHandWms - 2 + 5, 7777, stockBefore.reserved + 1, stockBefore.allocated + 1,
    ]);
    assert.equal(qaAfter.onHandWms, (position(before, 'QA')?.onHandWms ?? 0) + 2);
    assert.deepEqual(qaAfter.subinventory, { code: 'QA', nettable: false });
  });

  it('shows a partner the positions at its granted locations only', async () => {
    const query = `{
      item(sku: "SKU-00002") { stockLevels { locationId positions { subinventory { code } onHandWms bucketChanges { bucket source } } } }
      elsewhere: stockLevel(sku: "SKU-00002", locationId: "DC-02") { positions { onHandWms } }
    }`;

    const partner = await asPartner(query);
    const operator = await asOperator(query);

    assert.equal(partner.errors, undefined, JSON.stringify(partner.errors));
    assert.deepEqual(partner.data.item.stockLevels.map((level: { locationId: string }) => level.locationId), ['DC-01']);
    assert.equal(partner.data.elsewhere, null);
    assert.equal(operator.data.item.stockLevels.length, 12);
    assert.ok(operator.data.elsewhere.positions.length > 0, 'there are positions at DC-02 to keep from the partner');
    assert.deepEqual(partner.data.item.stockLevels[0], operator.data.item.stockLevels[0], 'its own location in full');
  });

  it('says which sources availability rests on, and flags it stale once any of them has been quiet too long', async () => {
    // Given acme-wms receives SKU-00007 at DC-01 and a reservation holds one there; DC-02 has only the demo data's WMS
    await fromWarehouse(acmeEvent({ item_code: 'ACME-00007', qty: 3 }));
    await reserve('SKU-00007', 1);
    const ask = async () => {
      const { data, errors } = await asOperator(`{
        availability(skus: ["SKU-00007"], locationIds: ["DC-01", "DC-02"]) {
          items { stale sources { ${SOURCE_FIELDS} } locations { locationId stale sources { ${SOURCE_FIELDS} } } }
        }
        dc01: stockLevel(sku: "SKU-00007", locationId: "DC-01") { bucketChanges { bucket source at } }
        dc02: stockLevel(sku: "SKU-00007", locationId: "DC-02") { stale sources { ${SOURCE_FIELDS} } }
      }`);
      assert.equal(errors, undefined, JSON.stringify(errors));
      return data;
    };
    const demoReports = async () => Object.fromEntries((await db().query<{ locationId: string; at: string }>(
      `SELECT location_id AS "locationId", source_reports->>'demo-wms' AS at FROM stock_level WHERE sku = 'SKU-00007' AND location_id IN ('DC-01', 'DC-02')`,
    )).map(({ locationId, at }) => [locationId, new Date(Number(at)).toISOString()]));

    const fresh = await ask();
    const seeded = await demoReports();

    // Then DC-01 rests on acme-wms (its receipt), the demo WMS (the rest of its stock) and Stockgraph (the reservation); DC-02 on the demo WMS alone
    const stampOf = (bucket: string) => fresh.dc01.bucketChanges.find((change: { bucket: string }) => change.bucket === bucket).at;
    const dc01 = { locationId: 'DC-01', stale: false, sources: [
      { source: 'acme-wms', lastReportedAt: stampOf('onHandWms'), stale: false },
      { source: 'demo-wms', lastReportedAt: seeded['DC-01'], stale: false },
      { source: 'stockgraph', lastReportedAt: stampOf('reserved'), stale: false },
    ] };
    assert.deepEqual(fresh.availability.items[0], {
      stale: false,
      // the item as of each source's oldest report at its locations
      sources: [dc01.sources[0], { source: 'demo-wms', lastReportedAt: [seeded['DC-01']!, seeded['DC-02']!].sort()[0], stale: false }, dc01.sources[2]],
      locations: [dc01, { locationId: 'DC-02', stale: false, sources: [{ source: 'demo-wms', lastReportedAt: seeded['DC-02'], stale: false }] }],
    });

    // When the demo WMS has been quiet at DC-02 for two hours (STALE_AFTER_SECONDS is an hour)
    const quietSince = new Date(Date.now() - 2 * HOUR_MS);
    await db().query(`UPDATE stock_level SET source_reports = jsonb_set(source_reports, '{demo-wms}', to_jsonb($1::bigint))
                       WHERE sku = 'SKU-00007' AND location_id = 'DC-02'`, [quietSince.getTime()]);
    const quiet = await ask();

    // Then DC-02, and the item with it, are stale; DC-01 is not
    const quietDemo = { source: 'demo-wms', lastReportedAt: quietSince.toISOString(), stale: true };
    assert.deepEqual(quiet.availability.items[0], {
      stale: true,
      sources: [dc01.sources[0], quietDemo, dc01.sources[2]],
      locations: [dc01, { locationId: 'DC-02', stale: true, sources: [quietDemo] }],
    });
    assert.deepEqual(quiet.dc02, { stale: true, sources: [quietDemo] }, 'the stock level says the same');
  });
});
