import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import { GRANTABLE_SCOPE_NAMES } from '../../gateway/edge/scopes.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startErpSimulator, type ErpSimulator } from '../../simulators/erp/erpSimulator.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { givenPositions } from '../reconciliation/reconciliationFixtures.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { OPERATOR, testClients } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { codeOf, ordersApi, type OrderView } from '../support/orders.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { givenStock, stockOf } from '../support/stock.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// A partner granted DC-01 (acme-wms ATL1) alone, every scope a client can hold, against data at
// DC-01 and at DC-02 (ORD1). Each root field of inventory and orders is run as the partner, and
// what the partner must not see or change is looked at as the operator (every location) too: a
// test that only ever looked as the partner could pass with nothing at DC-02 at all.

// SKU-97xxx: stocked by each test for itself; acme-wms names them ACME-97xxx.
let nextSku = 97_000;
const newSku = () => `SKU-${(nextSku += 1)}`;
const acmeCode = (sku: string) => sku.replace('SKU-', 'ACME-');
let nextKey = 0;
const newKey = (label: string) => `${label}-${process.pid}-${(nextKey += 1)}`;
const SITE = { 'DC-01': 'ATL1', 'DC-02': 'ORD1' } as const;

const PARTNER = { name: 'partner', scopes: [...GRANTABLE_SCOPE_NAMES], locations: ['DC-01'], limits: OPERATOR.limits };

describe('partner isolation: a client granted DC-01 only, through the gateway over the real subgraphs, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let erp: ErpSimulator;
  let system: RunningSystem;
  const redis = redisNamespace('partner-isolation');
  const clients = testClients([OPERATOR, PARTNER]);
  const asPartner = <Data = any>(query: string, variables: Record<string, unknown> = {}) => graphql<Data>(system.gateway.url, query, variables, clients.headers('partner'));
  const asOperator = <Data = any>(query: string, variables: Record<string, unknown> = {}) => graphql<Data>(system.gateway.url, query, variables, clients.headers());
  let partnerOrders: ReturnType<typeof ordersApi>;
  let operatorOrders: ReturnType<typeof ordersApi>;
  /** Orders placed by the orders test that the partner must never see: at DC-02, or at DC-01 and DC-02. */
  const foreignOrderIds = new Set<string>();

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 5 });
    erp = await startErpSimulator();
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    system = await startSystem({
      infrastructure,
      host: '127.0.0.1',
      ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 },
      logger: createLogger('silent'),
      env: {
        ...clients.env, WMS_SOURCE_SECRETS: 'acme-wms=test-secret', RECONCILIATION_INTERVAL_SECONDS: '0', ORDER_RECOVERY_INTERVAL_MS: '100',
        // Neither DC-01 nor DC-02 is an ERP organization: each of their inventory transactions fails to sync at once, a syncFailed event of its location.
        ERP_BASE_URL: erp.baseUrl, ERP_ORGANIZATIONS: 'DFW=DC-03', ERP_SYNC_INTERVAL_MS: '20',
      },
    });
    partnerOrders = ordersApi(system.gateway.url, clients.headers('partner'));
    operatorOrders = ordersApi(system.gateway.url, clients.headers());
  });

  after(async () => {
    await system?.stop();
    await infrastructure?.close();
    await erp?.stop();
    await redis.clear();
    clients.remove();
    await database?.drop();
  });

  /** Signed acme-wms events to the inventory service, applied when this returns. */
  const warehouse = async (events: Record<string, unknown>[]) => {
    const { status, body } = await postEvents(system.subgraphs.inventory.url, 'acme-wms', events);
    assert.equal(status, 200, JSON.stringify(body));
    return body as { applied: number; deadLettered: number };
  };
  const receipt = (sku: string, locationId: keyof typeof SITE, qty = 1) => acmeEvent({ txn_type: 'RCV', item_code: acmeCode(sku), site: SITE[locationId], qty });

  /** What one subscription of `client` delivers, and a way to wait until it has delivered what is asked. */
  function subscription<T>(client: string, query: string, field: string) {
    const socket = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: clients.headers(client) });
    cleanup(() => socket.dispose());
    const received: T[] = [];
    const failures: unknown[] = [];
    const waiters: (() => void)[] = [];
    const wake = () => waiters.splice(0).forEach((resolve) => resolve());
    socket.subscribe<Record<string, T>>({ query }, {
      next: ({ data, errors }) => {
        if (errors) failures.push(errors);
        if (data?.[field]) received.push(data[field]!);
        wake();
      },
      error: (error) => (failures.push(error), wake()),
      complete: () => {},
    });
    return {
      received,
      /** Resolves once `done` holds for what has arrived; fails as soon as the subscription reports an error. */
      until: async (done: (received: readonly T[]) => boolean) => {
        while (!done(received)) {
          assert.deepEqual(failures, [], `${client}'s ${field} subscription failed`);
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
        assert.deepEqual(failures, [], `${client}'s ${field} subscription failed`);
      },
    };
  }

  it('reads stock levels, locations and availability of DC-01 alone, in every sum', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 50, 'DC-02': 70 });
    const read = `query ($sku: ID!, $prefix: String!) {
      item(sku: $sku) { stockLevels { locationId onHandWms } named: stockLevels(locationIds: ["DC-01", "DC-02"]) { locationId } }
      items(filter: { skuPrefix: $prefix }, first: 5) { nodes { sku stockLevels { locationId } } }
      here: stockLevel(sku: $sku, locationId: "DC-01") { onHandWms available }
      there: stockLevel(sku: $sku, locationId: "DC-02") { onHandWms }
      own: location(id: "DC-01") { id }
      other: location(id: "DC-02") { id }
      locations { id }
      availability(skus: [$sku]) { items { sku available locations { locationId available } } }
      web: availability(skus: [$sku], channel: "WEB") { items { available } }
    }`;

    const partner = await asPartner(read, { sku, prefix: sku });
    const operator = await asOperator(read, { sku, prefix: sku });

    assert.equal(partner.errors, undefined, JSON.stringify(partner.errors));
    assert.deepEqual(partner.data, {
      item: { stockLevels: [{ locationId: 'DC-01', onHandWms: 50 }], named: [{ locationId: 'DC-01' }] },
      items: { nodes: [{ sku, stockLevels: [{ locationId: 'DC-01' }] }] },
      here: { onHandWms: 50, available: 50 },
      there: null,
      own: { id: 'DC-01' },
      other: null,
      locations: [{ id: 'DC-01' }],
      availability: { items: [{ sku, available: 50, locations: [{ locationId: 'DC-01', available: 50 }] }] },
      web: { items: [{ available: 50 }] },
    });
    assert.deepEqual(operator.data.item.stockLevels, [{ locationId: 'DC-01', onHandWms: 50 }, { locationId: 'DC-02', onHandWms: 70 }], 'the stock at DC-02 is there');
    assert.equal(operator.data.availability.items[0].available, 120);
    assert.equal(operator.data.locations.length, 12);
  });

  it('is refused availability at a location it is not granted, whether or not the location exists', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 5, 'DC-02': 5 });
    const availabilityAt = (locationIds: string[]) => `{ availability(skus: ["${sku}"], locationIds: ${JSON.stringify(locationIds)}) { items { available } } }`;

    const other = await asPartner(availabilityAt(['DC-01', 'DC-02']));
    const nowhere = await asPartner(availabilityAt(['NOWHERE']));
    const own = await asPartner(availabilityAt(['DC-01']));

    assert.deepEqual([codeOf(other), other.errors?.[0]?.extensions?.locationIds, other.data], ['FORBIDDEN', ['DC-02'], null]);
    assert.deepEqual([codeOf(nowhere), nowhere.errors?.[0]?.extensions?.locationIds], ['FORBIDDEN', ['NOWHERE']], 'no UNKNOWN_LOCATION: nothing is learnt of other locations');
    assert.equal(codeOf(await asOperator(availabilityAt(['NOWHERE']))), 'UNKNOWN_LOCATION');
    assert.deepEqual(own.data, { availability: { items: [{ available: 5 }] } });
  });

  it('is refused dead letters, which are not kept per location, and the lookups only the gateway may run', async () => {
    const body = await warehouse([acmeEvent({ item_code: 'ACME-99999', site: SITE['DC-02'] })]);
    assert.equal(body.deadLettered, 1);
    const letters = async () => (await asOperator('{ deadLetters(first: 500) { nodes { id replayedAt } } }')).data.deadLetters.nodes as { id: string; replayedAt: string | null }[];
    const [letter] = await letters();

    const listed = await asPartner('{ deadLetters { nodes { id } } }');
    const replayed = await asPartner('mutation ($id: ID!) { replayDeadLetter(id: $id) { outcome } }', { id: letter!.id });
    const stockChanges = await asPartner('{ stockChanges(ids: ["1"]) { id } }');
    const orderStatusChanges = await asPartner('{ orderStatusChanges(ids: ["1"]) { id } }');

    assert.deepEqual([codeOf(listed), codeOf(replayed)], ['FORBIDDEN', 'FORBIDDEN']);
    assert.deepEqual(await letters(), [{ id: letter!.id, replayedAt: null }], 'nothing was replayed');
    assert.deepEqual([codeOf(stockChanges), codeOf(orderStatusChanges)], ['FORBIDDEN', 'FORBIDDEN'], 'gateway:events is never granted');
  });

  it('reserves at DC-01 only, and sees, extends, confirms and releases only the reservations held there alone', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 50, 'DC-02': 70 });
    const RESERVATION = 'id status expiresAt lines { locationId quantity }';
    const reserve = (as: typeof asPartner, input: Record<string, unknown>) =>
      as(`mutation ($input: CreateReservationInput!) { createReservation(input: $input) { ${RESERVATION} } }`, { input: { sku, channel: 'WEB', reference: 'cart', idempotencyKey: newKey('rsv'), ...input } });
    const reservationAs = async (as: typeof asPartner, id: string) => (await as(`query ($id: ID!) { reservation(id: $id) { ${RESERVATION} } }`, { id })).data.reservation;

    // Given: the operator's reservations, one the strategy put at DC-02 (most available), one split over both
    const otherKey = newKey('rsv-other');
    const other = (await reserve(asOperator, { quantity: 5, idempotencyKey: otherKey })).data.createReservation;
    const split = (await reserve(asOperator, { quantity: 100 })).data.createReservation;
    assert.deepEqual(other.lines, [{ locationId: 'DC-02', quantity: 5 }]);
    assert.deepEqual(split.lines, [{ locationId: 'DC-01', quantity: 35 }, { locationId: 'DC-02', quantity: 65 }]);

    // When the partner names DC-02, or a location that does not exist, asks for more than DC-01 has, and lets the strategy choose
    const atOther = await reserve(asPartner, { quantity: 1, locationId: 'DC-02' });
    const atNowhere = await reserve(asPartner, { quantity: 1, locationId: 'NOWHERE' });
    const tooMuch = await reserve(asPartner, { quantity: 16 });
    const ownAnswer = await reserve(asPartner, { quantity: 5 });
    assert.equal(ownAnswer.errors, undefined, JSON.stringify(ownAnswer.errors));
    const own = ownAnswer.data.createReservation;
    const reused = await reserve(asPartner, { quantity: 5, idempotencyKey: otherKey });

    // Then it holds stock at DC-01 only, however much more DC-02 has
    assert.deepEqual([codeOf(atOther), atOther.errors?.[0]?.extensions?.locationIds, codeOf(atNowhere)], ['FORBIDDEN', ['DC-02'], 'FORBIDDEN']);
    assert.deepEqual([codeOf(tooMuch), tooMuch.errors?.[0]?.extensions?.available], ['INSUFFICIENT_STOCK', 15], 'only what DC-01 has left counts');
    assert.deepEqual(own.lines, [{ locationId: 'DC-01', quantity: 5 }], 'DC-02, with more available, is never chosen');
    assert.equal(codeOf(reused), 'IDEMPOTENCY_CONFLICT', "another's reservation is not the answer to its key");
    assert.equal(reused.errors?.[0]?.extensions?.reservationId, undefined, 'nor is it named');
    assert.equal((await stockOf(database.db, sku, 'DC-02')).reserved, 70);

    // And it sees and moves its own reservation, and nothing of the others
    assert.deepEqual(await reservationAs(asPartner, own.id), own);
    assert.deepEqual([await reservationAs(asPartner, other.id), await reservationAs(asPartner, split.id)], [null, null]);
    for (const id of [other.id, split.id]) {
      const answers = [
        await asPartner('mutation ($id: ID!) { extendReservation(id: $id, ttlSeconds: 60) { id } }', { id }),
        await asPartner('mutation ($id: ID!) { confirmReservation(id: $id) { id } }', { id }),
        await asPartner('mutation ($id: ID!) { releaseReservation(id: $id) { id } }', { id }),
      ];
      assert.deepEqual(answers.map(codeOf), ['RESERVATION_NOT_FOUND', 'RESERVATION_NOT_FOUND', 'RESERVATION_NOT_FOUND'], id);
    }
    assert.deepEqual([await reservationAs(asOperator, other.id), await reservationAs(asOperator, split.id)], [other, split], 'untouched');
    const extended = await asPartner('mutation ($id: ID!) { extendReservation(id: $id, ttlSeconds: 600) { status } }', { id: own.id });
    const released = await asPartner('mutation ($id: ID!) { releaseReservation(id: $id) { status } }', { id: own.id });
    const confirmed = await asPartner('mutation ($id: ID!) { confirmReservation(id: $id) { status } }', { id: (await reserve(asPartner, { quantity: 1 })).data.createReservation.id });
    assert.deepEqual([extended.data, released.data, confirmed.data], [{ extendReservation: { status: 'ACTIVE' } }, { releaseReservation: { status: 'RELEASED' } }, { confirmReservation: { status: 'CONFIRMED' } }]);
  });

  it('moves stock between its own locations only, and sees and receives only transfers between them', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 20, 'DC-02': 20 });
    const TRANSFER = 'id status receivedQuantity from { locationId } to { locationId }';
    const transfer = (as: typeof asPartner, from: string, to: string, subinventory = 'STOCK') =>
      as(`mutation ($input: CreateTransferInput!) { createTransfer(input: $input) { ${TRANSFER} } }`, {
        input: { sku, quantity: 2, from: { locationId: from, subinventory: 'STOCK' }, to: { locationId: to, subinventory }, idempotencyKey: newKey('trf') },
      });
    const transferAs = async (as: typeof asPartner, id: string) => (await as(`query ($id: ID!) { transfer(id: $id) { ${TRANSFER} } }`, { id })).data.transfer;
    const inbound = (await transfer(asOperator, 'DC-02', 'DC-01')).data.createTransfer;
    assert.equal(inbound.status, 'SHIPPED');

    const out = await transfer(asPartner, 'DC-01', 'DC-02');
    const toNowhere = await transfer(asPartner, 'DC-01', 'NOWHERE');
    const fromOther = await transfer(asPartner, 'DC-02', 'DC-01');
    const withinOwn = (await transfer(asPartner, 'DC-01', 'DC-01', 'QA')).data.createTransfer;
    const receive = await asPartner('mutation ($id: ID!) { receiveTransfer(input: { transferId: $id }) { id } }', { id: inbound.id });

    assert.deepEqual([out, toNowhere, fromOther].map((answer) => [codeOf(answer), answer.errors?.[0]?.extensions?.locationIds]), [
      ['FORBIDDEN', ['DC-02']], ['FORBIDDEN', ['NOWHERE']], ['FORBIDDEN', ['DC-02']],
    ]);
    assert.deepEqual([(await stockOf(database.db, sku, 'DC-01')).available, (await stockOf(database.db, sku, 'DC-02')).available], [18, 18], 'only the two moves allowed moved anything');
    assert.equal(withinOwn.status, 'COMPLETED');
    assert.deepEqual(await transferAs(asPartner, withinOwn.id), withinOwn);
    assert.equal(await transferAs(asPartner, inbound.id), null, 'a transfer from DC-02 touches DC-02');
    assert.equal(codeOf(receive), 'TRANSFER_NOT_FOUND');
    assert.deepEqual(await transferAs(asOperator, inbound.id), inbound, 'still in transit, nothing received');
  });

  it('places orders at DC-01 only, and sees and moves only the orders all of whose lines are there, pages filtered in SQL', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 50, 'DC-02': 50 });
    const place = async (api: typeof partnerOrders, lines: { quantity: number; locationId?: string }[]) => {
      const reference = newKey('WEB');
      return { reference, answer: await api.place({ reference, lines: lines.map((line) => ({ sku, ...line })) }) };
    };
    const placed = async (api: typeof partnerOrders, lines: { quantity: number; locationId?: string }[]) => {
      const { answer } = await place(api, lines);
      assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
      return answer.data!.placeOrder;
    };
    // Given the operator's orders at DC-01, at DC-02, and at both
    const here = await placed(operatorOrders, [{ quantity: 1, locationId: 'DC-01' }]);
    const there = await placed(operatorOrders, [{ quantity: 2, locationId: 'DC-02' }]);
    const both = await placed(operatorOrders, [{ quantity: 3, locationId: 'DC-01' }, { quantity: 4, locationId: 'DC-02' }]);

    // When the partner places orders: without a location, at DC-02, at both, and at DC-01
    const refused = [
      await place(partnerOrders, [{ quantity: 1 }]),
      await place(partnerOrders, [{ quantity: 1, locationId: 'DC-02' }]),
      await place(partnerOrders, [{ quantity: 1, locationId: 'DC-01' }, { quantity: 1, locationId: 'DC-02' }]),
    ];
    const own = await placed(partnerOrders, [{ quantity: 5, locationId: 'DC-01' }]);
    const newest = await placed(operatorOrders, [{ quantity: 1, locationId: 'DC-02' }]);
    for (const order of [there, both, newest]) foreignOrderIds.add(order.id);

    // Then it places at DC-01 only, nothing else
    assert.deepEqual(refused.map(({ answer }) => codeOf(answer)), ['BAD_USER_INPUT', 'FORBIDDEN', 'FORBIDDEN']);
    assert.deepEqual((refused[0]!.answer.errors![0]!.extensions!.problems as { field: string }[]).map((problem) => problem.field), ['lines[0].locationId']);
    assert.deepEqual(refused[2]!.answer.errors![0]!.extensions!.locationIds, ['DC-02']);
    for (const { reference } of refused) assert.equal(await operatorOrders.byReference(reference), null, `nothing placed as ${reference}`);
    assert.equal(own.status, 'RESERVED');
    const taken = async (api: typeof partnerOrders) => (await api.place({ reference: there.reference, idempotencyKey: newKey('key'), lines: [{ sku, quantity: 1, locationId: 'DC-01' }] })).errors?.[0];
    const [takenForPartner, takenForOperator] = [await taken(partnerOrders), await taken(operatorOrders)];
    assert.deepEqual([takenForPartner?.extensions?.code, takenForPartner?.extensions?.orderId], ['ORDER_REFERENCE_TAKEN', undefined], 'the order with the reference is not named to it');
    assert.deepEqual([takenForOperator?.extensions?.code, takenForOperator?.extensions?.orderId], ['ORDER_REFERENCE_TAKEN', there.id]);

    // And it sees the orders all of whose lines are at DC-01, by id, by reference, in pages and on the item
    const seen = async (order: OrderView) => [(await partnerOrders.order(order.id))?.id ?? null, (await partnerOrders.byReference(order.reference))?.id ?? null];
    assert.deepEqual(await seen(here), [here.id, here.id]);
    assert.deepEqual([await seen(there), await seen(both), await seen(newest)], [[null, null], [null, null], [null, null]]);
    const page = async (as: typeof asPartner, first: number, after: string | null) =>
      (await as('query ($sku: ID!, $first: Int!, $after: String) { orders(filter: { sku: $sku }, first: $first, after: $after) { nodes { id } endCursor hasNextPage } }', { sku, first, after })).data.orders;
    const first = await page(asPartner, 1, null);
    const second = await page(asPartner, 1, first.endCursor);
    assert.deepEqual([first.nodes, first.hasNextPage, second.nodes, second.hasNextPage], [[{ id: own.id }], true, [{ id: here.id }], false], 'full pages of what it may see, though the newest order is not');
    assert.equal((await page(asOperator, 50, null)).nodes.length, 5);
    const onItem = `query ($sku: ID!) { item(sku: $sku) { openOrders { id } openDemand { locationId units orders } } }`;
    assert.deepEqual((await asPartner(onItem, { sku })).data.item, {
      openOrders: [{ id: here.id }, { id: own.id }],
      openDemand: [{ locationId: 'DC-01', units: 1 + 3 + 5, orders: 3 }],
    }, "demand at DC-01 counts every order's lines there");
    assert.deepEqual((await asOperator(onItem, { sku })).data.item.openDemand.map((demand: { locationId: string }) => demand.locationId), ['DC-01', 'DC-02']);

    // And it moves none of the others: to it they do not exist, where its own are answered by their rules
    const notFound = [
      await partnerOrders.release(there.id),
      await partnerOrders.cancel(both.id),
      await partnerOrders.requestReturn(there.id, [{ lineNumber: 1, quantity: 1 }]),
      await partnerOrders.inspect(both.id, [{ lineNumber: 1, restocked: 1 }]),
    ];
    assert.deepEqual(notFound.map(codeOf), ['ORDER_NOT_FOUND', 'ORDER_NOT_FOUND', 'ORDER_NOT_FOUND', 'ORDER_NOT_FOUND']);
    assert.deepEqual([codeOf(await partnerOrders.requestReturn(here.id, [{ lineNumber: 1, quantity: 1 }])), codeOf(await partnerOrders.inspect(here.id, [{ lineNumber: 1, restocked: 1 }]))],
      ['INVALID_ORDER_STATUS', 'INVALID_ORDER_STATUS'], 'its own order is there, not yet shipped');
    assert.deepEqual([(await operatorOrders.order(there.id))!.status, (await operatorOrders.order(both.id))!.status], ['RESERVED', 'RESERVED']);
    assert.equal((await stockOf(database.db, sku, 'DC-02')).allocated, 2 + 4 + 1, "the others' stock stays held");
    assert.equal((await partnerOrders.release(here.id)).data?.releaseOrder.status, 'RELEASED');
    assert.equal((await partnerOrders.cancel(own.id)).data?.cancelOrder.status, 'CANCELLED');
  });

  it('sees the unapplied warehouse confirmations at DC-01 only, and of their orders only those it may see', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10, 'DC-02': 10 });
    const foreign = (await operatorOrders.place({ reference: newKey('WEB'), lines: [{ sku, quantity: 1, locationId: 'DC-01' }, { sku, quantity: 1, locationId: 'DC-02' }] })).data!.placeOrder;
    foreignOrderIds.add(foreign.id);
    const unknownHere = newKey('NOPE');
    const unknownThere = newKey('NOPE');
    const other = newSku();
    await givenStock(database.db, other, { 'DC-01': 10 });

    await warehouse([
      acmeEvent({ txn_type: 'PCK', item_code: acmeCode(sku), site: SITE['DC-01'], qty: 1, order_no: unknownHere }),
      acmeEvent({ txn_type: 'PCK', item_code: acmeCode(sku), site: SITE['DC-02'], qty: 1, order_no: unknownThere }),
      // The order has no line of this SKU: INAPPLICABLE, at DC-01, of an order with a line at DC-02.
      acmeEvent({ txn_type: 'PCK', item_code: acmeCode(other), site: SITE['DC-01'], qty: 1, order_no: foreign.reference }),
    ]);
    const CONFIRMATIONS = '{ unappliedConfirmations(first: 500) { nodes { orderReference outcome location { id } order { id } } } }';
    const mine = (nodes: { orderReference: string }[]) => nodes.filter((node) => [unknownHere, unknownThere, foreign.reference].includes(node.orderReference));
    const operatorSees = await eventually(async () => mine((await asOperator(CONFIRMATIONS)).data.unappliedConfirmations.nodes), (nodes) => nodes.length === 3, { what: 'the three confirmations recorded' });
    const partnerSees = mine((await asPartner(CONFIRMATIONS)).data.unappliedConfirmations.nodes);

    assert.deepEqual(operatorSees.find((node) => node.orderReference === foreign.reference), { orderReference: foreign.reference, outcome: 'INAPPLICABLE', location: { id: 'DC-01' }, order: { id: foreign.id } });
    assert.deepEqual(partnerSees.sort((a, b) => (a.orderReference < b.orderReference ? -1 : 1)), [
      { orderReference: foreign.reference, outcome: 'INAPPLICABLE', location: { id: 'DC-01' }, order: null },
      { orderReference: unknownHere, outcome: 'UNMATCHED', location: { id: 'DC-01' }, order: null },
    ].sort((a, b) => (a.orderReference < b.orderReference ? -1 : 1)));
  });

  it('is delivered stock, availability and order status changes of DC-01 only, from the start of the streams, their selections resolved as its own queries are', { timeout: 120_000 }, async () => {
    interface Change { sku: string; locationId: string; item: { stockLevels: { locationId: string }[]; openOrders: { id: string }[] } }
    interface Crossing { sku: string; locationId: string; after: { available: number } }
    interface StatusChange { orderId: string; status: string; order: { lines: { location: { id: string } }[] } | null }
    const STOCK = 'subscription { stockChanged(after: "0-0") { sku locationId item { stockLevels { locationId } openOrders { id } } } }';
    const [sku, marker] = [newSku(), newSku()];
    await givenStock(database.db, sku, { 'DC-01': 10, 'DC-02': 10 });
    await givenStock(database.db, marker, { 'DC-01': 0 });
    const AVAILABILITY = `subscription { availabilityChanged(skus: ["${sku}"], below: 8, after: "0-0") { sku locationId after { available } } }`;
    const STATUS = 'subscription { orderStatusChanged(after: "0-0") { orderId status order { lines { location { id } } } } }';
    const partner = {
      stock: subscription<Change>('partner', STOCK, 'stockChanged'),
      availability: subscription<Crossing>('partner', AVAILABILITY, 'availabilityChanged'),
      status: subscription<StatusChange>('partner', STATUS, 'orderStatusChanged'),
    };
    const operator = {
      stock: subscription<Change>('operator', STOCK, 'stockChanged'),
      availability: subscription<Crossing>('operator', AVAILABILITY, 'availabilityChanged'),
      status: subscription<StatusChange>('operator', STATUS, 'orderStatusChanged'),
    };

    // When available crosses 8 at both locations, then back at DC-01; an order is placed at DC-01; the marker SKU arrives at DC-01
    const reserve = async (locationId: string) => (await asOperator('mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }', {
      input: { sku, quantity: 5, locationId, channel: 'WEB', reference: 'cart', idempotencyKey: newKey('rsv') },
    })).data.createReservation.id as string;
    const [atHere] = [await reserve('DC-01'), await reserve('DC-02')];
    await asOperator('mutation ($id: ID!) { releaseReservation(id: $id) { id } }', { id: atHere });
    const last = (await partnerOrders.place({ reference: newKey('WEB'), lines: [{ sku, quantity: 1, locationId: 'DC-01' }] })).data!.placeOrder;
    await warehouse([receipt(marker, 'DC-01', 3)]);

    // Then each has been delivered up to the last change (nothing after it is coming), the partner those of DC-01 only
    const hasMarker = (changes: readonly { sku: string }[]) => changes.some((change) => change.sku === marker);
    const crossedBack = (crossings: readonly Crossing[]) => crossings.some((crossing) => crossing.locationId === 'DC-01' && crossing.after.available === 10);
    const reserved = (changes: readonly StatusChange[]) => changes.some((change) => change.orderId === last.id && change.status === 'RESERVED');
    await Promise.all([partner.stock.until(hasMarker), operator.stock.until(hasMarker), partner.availability.until(crossedBack), operator.availability.until(crossedBack),
      partner.status.until(reserved), operator.status.until(reserved)]);

    assert.ok(operator.stock.received.some((change) => change.locationId === 'DC-02'), 'the stream holds changes at DC-02');
    assert.deepEqual([...new Set(partner.stock.received.map((change) => change.locationId))], ['DC-01']);
    assert.deepEqual([...new Set(partner.stock.received.flatMap((change) => change.item.stockLevels.map((level) => level.locationId)))], ['DC-01'], "an item's stock levels, resolved for the partner");
    assert.ok(operator.stock.received.some((change) => change.item.openOrders.some((order) => foreignOrderIds.has(order.id))), "the operator's selections reach the foreign orders");
    assert.deepEqual(partner.stock.received.flatMap((change) => change.item.openOrders.filter((order) => foreignOrderIds.has(order.id))), [], "an item's open orders, resolved for the partner");
    assert.deepEqual(operator.availability.received.map((crossing) => [crossing.locationId, crossing.after.available]), [['DC-01', 5], ['DC-02', 5], ['DC-01', 10]]);
    assert.deepEqual(partner.availability.received.map((crossing) => [crossing.locationId, crossing.after.available]), [['DC-01', 5], ['DC-01', 10]]);
    assert.ok(operator.status.received.some((change) => foreignOrderIds.has(change.orderId)), 'the stream holds changes of the foreign orders');
    assert.deepEqual(partner.status.received.filter((change) => foreignOrderIds.has(change.orderId)), []);
    assert.deepEqual([...new Set(partner.status.received.flatMap((change) => change.order?.lines.map((line) => line.location.id) ?? []))], ['DC-01']);
  });

  it('is delivered discrepancies, holds and sync failures of DC-01 only', { timeout: 120_000 }, async () => {
    interface Raised { discrepancy: { stockLevel: { sku: string; locationId: string } } }
    interface HoldChange { status: string; hold: { stockLevel: { sku: string; locationId: string } } }
    interface SyncFailure { syncTransaction: { transactionId: string; stockLevel: { locationId: string } } }
    const RAISED = 'subscription { discrepancyRaised(after: "0-0") { discrepancy { stockLevel { sku locationId } } } }';
    const HOLDS = 'subscription { holdChanged(after: "0-0") { status hold { stockLevel { sku locationId } } } }';
    const FAILURES = 'subscription { syncFailed(after: "0-0") { syncTransaction { transactionId stockLevel { locationId } } } }';
    const partner = {
      raised: subscription<Raised>('partner', RAISED, 'discrepancyRaised'),
      holds: subscription<HoldChange>('partner', HOLDS, 'holdChanged'),
      failures: subscription<SyncFailure>('partner', FAILURES, 'syncFailed'),
    };
    const operator = {
      raised: subscription<Raised>('operator', RAISED, 'discrepancyRaised'),
      holds: subscription<HoldChange>('operator', HOLDS, 'holdChanged'),
      failures: subscription<SyncFailure>('operator', FAILURES, 'syncFailed'),
    };
    const reconcile = async (locationIds: string[]) => {
      const started = await asOperator('mutation ($ids: [ID!]) { startReconciliation(input: { locationIds: $ids }) { id } }', { ids: locationIds });
      assert.equal(started.errors, undefined, JSON.stringify(started.errors));
      await eventually(async () => (await asOperator('query ($id: ID!) { reconciliationRun(id: $id) { finishedAt } }', { id: started.data.startReconciliation.id })).data.reconciliationRun,
        (run) => run?.finishedAt != null, { what: 'the run finished' });
    };

    // When a run finds a variance over the alert threshold at both locations, a later one a new one at DC-01 (the marker), and a receipt at each location fails to sync
    const [sku, marker] = [newSku(), newSku()];
    await givenStock(database.db, sku, { 'DC-01': 100, 'DC-02': 100 });
    await givenPositions(database.db, [{ sku, locationId: 'DC-01', wms: 100, erp: 20 }, { sku, locationId: 'DC-02', wms: 100, erp: 20 }]);
    await reconcile(['DC-01', 'DC-02']);
    await givenStock(database.db, marker, { 'DC-01': 100 });
    await givenPositions(database.db, [{ sku: marker, locationId: 'DC-01', wms: 100, erp: 20 }]);
    await reconcile(['DC-01']);
    const failed = (event: Record<string, unknown>) => (failures: readonly SyncFailure[]) =>
      failures.some((failure) => failure.syncTransaction.transactionId === `WAREHOUSE_EVENT:acme-wms:${event.event_id}`);
    const there = receipt(sku, 'DC-02');
    await warehouse([there]);
    await operator.failures.until(failed(there));
    // Its failure is in the stream now: the next one, at DC-01, is the marker.
    const here = receipt(sku, 'DC-01');
    await warehouse([here]);
    const failedLast = failed(here);

    // Then each has been delivered up to the marker, the partner what is at DC-01 only
    const ofMarker = (events: readonly (Raised | HoldChange)[]) => events.some((event) => ('discrepancy' in event ? event.discrepancy : event.hold).stockLevel.sku === marker);
    await Promise.all([partner.raised.until(ofMarker), operator.raised.until(ofMarker), partner.holds.until(ofMarker), operator.holds.until(ofMarker),
      partner.failures.until(failedLast), operator.failures.until(failedLast)]);

    const locationsOf = (events: readonly { stockLevel: { locationId: string } }[]) => [...new Set(events.map((event) => event.stockLevel.locationId))].sort();
    assert.deepEqual(locationsOf(operator.raised.received.map((event) => event.discrepancy)), ['DC-01', 'DC-02']);
    assert.deepEqual(locationsOf(partner.raised.received.map((event) => event.discrepancy)), ['DC-01']);
    assert.ok(partner.raised.received.some((event) => event.discrepancy.stockLevel.sku === sku), "the run's variance at DC-01");
    assert.deepEqual(locationsOf(operator.holds.received.map((event) => event.hold)), ['DC-01', 'DC-02']);
    assert.deepEqual(locationsOf(partner.holds.received.map((event) => event.hold)), ['DC-01']);
    assert.deepEqual(locationsOf(operator.failures.received.map((failure) => failure.syncTransaction)), ['DC-01', 'DC-02']);
    assert.deepEqual(locationsOf(partner.failures.received.map((failure) => failure.syncTransaction)), ['DC-01']);
  });

  it('answers its reconciliation queries and mutations about DC-01 only, and changes nothing at DC-02', { timeout: 120_000 }, async () => {
    // Given a run over both locations that found an ALERT variance (a hold) and a REVIEW one (a task) at each, and a failed sync at each
    const [alerting, reviewed] = [newSku(), newSku()];
    await givenStock(database.db, alerting, { 'DC-01': 100, 'DC-02': 100 });
    await givenStock(database.db, reviewed, { 'DC-01': 100, 'DC-02': 100 });
    await givenPositions(database.db, ['DC-01', 'DC-02'].flatMap((locationId) => [
      { sku: alerting, locationId, wms: 100, erp: 20 },
      { sku: reviewed, locationId, wms: 100, erp: 80 },
    ]));
    const started = await asOperator('mutation { startReconciliation(input: { locationIds: ["DC-01", "DC-02"] }) { id } }');
    assert.equal(started.errors, undefined, JSON.stringify(started.errors));
    const bothRun = started.data.startReconciliation.id as string;
    await eventually(async () => (await asOperator('query ($id: ID!) { reconciliationRun(id: $id) { finishedAt } }', { id: bothRun })).data.reconciliationRun,
      (run) => run?.finishedAt != null, { what: 'the run finished' });
    await warehouse([receipt(reviewed, 'DC-01'), receipt(reviewed, 'DC-02')]);
    const LISTS = `{
      discrepancies(first: 500) { nodes { id stockLevel { sku locationId } } }
      reviewTasks(first: 500) { nodes { id stockLevel { sku locationId } } }
      alerts(first: 500) { nodes { id stockLevel { sku locationId } } }
      holds(first: 500) { nodes { id stockLevel { sku locationId } } }
      syncTransactions(filter: { status: [SYNC_FAILED] }, first: 500) { nodes { id stockLevel { sku locationId } } }
      reconciliationRuns(first: 500) { nodes { id } }
    }`;
    type Row = { id: string; stockLevel: { sku: string; locationId: string } };
    const lists = async (ask: typeof asOperator) => {
      const { data, errors } = await ask(LISTS);
      assert.equal(errors, undefined, JSON.stringify(errors));
      const ours = (nodes: Row[]) => nodes.filter((node) => [alerting, reviewed].includes(node.stockLevel.sku));
      return {
        discrepancies: ours(data.discrepancies.nodes), tasks: ours(data.reviewTasks.nodes), alerts: ours(data.alerts.nodes), holds: ours(data.holds.nodes),
        failed: ours(data.syncTransactions.nodes), runs: data.reconciliationRuns.nodes.map((run: { id: string }) => run.id) as string[],
      };
    };
    // The receipts' stock changes reach reconciliation as events, which may raise records after the
    // failures: the partner's lists are compared with the operator's read on either side of them.
    const { operator, partner } = await eventually(async () => {
      const [before, partner, after] = [await lists(asOperator), await lists(asPartner), await lists(asOperator)];
      return { operator: before, partner, settled: JSON.stringify(before) === JSON.stringify(after) };
    }, (seen) => seen.operator.failed.length === 2 && seen.settled, { what: 'both receipts SYNC_FAILED, and no record raised while the partner read' });
    const at = (locationId: string, rows: Row[]) => rows.filter((row) => row.stockLevel.locationId === locationId).map((row) => row.id).sort();
    const records = { discrepancies: operator.discrepancies, tasks: operator.tasks, alerts: operator.alerts, holds: operator.holds, failed: operator.failed };
    for (const [name, rows] of Object.entries(records)) assert.ok(at('DC-01', rows).length > 0 && at('DC-02', rows).length > 0, `the operator sees ${name} at both locations`);
    const foreign = Object.fromEntries(Object.entries(records).map(([name, rows]) => [name, at('DC-02', rows)[0]!])) as Record<keyof typeof records, string>;

    // Then the partner's lists hold DC-01's rows, every one, and no run that compared DC-02
    for (const [name, rows] of Object.entries(records)) assert.deepEqual(partner[name as keyof typeof records].map((row) => row.id).sort(), at('DC-01', rows), `${name}: DC-01's, every one`);
    assert.ok(operator.runs.includes(bothRun));
    assert.ok(!partner.runs.includes(bothRun), 'a run that compared DC-02 too is not shown');

    // And asked by id, DC-02's are unknown, the run too; the backlog counts DC-01 only; an item's discrepancies and holds are DC-01's
    const byId = await asPartner(`query ($d: ID!, $t: ID!, $a: ID!, $h: ID!, $s: ID!, $r: ID!) {
      discrepancy(id: $d) { id } reviewTask(id: $t) { id } alert(id: $a) { id } hold(id: $h) { id } syncTransaction(id: $s) { id } reconciliationRun(id: $r) { id }
      syncBacklog { failed } }`, { d: foreign.discrepancies, t: foreign.tasks, a: foreign.alerts, h: foreign.holds, s: foreign.failed, r: bothRun });
    assert.equal(byId.errors, undefined, JSON.stringify(byId.errors));
    const { syncBacklog, ...lookedUp } = byId.data;
    assert.deepEqual(lookedUp, { discrepancy: null, reviewTask: null, alert: null, hold: null, syncTransaction: null, reconciliationRun: null });
    const [counted] = await database.db.query<{ failed: number }>(`SELECT count(*)::int AS failed FROM sync_transaction WHERE status = 'SYNC_FAILED' AND location_id = 'DC-01'`);
    assert.equal(syncBacklog.failed, counted!.failed);
    const item = await asPartner('query ($sku: ID!) { item(sku: $sku) { discrepancies { stockLevel { locationId } } holds { stockLevel { locationId } } } }', { sku: alerting });
    assert.deepEqual([...new Set([...item.data.item.discrepancies, ...item.data.item.holds].map((row: Row) => row.stockLevel.locationId))], ['DC-01']);

    // And it cannot act on DC-02's: each answers as for an unknown id (or FORBIDDEN, naming DC-02), and nothing changes
    const refusals = [];
    for (const [query, variables] of [
      ['mutation ($id: ID!) { approveAdjustment(taskId: $id) { id } }', { id: foreign.tasks }],
      ['mutation ($id: ID!) { rejectAdjustment(taskId: $id) { id } }', { id: foreign.tasks }],
      ['mutation ($id: ID!) { assignTask(taskId: $id, assignee: "someone") { id } }', { id: foreign.tasks }],
      ['mutation ($id: ID!) { acknowledgeAlert(alertId: $id) { id } }', { id: foreign.alerts }],
      ['mutation ($id: ID!) { resolveAlert(alertId: $id) { id } }', { id: foreign.alerts }],
      ['mutation ($id: ID!) { releaseHold(holdId: $id) { id } }', { id: foreign.holds }],
      ['mutation ($ids: [ID!]!) { redriveSyncTransactions(ids: $ids) { id } }', { ids: [foreign.failed] }],
      ['mutation { startReconciliation { id } }', {}],
      ['mutation { startReconciliation(input: { locationIds: ["DC-01", "DC-02"] }) { id } }', {}],
    ] as const) refusals.push(await asPartner(query, variables));
    assert.deepEqual(refusals.map(codeOf), ['TASK_NOT_FOUND', 'TASK_NOT_FOUND', 'TASK_NOT_FOUND', 'ALERT_NOT_FOUND', 'ALERT_NOT_FOUND', 'HOLD_NOT_FOUND', 'SYNC_TRANSACTION_NOT_FOUND', 'FORBIDDEN', 'FORBIDDEN']);
    assert.deepEqual(refusals.at(-1)!.errors![0]!.extensions!.locationIds, ['DC-02']);
    const unchanged = await asOperator(`query ($t: ID!, $a: ID!, $h: ID!, $s: ID!) {
      reviewTask(id: $t) { status assignee } alert(id: $a) { status } hold(id: $h) { status } syncTransaction(id: $s) { status } }`,
    { t: foreign.tasks, a: foreign.alerts, h: foreign.holds, s: foreign.failed });
    assert.deepEqual(unchanged.data, { reviewTask: { status: 'OPEN', assignee: null }, alert: { status: 'OPEN' }, hold: { status: 'ACTIVE' }, syncTransaction: { status: 'SYNC_FAILED' } });
    assert.deepEqual((await lists(asOperator)).runs, operator.runs, 'no run started');

    // And a run over its own location is its to start, and to see
    const own = await asPartner('mutation { startReconciliation(input: { locationIds: ["DC-01"] }) { id } }');
    assert.equal(own.errors, undefined, JSON.stringify(own.errors));
    await eventually(async () => (await asPartner('query ($id: ID!) { reconciliationRun(id: $id) { finishedAt } }', { id: own.data.startReconciliation.id })).data.reconciliationRun,
      (run) => run?.finishedAt != null, { what: "the partner's run finished" });
  });
});
