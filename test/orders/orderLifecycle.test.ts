import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { holdCleared, holdPlaced, STREAMS } from '../../platform/contracts/events.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { codeOf, ordersApi, type OrderView } from '../support/orders.ts';
import { createTestDatabase, REDIS_URL, redisNamespace, type TestDatabase } from '../support/services.ts';
import { givenStock } from '../support/stock.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';
import { testClients } from '../support/gatewayClients.ts';

// SKU-9xxxx: stocked by each test for itself; acme-wms names them ACME-9xxxx, and DC-01 ATL1.
let nextSku = 90_000;
const newSku = () => `SKU-${(nextSku += 1)}`;
const acmeCode = (sku: string) => sku.replace('SKU-', 'ACME-');
let nextReference = 0;
const newReference = () => `WEB-${process.pid}-${(nextReference += 1)}`;

describe('the order lifecycle through the gateway, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  const redis = redisNamespace('orders');
  const clients = testClients();
  let system: RunningSystem;
  let api: ReturnType<typeof ordersApi>;

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 5 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    system = await startSystem({
      infrastructure,
      host: '127.0.0.1',
      ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 },
      logger: createLogger('silent'),
      env: { ...clients.env, WMS_SOURCE_SECRETS: 'acme-wms=test-secret', ORDER_RECOVERY_INTERVAL_MS: '100' },
    });
    api = ordersApi(system.gateway.url, clients.headers());
  });

  after(async () => {
    await system?.stop();
    await infrastructure?.close();
    await redis.clear();
    clients.remove();
    await database?.drop();
  });

  /** Signed acme-wms events to the inventory service; returns once they are applied (their confirmations follow). */
  const warehouse = async (events: Record<string, unknown>[]) => {
    const { status, body } = await postEvents(system.subgraphs.inventory.url, 'acme-wms', events);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.deadLettered, 0, JSON.stringify(body.results));
  };
  const forOrder = (order: OrderView, type: string, sku: string, qty: number, fields: Record<string, unknown> = {}) =>
    acmeEvent({ txn_type: type, item_code: acmeCode(sku), site: 'ATL1', order_no: order.reference, qty, ...fields });
  /** The order once the warehouse's confirmations have moved it to `status`. */
  const orderInStatus = (id: string, status: string) => eventually(() => api.order(id), (order) => order?.status === status, { what: `order ${id} ${status}` });

  /** Every status change of one order that the gateway's subscription delivers. */
  function statusChanges(orderId: string) {
    const client = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: clients.headers() });
    cleanup(() => client.dispose());
    const received: { status: string; version: number; cause: string; order: { status: string } | null }[] = [];
    const waiters: (() => void)[] = [];
    client.subscribe<{ orderStatusChanged: (typeof received)[number] }>(
      { query: 'subscription ($ids: [ID!], $after: String) { orderStatusChanged(orderIds: $ids, after: $after) { status version cause order { status } } }', variables: { ids: [orderId], after: '0-0' } },
      { next: ({ data }) => (data && received.push(data.orderStatusChanged), waiters.splice(0).forEach((wake) => wake())), error: () => {}, complete: () => {} },
    );
    return {
      received,
      until: async (count: number) => {
        while (received.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      },
    };
  }

  it('places a three-line order RESERVED, its stock allocated, and takes it to DELIVERED on the warehouse\'s confirmations', async () => {
    const [a, b, c] = [newSku(), newSku(), newSku()];
    for (const sku of [a, b, c]) await givenStock(database.db, sku, { 'DC-01': 10 });
    const reference = newReference();

    const placed = await api.place({ reference, lines: [{ sku: a, quantity: 2, locationId: 'DC-01' }, { sku: b, quantity: 3 }, { sku: c, quantity: 1, locationId: 'DC-01' }] });
    assert.equal(placed.errors, undefined, JSON.stringify(placed.errors));
    const order = placed.data!.placeOrder;
    assert.equal(order.status, 'RESERVED');
    assert.deepEqual(order.lines.map((line) => [line.lineNumber, line.item.sku, line.location.id, line.quantity]), [[1, a, 'DC-01', 2], [2, b, 'DC-01', 3], [3, c, 'DC-01', 1]]);
    assert.deepEqual(order.timeline.map((t) => [t.version, t.status, t.cause, t.causeId]), [[1, 'CREATED', 'MUTATION', 'placeOrder'], [2, 'RESERVED', 'MUTATION', 'placeOrder']]);
    assert.deepEqual(await api.stock(a, 'DC-01'), { onHandWms: 10, onHandNonNettable: 0, damaged: 0, allocated: 2, reserved: 0, available: 8 });
    const changes = statusChanges(order.id);

    const released = await api.release(order.id);
    assert.equal(released.data?.releaseOrder.status, 'RELEASED');
    await warehouse([forOrder(order, 'PCK', a, 2), forOrder(order, 'PCK', b, 3)]);
    await orderInStatus(order.id, 'PICKING');
    assert.equal((await api.stock(a, 'DC-01')).allocated, 2, 'a pick of what the order holds allocates nothing more');
    await warehouse([forOrder(order, 'PCK', c, 1), ...[a, b, c].map((sku, i) => forOrder(order, 'PAK', sku, [2, 3, 1][i]!))]);
    await orderInStatus(order.id, 'PACKED');
    await warehouse([forOrder(order, 'SHP', a, 2), forOrder(order, 'SHP', b, 1)]);
    const partly = await eventually(() => api.order(order.id), (current) => current?.lines[1]?.shipped === 1, { what: 'line 2 partly shipped' });
    assert.equal(partly!.status, 'PACKED', 'not SHIPPED while a line still waits');
    await warehouse([forOrder(order, 'SHP', b, 2), forOrder(order, 'SHP', c, 1)]);
    await orderInStatus(order.id, 'SHIPPED');
    assert.deepEqual(await api.stock(a, 'DC-01'), { onHandWms: 8, onHandNonNettable: 0, damaged: 0, allocated: 0, reserved: 0, available: 8 }, 'shipping consumed the allocation');
    await warehouse([a, b, c].map((sku, i) => forOrder(order, 'DLV', sku, [2, 3, 1][i]!)));
    const delivered = await orderInStatus(order.id, 'DELIVERED');

    assert.deepEqual(delivered!.timeline.map((t) => [t.status, t.cause, t.actor]), [
      ['CREATED', 'MUTATION', 'operator'], ['RESERVED', 'MUTATION', 'operator'], ['RELEASED', 'MUTATION', 'operator'],
      ['PICKING', 'WAREHOUSE_EVENT', 'acme-wms'], ['PACKED', 'WAREHOUSE_EVENT', 'acme-wms'], ['SHIPPED', 'WAREHOUSE_EVENT', 'acme-wms'], ['DELIVERED', 'WAREHOUSE_EVENT', 'acme-wms'],
    ]);
    await changes.until(7);
    assert.deepEqual(changes.received.map((change) => [change.version, change.status]), delivered!.timeline.map((t) => [t.version, t.status]), 'each status change published once, in order');
  });

  it('holds nothing and keeps no order when one line cannot be held, naming the line; a retry under its key gets the same refusal', async () => {
    const [plenty, other, scarce] = [newSku(), newSku(), newSku()];
    await givenStock(database.db, plenty, { 'DC-01': 10 });
    await givenStock(database.db, other, { 'DC-01': 10 });
    await givenStock(database.db, scarce, { 'DC-01': 1 });
    const reference = newReference();
    const lines = [{ sku: plenty, quantity: 4 }, { sku: other, quantity: 1, locationId: 'DC-01' }, { sku: scarce, quantity: 2 }];

    const refused = await api.place({ reference, lines });

    assert.equal(codeOf(refused), 'INSUFFICIENT_STOCK');
    assert.deepEqual([refused.errors![0]!.extensions!.line, refused.errors![0]!.extensions!.available], [3, 1]);
    assert.equal(await api.byReference(reference), null, 'no order remains');
    assert.deepEqual(await api.stock(plenty, 'DC-01'), { onHandWms: 10, onHandNonNettable: 0, damaged: 0, allocated: 0, reserved: 0, available: 10 });

    // Stock arrives: a retry under the same key still gets the first answer, as a retry must (a new key places anew).
    await warehouse([acmeEvent({ txn_type: 'RCV', item_code: acmeCode(scarce), site: 'ATL1', qty: 9 })]);
    assert.equal((await api.stock(scarce, 'DC-01')).available, 10);
    const retried = await api.place({ reference, lines });
    assert.equal(codeOf(retried), 'INSUFFICIENT_STOCK');
    assert.deepEqual(retried.errors![0]!.extensions, refused.errors![0]!.extensions);
    assert.equal(codeOf(await api.place({ reference, lines: lines.slice(0, 2) })), 'IDEMPOTENCY_CONFLICT');
    assert.equal(await api.byReference(reference), null, 'a retry places nothing');
    const placed = await api.place({ reference, lines, idempotencyKey: `key-${reference}-2` });
    assert.equal(placed.data?.placeOrder.status, 'RESERVED', 'the reference is free to place again under a new key');
  });

  it('answers a retried idempotency key with the first order, and refuses the key reused for another order or a reference taken', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const reference = newReference();
    const input = { reference, lines: [{ sku, quantity: 2 }], idempotencyKey: `idem-${reference}` };

    const [first, second] = await Promise.all([api.place(input), api.place(input)]);
    const again = await api.place(input);
    const conflict = await api.place({ ...input, lines: [{ sku, quantity: 3 }] });
    const taken = await api.place({ ...input, idempotencyKey: `other-${reference}` });

    assert.equal(first.data!.placeOrder.id, second.data!.placeOrder.id);
    assert.equal(again.data!.placeOrder.id, first.data!.placeOrder.id);
    assert.equal(codeOf(conflict), 'IDEMPOTENCY_CONFLICT');
    assert.equal(codeOf(taken), 'ORDER_REFERENCE_TAKEN');
    assert.equal((await api.stock(sku, 'DC-01')).allocated, 2, 'held once');
  });

  it('consumes a reservation, and refuses an unknown, a spent or a foreign one', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const reserve = async (quantity: number, channel = 'WEB') => (await api.call<{ createReservation: { id: string } }>(
      'mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }',
      { input: { sku, quantity, locationId: 'DC-01', channel, reference: 'cart', idempotencyKey: `rsv-${newReference()}` } },
    )).data!.createReservation.id;
    const reservation = await reserve(3);

    const placed = await api.place({ reference: newReference(), lines: [{ sku, quantity: 3, reservationId: reservation }] });
    assert.equal(placed.data?.placeOrder.status, 'RESERVED', JSON.stringify(placed.errors));
    assert.equal(placed.data!.placeOrder.lines[0]!.reservationId, reservation);
    assert.deepEqual(await api.stock(sku, 'DC-01'), { onHandWms: 10, onHandNonNettable: 0, damaged: 0, allocated: 3, reserved: 0, available: 7 }, 'reserved became allocated');

    const spent = await api.place({ reference: newReference(), lines: [{ sku, quantity: 3, reservationId: reservation }] });
    const unknown = await api.place({ reference: newReference(), lines: [{ sku, quantity: 1, reservationId: 'RSV-nope' }] });
    const foreign = await api.place({ reference: newReference(), lines: [{ sku, quantity: 2, reservationId: await reserve(2, 'STORE') }] });
    assert.deepEqual([codeOf(spent), codeOf(unknown), codeOf(foreign)], ['RESERVATION_NOT_ACTIVE', 'RESERVATION_NOT_FOUND', 'RESERVATION_MISMATCH']);
  });

  it('cancels an order before it ships, giving its stock back, and refuses once it has shipped', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const order = (await api.place({ reference: newReference(), lines: [{ sku, quantity: 4 }] })).data!.placeOrder;
    await api.release(order.id);
    await warehouse([forOrder(order, 'PCK', sku, 4)]);
    await orderInStatus(order.id, 'PICKING');

    const cancelled = await api.cancel(order.id, 'fraud check failed');
    assert.deepEqual([cancelled.data?.cancelOrder.status, cancelled.data?.cancelOrder.cancelReason], ['CANCELLED', 'fraud check failed']);
    await eventually(() => api.stock(sku, 'DC-01'), (stock) => stock.allocated === 0, { what: 'stock given back' });
    assert.equal((await api.stock(sku, 'DC-01')).available, 10);

    const shipped = (await api.place({ reference: newReference(), lines: [{ sku, quantity: 1 }] })).data!.placeOrder;
    await warehouse([forOrder(shipped, 'SHP', sku, 1)]);
    await orderInStatus(shipped.id, 'SHIPPED');
    assert.equal(codeOf(await api.cancel(shipped.id)), 'ORDER_ALREADY_SHIPPED');
  });

  it('refuses to release an order under a reconciliation hold, and releases it once the hold clears', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const order = (await api.place({ reference: newReference(), lines: [{ sku, quantity: 1 }] })).data!.placeOrder;
    const changes = statusChanges(order.id);
    const hold = { holdId: `HOLD-${sku}`, sku, locationId: 'DC-01' };
    await infrastructure.bus.publish(STREAMS.reconciliationHolds, { type: holdPlaced.type, payload: { ...hold, reason: 'variance of 73 units', placedAt: new Date().toISOString() } });

    await eventually(() => database.db.query('SELECT 1 FROM order_release_hold WHERE hold_id = $1', [hold.holdId]), (rows) => rows.length === 1, { what: 'the hold recorded' });
    const refused = await api.release(order.id);
    assert.equal(codeOf(refused), 'RECONCILIATION_HOLD');
    assert.deepEqual((refused.errors![0]!.extensions!.holds as { holdId: string }[]).map((h) => h.holdId), [hold.holdId]);
    assert.equal((await api.order(order.id))!.releasePending, true);
    await infrastructure.bus.publish(STREAMS.reconciliationHolds, { type: holdCleared.type, payload: { ...hold, clearedAt: new Date().toISOString() } });

    await changes.until(3);
    assert.deepEqual(changes.received.map((change) => [change.status, change.cause]), [['CREATED', 'MUTATION'], ['RESERVED', 'MUTATION'], ['RELEASED', 'HOLD_CLEARED']]);
    const released = await api.order(order.id);
    assert.deepEqual([released!.status, released!.releasePending, released!.timeline.at(-1)!.causeId], ['RELEASED', false, hold.holdId]);
  });

  it('takes a return into QA and restocks or scraps it on inspection', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const order = (await api.place({ reference: newReference(), lines: [{ sku, quantity: 3 }] })).data!.placeOrder;
    await warehouse([forOrder(order, 'SHP', sku, 3), forOrder(order, 'DLV', sku, 3)]);
    await orderInStatus(order.id, 'DELIVERED');

    const requested = await api.requestReturn(order.id, [{ lineNumber: 1, quantity: 2 }], 'damaged in transit');
    assert.deepEqual([requested.data?.requestReturn.status, requested.data?.requestReturn.lines[0]!.returnRequested], ['RETURN_REQUESTED', 2]);
    await warehouse([forOrder(order, 'RTN', sku, 2)]);
    await orderInStatus(order.id, 'RETURN_RECEIVED');
    assert.deepEqual(await api.stock(sku, 'DC-01'), { onHandWms: 7, onHandNonNettable: 2, damaged: 0, allocated: 0, reserved: 0, available: 7 }, 'the returns wait in QA, not sellable');

    const tooMany = await api.inspect(order.id, [{ lineNumber: 1, restocked: 2, scrapped: 1 }]);
    assert.equal(codeOf(tooMany), 'INVALID_RETURN');
    const inspected = await api.inspect(order.id, [{ lineNumber: 1, restocked: 1, scrapped: 1 }]);
    assert.equal(inspected.errors, undefined, JSON.stringify(inspected.errors));
    assert.deepEqual([inspected.data!.inspectReturn.status, inspected.data!.inspectReturn.lines[0]!.restocked, inspected.data!.inspectReturn.lines[0]!.scrapped], ['RESTOCKED', 1, 1]);
    assert.deepEqual(await api.stock(sku, 'DC-01'), { onHandWms: 8, onHandNonNettable: 0, damaged: 1, allocated: 0, reserved: 0, available: 8 }, 'one back to sellable stock, one to DAMAGED');
  });

  it('keeps a confirmation for an unknown order as UNMATCHED, queryable', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const reference = `NOBODY-${newReference()}`;
    await warehouse([acmeEvent({ txn_type: 'PCK', item_code: acmeCode(sku), site: 'ATL1', order_no: reference, qty: 1 })]);

    const unmatched = await eventually(
      async () => (await api.call<{ unappliedConfirmations: { nodes: { orderReference: string; outcome: string; reason: string; item: { sku: string } }[] } }>(
        '{ unappliedConfirmations(first: 50) { nodes { orderReference outcome reason item { sku } } } }')).data!.unappliedConfirmations.nodes,
      (nodes) => nodes.some((node) => node.orderReference === reference),
      { what: 'the unmatched confirmation' },
    );
    assert.deepEqual(unmatched.find((node) => node.orderReference === reference), { orderReference: reference, outcome: 'UNMATCHED', reason: `no order has the reference ${reference}`, item: { sku } });
  });

  it("shows each item's open demand per location, finds orders by filter, and resolves each line's item from inventory", async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 20, 'DC-02': 20 });
    const channel = `CHANNEL-${sku}`;
    const first = (await api.place({ reference: newReference(), channel, lines: [{ sku, quantity: 5, locationId: 'DC-01' }] })).data!.placeOrder;
    const second = (await api.place({ reference: newReference(), channel, lines: [{ sku, quantity: 3, locationId: 'DC-01' }, { sku, quantity: 2, locationId: 'DC-02' }] })).data!.placeOrder;
    const cancelled = (await api.place({ reference: newReference(), channel, lines: [{ sku, quantity: 4, locationId: 'DC-02' }] })).data!.placeOrder;
    await api.cancel(cancelled.id);
    const other = newSku();
    await givenStock(database.db, other, { 'DC-02': 20 });
    const shippedHere = (await api.place({ reference: newReference(), channel: `${channel}-B`, lines: [{ sku, quantity: 1, locationId: 'DC-01' }, { sku: other, quantity: 1, locationId: 'DC-02' }] })).data!.placeOrder;
    await warehouse([forOrder(first, 'SHP', sku, 2), forOrder(shippedHere, 'SHP', sku, 1)]);
    await eventually(() => api.order(first.id), (order) => order?.lines[0]?.shipped === 2, { what: 'the partial shipment' });
    await eventually(() => api.order(shippedHere.id), (order) => order?.lines.find((line) => line.item.sku === sku)?.shipped === 1, { what: 'the shipment of one line' });

    const { data, errors } = await api.call<any>(`query ($sku: ID!, $channel: String!, $other: ID!) {
      item(sku: $sku) { description openDemand { locationId location { id name } units orders } openOrders { id } }
      open: orders(filter: { channel: $channel, status: [RESERVED], locationId: "DC-02" }) { nodes { id lines { item { sku description } } } }
      all: orders(filter: { channel: $channel, sku: $sku }, first: 2) { nodes { id } hasNextPage }
      lineAt: orders(filter: { sku: $other, locationId: "DC-01" }) { nodes { id } }
    }`, { sku, channel, other });

    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.deepEqual(data.item.openDemand, [
      { locationId: 'DC-01', location: { id: 'DC-01', name: 'Atlanta Distribution Centre' }, units: 3 + 3, orders: 2 },
      { locationId: 'DC-02', location: { id: 'DC-02', name: 'Chicago Distribution Centre' }, units: 2, orders: 1 },
    ], 'shipped units and cancelled orders are no longer demand, nor an open order whose line here has shipped');
    assert.deepEqual(data.item.openOrders.map((order: { id: string }) => order.id), [first.id, second.id, shippedHere.id]);
    assert.deepEqual(data.lineAt.nodes, [], 'sku and locationId together name one line');
    assert.deepEqual(data.open.nodes.map((order: { id: string }) => order.id), [second.id]);
    assert.deepEqual(data.open.nodes[0].lines.map((line: any) => line.item), [{ sku, description: sku }, { sku, description: sku }], 'the description comes from inventory');
    assert.deepEqual([data.all.nodes.map((order: { id: string }) => order.id), data.all.hasNextPage], [[cancelled.id, second.id], true], 'newest first, a page at a time');
  });

  it('refuses bad input with a stable code, changing nothing', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const before = await api.stock(sku, 'DC-01');

    const badInput = await api.place({ reference: ' ', lines: [{ sku, quantity: 0 }, { sku, quantity: 2.5 }] });
    const unknownSku = await api.place({ reference: newReference(), lines: [{ sku, quantity: 1 }, { sku: 'SKU-NOPE', quantity: 1 }] });
    const unknownLocation = await api.place({ reference: newReference(), lines: [{ sku, quantity: 1, locationId: 'DC-99' }] });
    const noOrder = await api.release('ORD-nope');
    const badReturn = await api.requestReturn('ORD-nope', [{ lineNumber: 1, quantity: 0 }], ' ');
    const badInspection = await api.inspect('ORD-nope', [{ lineNumber: 1 }]);
    const foreignCursor = await api.call('query ($after: String) { unappliedConfirmations(after: $after) { nodes { eventId } } }', {
      after: Buffer.from(`after:${new Date().toISOString()}|not-json`).toString('base64url'),
    });

    assert.equal(codeOf(badInput), 'BAD_USER_INPUT');
    assert.equal(codeOf(unknownSku), 'UNKNOWN_SKU');
    assert.equal(unknownSku.errors![0]!.extensions!.line, 2);
    assert.equal(codeOf(unknownLocation), 'UNKNOWN_LOCATION');
    assert.equal(codeOf(noOrder), 'ORDER_NOT_FOUND');
    assert.equal(codeOf(badReturn), 'BAD_USER_INPUT');
    assert.deepEqual((badReturn.errors![0]!.extensions!.problems as { field: string }[]).map((problem) => problem.field), ['reason', 'lines[0]']);
    assert.equal(codeOf(badInspection), 'BAD_USER_INPUT');
    assert.equal(codeOf(foreignCursor), 'BAD_USER_INPUT');
    assert.deepEqual(await api.stock(sku, 'DC-01'), before);
  });
});
