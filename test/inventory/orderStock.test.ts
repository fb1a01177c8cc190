import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { stockLevelChanged, type PayloadOf } from '../../platform/contracts/events.ts';
import {
  holdResponse, inspectionResponse, ORDER_STOCK_API, orderStockApiError, releaseResponse,
  type HoldRequestItem, type HoldResult, type InspectionRequestItem,
} from '../../platform/contracts/orderStockApi.ts';
import { connectDatabase, type Database } from '../../platform/database/database.ts';
import { closeServer, listen, type RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { orderStockRoutes } from '../../subgraphs/inventory/http/orderStockRoutes.ts';
import { OrderStockService } from '../../subgraphs/inventory/services/orderStockService.ts';
import { resumAllDuePromiseFigures } from '../../subgraphs/inventory/services/promiseFigures.ts';
import { WarehouseEventIngestion } from '../../subgraphs/inventory/services/warehouseEventIngestion.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import { collectingLogger } from '../support/collectingLogger.ts';
import { eventually } from '../support/eventually.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory, startReplicas } from '../support/inventoryService.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenLocations, givenStock, reservationSettings, stockOf } from '../support/stock.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

const TOKEN = 'order-stock-test-token-0001';

interface Answer {
  readonly status: number;
  readonly body: any;
  readonly headers: Headers;
}

describe('the order-stock API', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  // Two replicas of the inventory service on one database, as in production.
  let replicas: RunningService[] = [];
  let nextSku = 0;
  let nextOrder = 0;
  // acme-wms names SKU-n ACME-n: these SKUs can be picked and shipped through its events.
  const newSku = () => `SKU-9${String(++nextSku).padStart(4, '0')}`;
  const newOrderId = () => `ORD-T-${++nextOrder}`;
  /** A new SKU with this stock (see givenStock). */
  const givenSku = async (onHandByLocation: Record<string, number>, options?: Parameters<typeof givenStock>[3]) => {
    const sku = newSku();
    await givenStock(database.db, sku, onHandByLocation, options);
    return sku;
  };

  const call = async (path: string, body: unknown, { token = TOKEN as string | null, replica = 0 } = {}): Promise<Answer> => {
    const response = await fetch(`${replicas[replica]!.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json(), headers: response.headers };
  };
  const hold = async (holds: readonly HoldRequestItem[], replica = 0): Promise<HoldResult[]> => {
    const answer = await call(ORDER_STOCK_API.holds, { holds }, { replica });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return holdResponse.parse(answer.body).results;
  };
  const release = async (...orderIds: string[]) => {
    const answer = await call(ORDER_STOCK_API.releases, { releases: orderIds.map((orderId) => ({ orderId })) });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return releaseResponse.parse(answer.body).results;
  };
  const inspect = async (...inspections: InspectionRequestItem[]) => {
    const answer = await call(ORDER_STOCK_API.inspections, { inspections });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return inspectionResponse.parse(answer.body).results;
  };
  const order = (lines: Partial<HoldRequestItem['lines'][number]>[], fields: Partial<HoldRequestItem> = {}): HoldRequestItem => ({
    orderId: newOrderId(),
    reference: `WEB-${nextOrder}`,
    channel: 'WEB',
    lines: lines.map((line, index) => ({ lineNumber: index + 1, sku: 'NO-SKU', quantity: 1, locationId: null, reservationId: null, ...line })),
    ...fields,
  });
  /** Every bucket of every position of the SKUs, and their levels' figures: what "untouched" means. */
  const everyBucketOf = (...skus: string[]) => database.db.query<Record<string, unknown>>(
    `SELECT p.*, l.sequence::text AS level_sequence, l.available AS level_available
       FROM stock_position p JOIN stock_level l USING (sku, location_id)
      WHERE p.sku = ANY($1) ORDER BY p.sku, p.location_id, p.subinventory, p.lot`, [skus]);
  const allocationsOf = (orderId: string) => database.db.query<{ lineNumber: number; locationId: string; quantity: number; picked: number; shipped: number; released: number }>(
    `SELECT line_number AS "lineNumber", location_id AS "locationId", quantity, picked, shipped, released
       FROM order_allocation WHERE order_id = $1 ORDER BY line_number, location_id`, [orderId]);
  const orderChanges = async (sku: string) => (await recordedStockChanges(database.db, sku)).filter((change) => change.cause.type === 'ORDER');
  const position = async (sku: string, locationId: string, subinventory = 'STOCK', lot = '') => {
    const [row] = await database.db.query<{ onHand: number; allocated: number }>(
      `SELECT on_hand_wms AS "onHand", allocated FROM stock_position WHERE sku = $1 AND location_id = $2 AND subinventory = $3 AND lot = $4`,
      [sku, locationId, subinventory, lot]);
    return row ?? { onHand: 0, allocated: 0 };
  };
  const givenInQa = (sku: string, locationId: string, onHandByLot: Record<string, number>) => database.db.query(
    `INSERT INTO stock_position (sku, location_id, subinventory, lot, on_hand_wms, wms_updated_at)
     SELECT $1, $2, 'QA', lot, on_hand, now() FROM unnest($3::text[], $4::int[]) AS q(lot, on_hand)`,
    [sku, locationId, Object.keys(onHandByLot), Object.values(onHandByLot)]);

  before(async () => {
    database = await createTestDatabase();
    await givenLocations(database.db, ['DC-01', 'DC-02', 'DC-03']);
    await givenLocations(database.db, ['DC-09'], { STOCK: true });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 20 }, eventBus: { kind: 'in-process' } });
    replicas = await startReplicas(infrastructure, {
      INTERNAL_API_TOKEN: TOKEN,
      WMS_SOURCE_SECRETS: 'acme-wms=test-secret',
      CHANNEL_LOCATIONS: 'STORE=DC-03|DC-01',
      RESERVATION_ALLOCATION: 'most-available,STORE=priority',
      // The relays poll once an hour: only a commit's wake-up publishes at once.
      OUTBOX_POLL_INTERVAL_MS: '3600000',
      // So does the reservation sweeper: a reservation a test expires by hand keeps its stock until the test has looked.
      RESERVATION_SWEEP_INTERVAL_MS: '3600000',
    });
  });

  after(async () => {
    for (const replica of replicas) await replica.stop();
    await infrastructure?.close();
    await database?.drop();
  });

  describe('holds', () => {
    it('holds an order all or nothing: a third line short of stock leaves every bucket of the first two as it was', async () => {
      const a = await givenSku({ 'DC-01': 10 });
      const b = await givenSku({ 'DC-01': 5, 'DC-02': 5 });
      const c = await givenSku({ 'DC-01': 2 });
      // Levels laid out by plain SQL get their figures from a sweeper: settle them first, so that
      // only the hold could change them. A replica's sweeper may hold some of them meanwhile (this
      // one passes over those): they are settled once none is due.
      await resumAllDuePromiseFigures(database.db.prisma);
      await eventually(
        async () => (await database.db.query<{ due: number }>('SELECT count(*)::int AS due FROM stock_level WHERE figures_valid_until IS NULL OR figures_valid_until <= now()'))[0]!.due,
        (due) => due === 0,
        { what: 'every level with its figures' },
      );
      const before = await everyBucketOf(a, b, c);

      const [refused] = await hold([order([{ sku: a, quantity: 4, locationId: 'DC-01' }, { sku: b, quantity: 7 }, { sku: c, quantity: 3, locationId: 'DC-01' }])]);

      assert.equal(refused!.status, 'REFUSED');
      assert.deepEqual(refused!.status === 'REFUSED' && [refused!.code, refused!.lineNumber, refused!.details.available], ['INSUFFICIENT_STOCK', 3, 2]);
      assert.deepEqual(await everyBucketOf(a, b, c), before, 'no bucket, sequence or figure changed');
      assert.deepEqual(await allocationsOf(refused!.orderId), []);
      assert.deepEqual([...await orderChanges(a), ...await orderChanges(b)], [], 'no stock change was recorded');

      const held = order([{ sku: a, quantity: 4, locationId: 'DC-01' }, { sku: b, quantity: 7 }, { sku: c, quantity: 2, locationId: 'DC-01' }]);
      const [answer] = await hold([held]);
      assert.deepEqual(answer, {
        orderId: held.orderId,
        status: 'HELD',
        allocations: [
          { lineNumber: 1, locationId: 'DC-01', quantity: 4, reservationId: null },
          { lineNumber: 2, locationId: 'DC-01', quantity: 5, reservationId: null },
          { lineNumber: 2, locationId: 'DC-02', quantity: 2, reservationId: null },
          { lineNumber: 3, locationId: 'DC-01', quantity: 2, reservationId: null },
        ],
      }, 'line 2 spread by the most-available strategy, ties by location id');
      assert.deepEqual(await stockOf(database.db, a, 'DC-01'), { available: 6, reserved: 0, allocated: 4 });
      assert.deepEqual(await stockOf(database.db, b, 'DC-02'), { available: 3, reserved: 0, allocated: 2 });
      assert.deepEqual(await stockOf(database.db, c, 'DC-01'), { available: 0, reserved: 0, allocated: 2 });
      assert.deepEqual((await orderChanges(b)).map((change) => [change.cause.id, change.locationId, change.before.available, change.after.available]), [
        [held.orderId, 'DC-01', 5, 0],
        [held.orderId, 'DC-02', 5, 3],
      ], 'each stock change is caused by the order');
    });

    it('publishes an order\'s stock changes at once, caused by the order', { timeout: 10_000 }, async () => {
      const sku = await givenSku({ 'DC-01': 5 });
      const held = order([{ sku, quantity: 2, locationId: 'DC-01' }]);
      let published!: (change: PayloadOf<typeof stockLevelChanged>) => void;
      const arrived = new Promise<PayloadOf<typeof stockLevelChanged>>((resolve) => (published = resolve));
      // The change arrives only if the hold wakes the relay.
      const subscription = await infrastructure.bus.subscribe(stockLevelChanged.stream, (events) => {
        for (const { payload } of events.filter((event) => event.type === stockLevelChanged.type)) if ((payload as PayloadOf<typeof stockLevelChanged>).cause.id === held.orderId) published(payload as PayloadOf<typeof stockLevelChanged>);
      });

      await hold([held]);
      const change = await arrived;
      await subscription.close();

      assert.deepEqual([change.cause, change.sku, change.before.available, change.after.available], [{ type: 'ORDER', id: held.orderId, source: 'stockgraph', eventId: null }, sku, 5, 3]);
    });

    it('takes what an order\'s earlier lines hold out of what its later lines may have', async () => {
      const sku = await givenSku({ 'DC-01': 5 });

      const [refused] = await hold([order([{ sku, quantity: 3, locationId: 'DC-01' }, { sku, quantity: 3, locationId: 'DC-01' }])]);
      const [held] = await hold([order([{ sku, quantity: 3, locationId: 'DC-01' }, { sku, quantity: 2, locationId: 'DC-01' }])]);

      assert.deepEqual(refused!.status === 'REFUSED' && [refused!.code, refused!.lineNumber, refused!.details.available], ['INSUFFICIENT_STOCK', 2, 2]);
      assert.equal(held!.status, 'HELD');
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 0, reserved: 0, allocated: 5 });
    });

    it('spreads a line without a location over the channel\'s locations in its priority order', async () => {
      const sku = await givenSku({ 'DC-01': 3, 'DC-02': 9, 'DC-03': 2 });

      const [answer] = await hold([order([{ sku, quantity: 4 }], { channel: 'STORE' })]);

      assert.deepEqual(answer!.status === 'HELD' && answer!.allocations.map((a) => [a.locationId, a.quantity]), [['DC-01', 2], ['DC-03', 2]], 'DC-03 first, then DC-01; never DC-02');
    });

    it('answers a repeated hold as it answered the first, changing nothing, and refuses the order id for other lines', async () => {
      const sku = await givenSku({ 'DC-01': 5 });
      const held = order([{ sku, quantity: 2, locationId: 'DC-01' }]);
      const refused = order([{ sku, quantity: 9, locationId: 'DC-01' }]);
      const first = await hold([held, refused]);
      const before = await everyBucketOf(sku);

      await database.db.query(`UPDATE stock_position SET on_hand_wms = 100 WHERE sku = $1`, [sku]);
      const repeats = await Promise.all([hold([held, refused]), hold([held], 1), hold([{ ...held, lines: [...held.lines].reverse() }])]);
      const conflict = await hold([{ ...held, lines: [{ ...held.lines[0]!, quantity: 3 }] }]);

      assert.deepEqual(first.map((result) => result.status), ['HELD', 'REFUSED']);
      assert.deepEqual(repeats, [first, [first[0]], [first[0]]], 'the first answers, on either replica, though the refused one would fit now');
      assert.deepEqual(conflict[0]!.status === 'REFUSED' && conflict[0]!.code, 'HOLD_CONFLICT');
      assert.deepEqual((await everyBucketOf(sku)).map(({ allocated, reserved }) => [allocated, reserved]), before.map(({ allocated, reserved }) => [allocated, reserved]));
      assert.equal((await orderChanges(sku)).length, 1, 'only the first hold changed stock');
    });

    it('answers every order of a batch of concurrent holds in order, a repeated order id within it as the first', async () => {
      const sku = await givenSku({ 'DC-01': 3 });
      const twice = order([{ sku, quantity: 2, locationId: 'DC-01' }]);

      const answers = await hold([twice, order([{ sku, quantity: 2, locationId: 'DC-01' }]), twice, order([{ sku, quantity: 1, locationId: 'DC-01' }])]);

      assert.deepEqual(answers.map((answer) => answer.status), ['HELD', 'REFUSED', 'HELD', 'HELD']);
      assert.deepEqual(answers[2], answers[0]);
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 0, reserved: 0, allocated: 3 });
    });

    it('refuses unknown SKUs and locations, naming the line', async () => {
      const sku = await givenSku({ 'DC-01': 5 });

      const answers = await hold([
        order([{ sku, quantity: 1 }, { sku: 'NO-SUCH-SKU', quantity: 1 }]),
        order([{ sku, quantity: 1, locationId: 'DC-77' }]),
        order([{ sku, quantity: 1, locationId: 'DC-02' }]),
      ]);

      assert.deepEqual(answers.map((answer) => answer.status === 'REFUSED' && [answer.code, answer.lineNumber]), [
        ['UNKNOWN_SKU', 2], ['UNKNOWN_LOCATION', 1], ['INSUFFICIENT_STOCK', 1],
      ], 'a location that exists but does not stock the SKU has none available');
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 5, reserved: 0, allocated: 0 });
    });

    it('never oversells: 200 concurrent holds over two replicas allocate no more than is available, and exactly the winners hold', async () => {
      const x = await givenSku({ 'DC-01': 40, 'DC-02': 25 }, { safetyStock: 5 });
      const y = await givenSku({ 'DC-01': 30 });
      // Some orders want both SKUs: when y runs out they must take none of x either.
      const orders = Array.from({ length: 200 }, (_, i) => order(i % 3 === 0 ? [{ sku: x, quantity: 1 + (i % 2) }, { sku: y, quantity: 1, locationId: 'DC-01' }] : [{ sku: x, quantity: 1 + (i % 2) }]));

      const answers = (await Promise.all(orders.map((held, i) => hold([held], i % 2)))).flat();

      const winners = answers.filter((answer) => answer.status === 'HELD');
      const losers = answers.filter((answer) => answer.status === 'REFUSED');
      assert.ok(losers.every((answer) => answer.status === 'REFUSED' && answer.code === 'INSUFFICIENT_STOCK'));
      const levels = { x1: await stockOf(database.db, x, 'DC-01'), x2: await stockOf(database.db, x, 'DC-02'), y1: await stockOf(database.db, y, 'DC-01') };
      const [stored] = await database.db.query<{ x: number; y: number; holds: number }>(
        `SELECT coalesce(sum(a.quantity) FILTER (WHERE a.sku = $1), 0)::int AS x, coalesce(sum(a.quantity) FILTER (WHERE a.sku = $2), 0)::int AS y,
                count(DISTINCT a.order_id)::int AS holds
           FROM order_allocation a JOIN order_stock_hold h USING (order_id) WHERE h.status = 'HELD' AND a.sku = ANY(ARRAY[$1, $2])`, [x, y]);
      const wantedOf = (sku: string) => winners.reduce((sum, answer) => sum + orders.find((o) => o.orderId === answer.orderId)!.lines.filter((line) => line.sku === sku).reduce((s, line) => s + line.quantity, 0), 0);
      assert.equal(stored!.holds, winners.length, 'exactly the winners hold');
      assert.equal(levels.x1.allocated + levels.x2.allocated, stored!.x);
      assert.equal(stored!.x, wantedOf(x));
      assert.equal(levels.y1.allocated, stored!.y);
      assert.equal(stored!.y, wantedOf(y));
      assert.ok(stored!.x <= 55 && stored!.x >= 54, `x: ${stored!.x} of 55 held (65 less 5 safety stock at each location): full but for less than the largest line`);
      assert.ok(stored!.y <= 30, `y: ${stored!.y} of 30 held`);
      assert.equal(levels.x1.available + levels.x2.available, 55 - stored!.x);
    });
  });

  describe('holds that consume reservations', () => {
    const CREATE = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }`;
    const reserve = async (input: Record<string, unknown>) => {
      const { data, errors } = await graphql(replicas[0]!.url, CREATE, {
        input: { channel: 'WEB', reference: 'cart-1', ttlSeconds: 600, idempotencyKey: `key-${Math.random()}`, ...input },
      });
      assert.equal(errors, undefined);
      return data.createReservation.id as string;
    };
    const refusalOf = (result: HoldResult | undefined) => (result?.status === 'REFUSED' ? { code: result.code, lineNumber: result.lineNumber, details: result.details } : result);

    it('moves a consumed reservation\'s stock from reserved to the order\'s allocated, and confirms the reservation', async () => {
      const sku = await givenSku({ 'DC-01': 2, 'DC-02': 8 });
      const reservationId = await reserve({ sku, quantity: 6 });
      assert.deepEqual(await stockOf(database.db, sku, 'DC-02'), { available: 2, reserved: 6, allocated: 0 });
      const held = order([{ sku, quantity: 6, reservationId }, { sku, quantity: 2, locationId: 'DC-02' }]);

      const [answer] = await hold([held]);

      assert.deepEqual(answer, {
        orderId: held.orderId,
        status: 'HELD',
        allocations: [{ lineNumber: 1, locationId: 'DC-02', quantity: 6, reservationId }, { lineNumber: 2, locationId: 'DC-02', quantity: 2, reservationId: null }],
      }, 'the reservation\'s stock does not count twice: line 2 takes what the reservation left');
      assert.deepEqual(await stockOf(database.db, sku, 'DC-02'), { available: 0, reserved: 0, allocated: 8 });
      const [reservation] = await database.db.query<{ status: string }>(`SELECT status::text FROM reservation WHERE id = $1`, [reservationId]);
      assert.equal(reservation!.status, 'CONFIRMED');
      const again = await hold([order([{ sku, quantity: 6, reservationId }])]);
      assert.deepEqual(refusalOf(again[0]), { code: 'RESERVATION_NOT_ACTIVE', lineNumber: 1, details: { reservationId, status: 'CONFIRMED' } }, 'another order cannot consume it again');
    });

    it('refuses unknown, expired and foreign reservations, holding nothing', async () => {
      const sku = await givenSku({ 'DC-01': 10, 'DC-02': 10 });
      const [expired, store, elsewhere] = [
        await reserve({ sku, quantity: 1, locationId: 'DC-01' }),
        await reserve({ sku, quantity: 1, locationId: 'DC-01', channel: 'STORE' }),
        await reserve({ sku, quantity: 2, locationId: 'DC-02' }),
      ];
      await database.db.query(`UPDATE reservation SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired]);

      const answers = await hold([
        order([{ sku, quantity: 1 }, { sku, quantity: 1, reservationId: 'RSV-nope' }]),
        order([{ sku, quantity: 1, reservationId: expired }]),
        order([{ sku, quantity: 1, reservationId: store }]),
        order([{ sku, quantity: 3, locationId: 'DC-01', reservationId: elsewhere }]),
      ]);

      assert.deepEqual(answers.map(refusalOf), [
        { code: 'RESERVATION_NOT_FOUND', lineNumber: 2, details: { reservationId: 'RSV-nope' } },
        { code: 'RESERVATION_NOT_ACTIVE', lineNumber: 1, details: { reservationId: expired, status: 'EXPIRED' } },
        { code: 'RESERVATION_MISMATCH', lineNumber: 1, details: { reservationId: store, mismatch: { channel: { line: 'WEB', reservation: 'STORE' } } } },
        {
          code: 'RESERVATION_MISMATCH', lineNumber: 1,
          details: { reservationId: elsewhere, mismatch: { quantity: { line: 3, reservation: 2 }, locationId: { line: 'DC-01', reservation: ['DC-02'] } } },
        },
      ]);
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 8, reserved: 2, allocated: 0 });
      assert.deepEqual(await stockOf(database.db, sku, 'DC-02'), { available: 8, reserved: 2, allocated: 0 });
    });
  });

  describe('releases and the warehouse', () => {
    const warehouse = (events: Record<string, unknown>[]) => postEvents(replicas[0]!.url, 'acme-wms', events.map((event) => acmeEvent(event)));
    const acme = (sku: string) => sku.replace('SKU-', 'ACME-');

    it('gives back what the order holds and the warehouse has not shipped, after a partial pick and ship, once', async () => {
      const sku = await givenSku({ 'DC-01': 10, 'DC-02': 4 });
      const held = order([{ sku, quantity: 5, locationId: 'DC-01' }, { sku, quantity: 3, locationId: 'DC-02' }]);
      await hold([held]);

      const picked = await warehouse([
        { txn_type: 'PCK', item_code: acme(sku), site: 'ATL1', qty: 2, order_no: held.reference },
        { txn_type: 'SHP', item_code: acme(sku), site: 'ATL1', qty: 2, order_no: held.reference },
      ]);
      assert.deepEqual(picked.body.results.map((r: { status: string }) => r.status), ['APPLIED', 'APPLIED']);
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 5, reserved: 0, allocated: 3 }, 'the pick was held already; the ship took 2 out');
      assert.deepEqual(await allocationsOf(held.orderId), [
        { lineNumber: 1, locationId: 'DC-01', quantity: 5, picked: 2, shipped: 2, released: 0 },
        { lineNumber: 2, locationId: 'DC-02', quantity: 3, picked: 0, shipped: 0, released: 0 },
      ]);

      const [released] = await release(held.orderId);
      const repeated = await Promise.all([release(held.orderId), release(held.orderId)]);

      assert.deepEqual(released, { orderId: held.orderId, status: 'RELEASED', released: [{ lineNumber: 1, locationId: 'DC-01', quantity: 3 }, { lineNumber: 2, locationId: 'DC-02', quantity: 3 }] });
      assert.deepEqual(repeated, [[released], [released]], 'a repeat gets the first answer');
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 8, reserved: 0, allocated: 0 });
      assert.deepEqual(await stockOf(database.db, sku, 'DC-02'), { available: 4, reserved: 0, allocated: 0 });
      assert.deepEqual((await orderChanges(sku)).map((change) => [change.locationId, change.after.allocated - change.before.allocated]), [
        ['DC-01', 5], ['DC-02', 3], ['DC-01', -3], ['DC-02', -3],
      ], 'held, then given back once');
      const [again] = await hold([held]);
      assert.deepEqual(again!.status === 'REFUSED' && again!.code, 'ORDER_STOCK_RELEASED');
    });

    it('allocates nothing for a pick the order\'s hold covers, only the excess of one beyond it; a ship consumes it, and a release finds nothing left', async () => {
      const sku = await givenSku({ 'DC-01': 20 });
      const held = order([{ sku, quantity: 3, locationId: 'DC-01' }]);
      await hold([held]);
      const pick = (qty: number, orderNo?: string) => ({ txn_type: 'PCK', item_code: acme(sku), site: 'ATL1', qty, ...(orderNo ? { order_no: orderNo } : {}) });

      await warehouse([pick(2, held.reference)]);
      const covered = await stockOf(database.db, sku, 'DC-01');
      await warehouse([pick(3, held.reference)]);
      const beyond = await stockOf(database.db, sku, 'DC-01');
      await warehouse([pick(1), pick(1, 'WEB-never-held')]);
      const unheld = await stockOf(database.db, sku, 'DC-01');
      await warehouse([{ txn_type: 'SHP', item_code: acme(sku), site: 'ATL1', qty: 5, order_no: held.reference }]);
      const shipped = await stockOf(database.db, sku, 'DC-01');
      const [released] = await release(held.orderId);

      assert.deepEqual(covered, { available: 17, reserved: 0, allocated: 3 }, 'a pick of 2 of the 3 held allocates nothing');
      assert.deepEqual(beyond, { available: 15, reserved: 0, allocated: 5 }, 'a pick of 3 more, 1 covered: 2 more allocated');
      assert.deepEqual(unheld, { available: 13, reserved: 0, allocated: 7 }, 'picks naming no held order allocate as before');
      assert.deepEqual(shipped, { available: 13, reserved: 0, allocated: 2 });
      assert.deepEqual(await position(sku, 'DC-01'), { onHand: 15, allocated: 2 });
      assert.deepEqual(released!.released, [{ lineNumber: 1, locationId: 'DC-01', quantity: 0 }]);
      assert.deepEqual(await allocationsOf(held.orderId), [{ lineNumber: 1, locationId: 'DC-01', quantity: 3, picked: 5, shipped: 5, released: 0 }]);
    });

    it('records a release that arrives before the hold, so that the hold is refused; a released refusal gives nothing back', async () => {
      const sku = await givenSku({ 'DC-01': 5 });
      const early = order([{ sku, quantity: 1, locationId: 'DC-01' }]);
      const refused = order([{ sku, quantity: 9, locationId: 'DC-01' }]);
      await hold([refused]);

      const released = await release(early.orderId, refused.orderId);
      const [late] = await hold([early]);
      const [repeat] = await hold([refused]);

      assert.deepEqual(released, [
        { orderId: early.orderId, status: 'RELEASED', released: [] },
        { orderId: refused.orderId, status: 'RELEASED', released: [] },
      ]);
      assert.deepEqual(late!.status === 'REFUSED' && [late!.code, late!.lineNumber], ['ORDER_STOCK_RELEASED', null]);
      assert.deepEqual(repeat!.status === 'REFUSED' && repeat!.code, 'ORDER_STOCK_RELEASED');
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 5, reserved: 0, allocated: 0 });
    });

    it('lets exactly one of a hold and a release racing for one order id on two replicas come first, and the other follow it', async () => {
      const sku = await givenSku({ 'DC-01': 100 });
      const orders = Array.from({ length: 20 }, () => order([{ sku, quantity: 2, locationId: 'DC-01' }]));

      const answers = await Promise.all(orders.map((held, i) => Promise.all([
        hold([held], i % 2),
        call(ORDER_STOCK_API.releases, { releases: [{ orderId: held.orderId }] }, { replica: (i + 1) % 2 }),
      ])));

      for (const [[held], released] of answers) {
        assert.ok(held!.status === 'HELD' || (held!.status === 'REFUSED' && held!.code === 'ORDER_STOCK_RELEASED'), JSON.stringify(held));
        const givenBack = releaseResponse.parse(released.body).results[0]!.released.map((part) => part.quantity);
        assert.deepEqual(givenBack, held!.status === 'HELD' ? [2] : [], 'a release after the hold gives it back, one before it finds nothing');
      }

      const statuses = await database.db.query<{ status: string }>(`SELECT status::text FROM order_stock_hold WHERE order_id = ANY($1)`, [orders.map((o) => o.orderId)]);
      assert.deepEqual(statuses.map((row) => row.status), orders.map(() => 'RELEASED'));
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 100, reserved: 0, allocated: 0 }, 'every hold that came first was given back');
    });
  });

  describe('return inspections', () => {
    it('moves restocked units from QA to nettable stock and scrapped ones to DAMAGED, lot by lot; a repeat moves nothing', async () => {
      const sku = await givenSku({ 'DC-01': 0 }, { lotControlled: true });
      await database.db.query(`INSERT INTO lot (sku, lot) VALUES ($1, 'L-A'), ($1, 'L-B')`, [sku]);
      await givenInQa(sku, 'DC-01', { 'L-B': 3, 'L-A': 2 });
      const inspection = { inspectionId: `INSP-${sku}`, orderId: 'ORD-RETURNED', lines: [{ sku, locationId: 'DC-01', restocked: 3, scrapped: 1 }] };

      const first = await inspect(inspection);
      const repeats = await Promise.all([inspect(inspection), inspect({ ...inspection, lines: [{ ...inspection.lines[0]!, restocked: 1 }] })]);

      assert.deepEqual(first, [{ inspectionId: inspection.inspectionId, status: 'APPLIED' }]);
      assert.deepEqual(repeats, [first, first]);
      assert.deepEqual(
        await Promise.all([['QA', 'L-A'], ['QA', 'L-B'], ['STOCK', 'L-A'], ['STOCK', 'L-B'], ['DAMAGED', 'L-B']].map(([sub, lot]) => position(sku, 'DC-01', sub, lot).then((p) => p.onHand))),
        [0, 1, 2, 1, 1],
      );
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 3, reserved: 0, allocated: 0 }, 'restocked units are available again, scrapped ones not');
      assert.deepEqual((await orderChanges(sku)).map(({ cause, before, after }) => [cause.id, before.available, after.available, before.damaged, after.damaged, after.onHandNonNettable]),
        [['ORD-RETURNED', 0, 3, 0, 1, 1]], 'the scrapped unit counts as damaged, the one left in QA as non-nettable');
      const transactions = await database.db.query<{ key: string; payload: { kind: string; quantity: number; lines: { subinventory: string; lot: string }[] } }>(
        `SELECT key, payload FROM event_outbox WHERE type = 'inventory.transaction.recorded' AND payload->>'sku' = $1`, [sku]);
      const bySubinventoryAndLot = (a: { subinventory: string; lot: string }, b: { subinventory: string; lot: string }) =>
        ['QA', 'STOCK', 'DAMAGED'].indexOf(a.subinventory) - ['QA', 'STOCK', 'DAMAGED'].indexOf(b.subinventory) || a.lot.localeCompare(b.lot);
      assert.deepEqual(transactions.map(({ key, payload }) => [key, payload.kind, payload.quantity, payload.lines.sort(bySubinventoryAndLot)]), [[
        `ORDER:ORD-RETURNED:INSPECTION:${inspection.inspectionId}/${sku}/DC-01`, 'RETURN_RESTOCKED', 4,
        [
          { subinventory: 'QA', lot: 'L-A', nettable: false, change: -2 },
          { subinventory: 'QA', lot: 'L-B', nettable: false, change: -2 },
          { subinventory: 'STOCK', lot: 'L-A', nettable: true, change: 2 },
          { subinventory: 'STOCK', lot: 'L-B', nettable: true, change: 1 },
          { subinventory: 'DAMAGED', lot: 'L-B', nettable: false, change: 1 },
        ],
      ]], 'the inspection is recorded once for the ERP, with every position it moved');
    });

    it('moves nothing of an inspection one of whose lines QA cannot cover, and gives a repeat the same refusal', async () => {
      const a = await givenSku({ 'DC-01': 1 });
      const b = await givenSku({ 'DC-01': 1 });
      await givenInQa(a, 'DC-01', { '': 4 });
      await givenInQa(b, 'DC-01', { '': 2 });
      const inspection = {
        inspectionId: `INSP-${a}`, orderId: 'ORD-RETURNED',
        lines: [{ sku: a, locationId: 'DC-01', restocked: 4, scrapped: 0 }, { sku: b, locationId: 'DC-01', restocked: 1, scrapped: 0 }, { sku: b, locationId: 'DC-01', restocked: 0, scrapped: 2 }],
      };

      const [refused] = await inspect(inspection);
      await database.db.query(`UPDATE stock_position SET on_hand_wms = 5 WHERE sku = $1 AND subinventory = 'QA'`, [b]);
      const [repeat] = await inspect(inspection);

      assert.deepEqual(refused, {
        inspectionId: inspection.inspectionId, status: 'REFUSED', code: 'NOT_IN_QA',
        message: `QA at DC-01 holds 2 of ${b}; the inspection moves 3`, details: { sku: b, locationId: 'DC-01', requested: 3, available: 2 },
      }, 'the lines of one SKU and location count together');
      assert.deepEqual(repeat, refused, 'though QA would cover it now');
      assert.deepEqual([await position(a, 'DC-01', 'QA'), await position(a, 'DC-01')], [{ onHand: 4, allocated: 0 }, { onHand: 1, allocated: 0 }], 'the line QA covered moved nothing');
    });

    it('refuses unknown SKUs, locations and missing subinventories', async () => {
      const sku = await givenSku({ 'DC-01': 1 });
      const inspection = (inspectionId: string, line: Record<string, unknown>) =>
        ({ inspectionId, orderId: 'ORD-RETURNED', lines: [{ sku, locationId: 'DC-01', restocked: 1, scrapped: 0, ...line }] });

      const answers = await inspect(
        inspection(`${sku}-1`, { sku: 'NO-SUCH-SKU' }),
        inspection(`${sku}-2`, { locationId: 'DC-77' }),
        inspection(`${sku}-3`, { locationId: 'DC-09' }),
        inspection(`${sku}-4`, { locationId: 'DC-02' }),
      );

      assert.deepEqual(answers.map((answer) => answer.status === 'REFUSED' && [answer.code, answer.details]), [
        ['UNKNOWN_SKU', { sku: 'NO-SUCH-SKU' }],
        ['UNKNOWN_LOCATION', { locationId: 'DC-77' }],
        ['UNKNOWN_SUBINVENTORY', { locationId: 'DC-09', missing: 'QA' }],
        ['NOT_IN_QA', { sku, locationId: 'DC-02', requested: 1, available: 0 }],
      ]);
      const [level] = await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM stock_level WHERE sku = $1`, [sku]);
      assert.equal(level!.n, 1, 'no stock level was made for a location that does not stock the SKU');
    });
  });

  describe('the wire', () => {
    it('refuses a call without the token or with a wrong one, and every call when no token is configured', async () => {
      const body = { releases: [{ orderId: 'ORD-AUTH' }] };
      const missing = await call(ORDER_STOCK_API.releases, body, { token: null });
      const wrong = await call(ORDER_STOCK_API.releases, body, { token: `${TOKEN}x` });
      const unconfigured = await startInventory(infrastructure, { OUTBOX_POLL_INTERVAL_MS: '3600000' });
      const off = await fetch(`${unconfigured.url}${ORDER_STOCK_API.holds}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: '{}' });
      const offBody = await off.json();
      await unconfigured.stop();

      assert.deepEqual([missing.status, orderStockApiError.parse(missing.body).error.code], [401, 'UNAUTHENTICATED']);
      assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="stockgraph"');
      assert.deepEqual([wrong.status, orderStockApiError.parse(wrong.body).error.code], [401, 'UNAUTHENTICATED']);
      assert.deepEqual([off.status, orderStockApiError.parse(offBody).error.code], [401, 'INTERNAL_API_NOT_CONFIGURED']);
      assert.deepEqual(await database.db.query(`SELECT 1 FROM order_stock_hold WHERE order_id = 'ORD-AUTH'`), [], 'nothing was released');
    });

    it('refuses a body that breaks the contract, naming every problem, and changes nothing', async () => {
      const sku = await givenSku({ 'DC-01': 5 });
      const good = order([{ sku, quantity: 1, locationId: 'DC-01' }]);
      const bad = { holds: [good, { ...order([{ sku, quantity: 0 }]), channel: '' }, order([{ sku }, { sku }], { lines: [] })] };
      const twice = { holds: [good, order([{ sku, lineNumber: 1 }, { sku, lineNumber: 1 }])] };

      const answers = [await call(ORDER_STOCK_API.holds, bad), await call(ORDER_STOCK_API.holds, twice), await call(ORDER_STOCK_API.holds, 'not json'), await call(ORDER_STOCK_API.inspections, { inspections: [] })];

      assert.deepEqual(answers.map((answer) => [answer.status, orderStockApiError.parse(answer.body).error.code]), [[400, 'BAD_REQUEST'], [400, 'BAD_REQUEST'], [400, 'BAD_REQUEST'], [400, 'BAD_REQUEST']]);
      const message = answers[0]!.body.error.message as string;
      for (const path of ['holds.1.channel', 'holds.1.lines.0.quantity', 'holds.2.lines']) assert.match(message, new RegExp(`${path.replaceAll('.', '\\.')}: `));
      assert.match(answers[1]!.body.error.message, /holds\.1\.lines\.1\.lineNumber: line number 1 is given twice/);
      assert.deepEqual(await database.db.query(`SELECT 1 FROM order_stock_hold WHERE order_id = $1`, [good.orderId]), [], 'the good hold in a bad call was not held');
    });

    it('answers 500 without details and logs the error when the service fails unexpectedly', async () => {
      const { calls, logger } = collectingLogger();
      const failure = new Error('connection reset by the database');
      const routes = orderStockRoutes({ service: { hold: async () => { throw failure; }, release: async () => [], inspect: async () => [] }, token: TOKEN, logger });
      const server = createServer((request, response) => {
        const route = routes.find((candidate) => candidate.path.test(request.url ?? ''))!;
        void route.handle(request, response, (request.url ?? '').match(route.path)!);
      });
      const baseUrl = await listen(server, 0, '127.0.0.1');

      const response = await fetch(`${baseUrl}${ORDER_STOCK_API.holds}`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ holds: [order([{ sku: 'SKU-1' }])] }),
      });
      const body = orderStockApiError.parse(await response.json());
      await closeServer(server);

      assert.deepEqual([response.status, body.error.code], [500, 'INTERNAL_SERVER_ERROR']);
      assert.doesNotMatch(body.error.message, /connection reset/);
      assert.equal((calls.error[0]![0] as { err: unknown }).err, failure);
    });

    it('refuses a body over 8 MiB with 413', async () => {
      const answer = await call(ORDER_STOCK_API.holds, JSON.stringify({ holds: [], padding: 'x'.repeat(8 * 1024 * 1024) }));

      assert.deepEqual([answer.status, answer.body.error.code], [413, 'PAYLOAD_TOO_LARGE']);
    });
  });

  describe('SQL statements', () => {
    // A connection that records every statement Prisma sends.
    let counted: Database;
    const statements: string[] = [];

    before(async () => {
      counted = await connectDatabase({ kind: 'postgres', url: database.url, poolSize: 4 }, { onQuery: (sql) => statements.push(sql) });
    });

    after(async () => {
      await counted?.close();
    });

    it('holds a batch of 20 orders, their reservations consumed, with as many SQL statements as one', async () => {
      const a = await givenSku({ 'DC-01': 100, 'DC-02': 100 });
      const b = await givenSku({ 'DC-01': 100 });
      const reservations = (await Promise.all(Array.from({ length: 21 }, (_, i) =>
        graphql(replicas[0]!.url, `mutation { createReservation(input: { sku: "${b}", quantity: 1, locationId: "DC-01", channel: "WEB", reference: "r", ttlSeconds: 600, idempotencyKey: "count-${b}-${i}" }) { id } }`),
      ))).map((answer) => answer.data.createReservation.id as string);
      const service = new OrderStockService(counted.prisma, reservationSettings(), () => {});
      const holdOne = (i: number) => service.hold([order([{ sku: a, quantity: 1 + (i % 2) }, { sku: b, quantity: 1, reservationId: reservations[i]! }])]);

      statements.length = 0;
      await holdOne(0);
      const alone = statements.length;
      statements.length = 0;
      // The first runs at once, alone; the other 19 arrive while it runs and form the next batch.
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => holdOne(i + 1)));

      assert.ok(answers.flat().every((answer) => answer.status === 'HELD'));
      assert.equal(statements.length, 2 * alone, `statements for 20 calls in two batches: ${statements.join('\n---\n')}`);
      assert.ok(alone <= 7, `holds, catalogue, reservations, levels' lock, positions, write, COMMIT; got ${alone}: ${statements.join('\n---\n')}`);
    });

    it('ingests picks and ships of held orders with as many SQL statements for 30 events as for 3', async () => {
      const sku = await givenSku({ 'DC-01': 500 });
      const held = await hold(Array.from({ length: 30 }, () => order([{ sku, quantity: 4, locationId: 'DC-01' }])));
      const references = held.map((answer) => `WEB-${answer.orderId.slice('ORD-T-'.length)}`);
      const ingestion = new WarehouseEventIngestion(counted.prisma, loadExampleMappings());
      const events = (count: number) => references.slice(0, count).flatMap((reference) => [
        acmeEvent({ txn_type: 'PCK', item_code: sku.replace('SKU-', 'ACME-'), qty: 1, order_no: reference }),
        acmeEvent({ txn_type: 'SHP', item_code: sku.replace('SKU-', 'ACME-'), qty: 1, order_no: reference }),
      ]);

      statements.length = 0;
      await ingestion.ingest('acme-wms', events(3).slice(0, 3));
      const few = statements.length;
      statements.length = 0;
      const outcomes = await ingestion.ingest('acme-wms', events(30).slice(6));

      assert.ok(outcomes.every((outcome) => outcome.status === 'APPLIED'));
      assert.equal(statements.length, few, statements.join('\n---\n'));
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 500 - 30 * 4, reserved: 0, allocated: 30 * 4 - 1 - 27 });
    });
  });
});
