import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildSchema, getOperationAST, parse } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { readGatewayConfig } from '../../gateway/config.ts';
import { openGatewayEdge } from '../../gateway/edge/gatewayEdge.ts';
import { startGateway } from '../../gateway/gateway.ts';
import { SUPERGRAPH_PATH } from '../../gateway/supergraph/composeSupergraph.ts';
import { SubscriptionHub, type SubscriptionResult } from '../../gateway/subscriptions/subscriptionHub.ts';
import { EVENT_IDS_VARIABLE, planSubscription } from '../../gateway/subscriptions/subscriptionPlan.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { STREAMS } from '../../platform/contracts/events.ts';
import { startSubgraphServer } from '../../platform/graphql/subgraphServer.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectRedis, Redis } from '../../platform/redis.ts';
import { DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import { inventorySubgraph } from '../../subgraphs/inventory/inventorySubgraph.ts';
import { ordersSubgraph } from '../../subgraphs/orders/ordersSubgraph.ts';
import { reconciliationSubgraph } from '../../subgraphs/reconciliation/reconciliationSubgraph.ts';
import { seedDemoOrders } from '../../system/demoOrders.ts';
import { useCleanup } from '../support/cleanup.ts';
import { capturedLogLines } from '../support/collectingLogger.ts';
import { eventually } from '../support/eventually.ts';
import { assertGapFreeInOrder, recordedStockChanges } from '../support/stockChanges.ts';
import { graphql } from '../support/graphql.ts';
import { createTestDatabase, REDIS_URL, redisNamespace, type TestDatabase } from '../support/services.ts';
import { startRecordingProxy } from '../support/recordingProxy.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';
import { OPERATOR, testClients } from '../support/gatewayClients.ts';
import { testSubgraphServing, TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';

const MAX_SUBSCRIPTIONS_PER_CONNECTION = 5;
/** A client granted DC-01 alone. */
const PARTNER = { ...OPERATOR, name: 'partner', locations: ['DC-01'] };
const INTERNAL_API_TOKEN = 'subscriptions-test-internal-token';
const INVENTORY_ENV = { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', INTERNAL_API_TOKEN };
const silent = createLogger('silent');

// SKU-00001 (DEMO_SKU, with open orders) and SKU-00002 take receipts in EA without a lot; ATL1 is DC-01.
const receipt = (sku: 'ACME-00001' | 'ACME-00002', qty = 1) => acmeEvent({ item_code: sku, site: 'ATL1', qty });

interface Change {
  cursor: string;
  sku: string;
  locationId: string;
  sequence: number;
  cause: { type: string };
  after: { onHandWms: number; available: number };
}

const STOCK_CHANGED = `
  subscription ($skus: [ID!], $after: String) {
    stockChanged(skus: $skus, locationIds: ["DC-01"], after: $after) {
      cursor sku locationId sequence cause { type } after { onHandWms available }
    }
  }`;

/** Results of one subscription as they arrive, and a way to wait for them. */
function collect<T>(client: Client, query: string, variables: Record<string, unknown>, field: string) {
  const received: T[] = [];
  /** GraphQL errors (with `extensions.code`), or the close event that ended the connection (with `code`). */
  const errors: any[] = [];
  const waiters = new Set<() => void>();
  const settle = () => waiters.forEach((waiter) => waiter());
  const unsubscribe = client.subscribe<Record<string, T>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) received.push(result.data[field]!);
        settle();
      },
      error: (error) => (errors.push(...(Array.isArray(error) ? error : [error])), settle()),
      complete: () => {},
    },
  );
  /** Resolves once `done` holds for what has arrived (or an error has); fails after a while, saying it waited for `what`. */
  const when = (done: (received: readonly T[]) => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => (waiters.delete(check), reject(new Error(`${received.length} results and still not ${what} after ${timeoutMs} ms`))), timeoutMs);
      const check = () => {
        if (!done(received) && errors.length === 0) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });
  return {
    received,
    errors,
    unsubscribe,
    when,
    /** Resolves once `count` results (or an error) have arrived; fails after a while. */
    until: (count: number, timeoutMs = 15_000) => when((results) => results.length >= count, `${count} results`, timeoutMs),
  };
}

describe('subscriptions through the gateway over graphql-ws, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let redis: Redis;
  const namespace = redisNamespace('subscriptions');
  const clients = testClients([OPERATOR, PARTNER]);
  const { keyPrefix } = namespace;
  /** The name the gateways' Redis connections go by, so that they can be counted. */
  const gatewayConnectionName = `stockgraph-test-gateway-${process.pid}`;
  /** What the gateways log: a lookup that fails is retried, and says so. */
  const gatewayLog = capturedLogLines();
  let supergraphPath: string;
  /** Two inventory replicas: the gateways query the first; events may come in through either. */
  let inventories: RunningService[];
  let inventoryPort: number;
  let others: RunningService[];
  let gateways: RunningService[];

  const startInventory = (port = 0) =>
    startSubgraphServer(inventorySubgraph({ infrastructure, env: INVENTORY_ENV, logger: silent }), { ...testSubgraphServing, port });

  /** A gateway over the test's subgraphs; `inventoryUrl` replaces the inventory replica it queries. */
  const startTestGateway = async ({ inventoryUrl = `http://127.0.0.1:${inventoryPort}` } = {}) => {
    const connection = new Redis(REDIS_URL, { keyPrefix, connectionName: gatewayConnectionName });
    const bus = new RedisEventBus(connection, { blockMs: 200 });
    const gateway = await startGateway({
      host: '127.0.0.1',
      port: 0,
      supergraphPath,
      supergraphPollIntervalMs: 100,
      subgraphUrls: {
        inventory: `${inventoryUrl}/graphql`,
        orders: `${others[0]!.url}/graphql`,
        reconciliation: `${others[1]!.url}/graphql`,
      },
      bus,
      edge: await openGatewayEdge(readGatewayConfig(clients.env, { allowEmbedded: true }).edge, { redis: null, logger: silent }),
      identitySecret: TEST_IDENTITY_SECRET,
      subscriptions: { maxPerConnection: MAX_SUBSCRIPTIONS_PER_CONNECTION, maxBufferedEvents: 1_000, lookupRetryMs: 20_000 },
      logger: gatewayLog.logger,
    });
    return { ...gateway, stop: async () => (await gateway.stop(), await bus.close(), connection.disconnect()) };
  };

  const connect = (gateway: RunningService, authorization: string | null = `Bearer ${clients.key(OPERATOR.name)}`) => {
    const client = createClient({
      url: `${gateway.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: authorization ? { authorization } : {},
      retryAttempts: 0,
    });
    cleanup(() => client.dispose());
    return client;
  };

  /** Posts receipts to an inventory replica; returns once they are applied (published shortly after). */
  const receive = async (events: Record<string, unknown>[], through = inventories[1]!) => {
    const { status, body } = await postEvents(through.url, 'acme-wms', events);
    assert.equal(status, 200, JSON.stringify(body));
  };

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 20 });
    redis = connectRedis(REDIS_URL);
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: namespace.eventBus });
    supergraphPath = join(mkdtempSync(join(tmpdir(), 'stockgraph-supergraph-')), 'supergraph.graphql');
    copyFileSync(SUPERGRAPH_PATH, supergraphPath);
    inventories = [await startInventory(), await startInventory()];
    inventoryPort = Number(new URL(inventories[0]!.url).port);
    const serve = testSubgraphServing;
    others = [
      await startSubgraphServer(ordersSubgraph({ infrastructure, env: { INTERNAL_API_TOKEN, INVENTORY_API_URL: inventories[0]!.url }, logger: silent }), serve),
      await startSubgraphServer(reconciliationSubgraph({ infrastructure, env: {}, logger: silent }), serve),
    ];
    gateways = [await startTestGateway(), await startTestGateway()];
    await seedDemoOrders({ gatewayUrl: gateways[0]!.url, headers: { authorization: `Bearer ${clients.key(OPERATOR.name)}` }, db: database.db, logger: silent, count: 12, skuCount: 20 });
  });

  after(async () => {
    for (const service of [...(gateways ?? []), ...(inventories ?? []), ...(others ?? [])]) await service.stop();
    await infrastructure?.close();
    await namespace.clear();
    clients.remove();
    redis?.disconnect();
    await database?.drop();
  });

  /** The newest cursor of the stock-change stream: subscribing after it misses nothing that follows. */
  const streamHead = async () => (await redis.xrevrange(`${keyPrefix}${STREAMS.stockChanges}`, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const asKeyHolder = { authorization: `Bearer ${clients.key(OPERATOR.name)}` };
  const lookupRetries = () => gatewayLog.lines.filter((line) => line.includes('subscription lookup failed; retrying')).length;

  /**
   * Live subscribers receive what is published once they are in place: pokes `subscribers` with
   * `change`s of `sku` at DC-01 until each has received one, then sends one more as a marker and
   * waits until each has received it, so that no poke is still on its way.
   */
  const untilLive = async (subscribers: ReturnType<typeof collect<{ sku: string; sequence: number }>>[], sku: string, change: () => Record<string, unknown>) => {
    // No event says a subscription is in place: poked until each has heard one.
    await eventually(async () => (await receive([change()]), subscribers), (all) => all.every((subscriber) => subscriber.received.length > 0), {
      intervalMs: 100, what: 'every live subscriber hearing a poke',
    });
    await receive([change()]);
    const marker = (await recordedStockChanges(database.db, sku)).filter((recorded) => recorded.locationId === 'DC-01').at(-1)!;
    await Promise.all(subscribers.map((subscriber) => subscriber.when((received) => received.some((change) => change.sku === sku && change.sequence === marker.sequence), 'the marker')));
  };

  /**
   * Posts one more change of each of `skus` at DC-01, as markers; resolves to a wait for a
   * subscriber to have received the markers of the SKUs it watches: a subscriber receives in
   * stream order, so whatever was on its way to it before them has arrived by then.
   */
  const postMarkers = async (skus: readonly string[]) => {
    await receive(skus.map((sku) => acmeEvent({ item_code: sku.replace('SKU', 'ACME'), site: 'ATL1', qty: 1 })));
    const markers = await Promise.all(skus.map(async (sku) => (await recordedStockChanges(database.db, sku)).filter((change) => change.locationId === 'DC-01').at(-1)!));
    return (subscriber: ReturnType<typeof collect<{ sku: string; sequence: number }>>, watched: readonly string[]) =>
      subscriber.when(
        (received) => markers.every((marker) => !watched.includes(marker.sku) || received.some((change) => change.sku === marker.sku && change.sequence === marker.sequence)),
        `the markers of ${watched.join(', ')}`,
      );
  };

  it('delivers every change to the subscribers of every gateway, once, in order, with fields of other subgraphs', async () => {
    const federated = `
      subscription ($skus: [ID!], $after: String) {
        change: stockChanged(skus: $skus, after: $after) {
          cursor sequence sku
          item { sku openOrders { id status } }
          stockLevel { reconciliation { tier } }
        }
      }`;
    const after = await streamHead();
    const subscribers = gateways.flatMap((gateway) => {
      const client = connect(gateway);
      return [
        collect<Change>(client, STOCK_CHANGED, { skus: [DEMO_SKU, 'SKU-00002'], after }, 'stockChanged'),
        collect<Change>(client, STOCK_CHANGED, { skus: ['SKU-00002'], after }, 'stockChanged'),
        collect<any>(client, federated, { skus: [DEMO_SKU], after }, 'change'),
      ];
    });
    const live = gateways.map((gateway) => collect<Change>(connect(gateway), STOCK_CHANGED, { skus: ['SKU-00007'] }, 'stockChanged'));
    await untilLive(live, 'SKU-00007', () => acmeEvent({ item_code: 'ACME-00007', site: 'ATL1', qty: 1 }));
    const liveBefore = live.map((subscriber) => subscriber.received.length);

    await receive([...Array.from({ length: 12 }, () => receipt('ACME-00001')), ...Array.from({ length: 8 }, () => receipt('ACME-00002'))]);
    await receive(Array.from({ length: 5 }, () => receipt('ACME-00001', 2)), inventories[0]);
    await receive(Array.from({ length: 3 }, () => acmeEvent({ item_code: 'ACME-00007', site: 'ATL1', qty: 1 })));

    // and a marker of each SKU after them, so that nothing more is on its way
    const markedOff = await postMarkers([DEMO_SKU, 'SKU-00002', 'SKU-00007']);
    const watched = [[DEMO_SKU, 'SKU-00002'], ['SKU-00002'], [DEMO_SKU]];
    await Promise.all(subscribers.map((subscriber, index) => markedOff(subscriber, watched[index % 3]!)));
    await Promise.all(live.map((subscriber) => markedOff(subscriber, ['SKU-00007'])));
    const expected = [17 + 8 + 2, 8 + 1, 17 + 1];
    const { data } = await graphql(gateways[0]!.url, `{ item(sku: "${DEMO_SKU}") { openOrders { id status } } }`, {}, asKeyHolder);
    for (const [index, subscriber] of subscribers.entries()) {
      assert.deepEqual(subscriber.errors, []);
      assert.equal(subscriber.received.length, expected[index % 3], 'every change once');
      assertGapFreeInOrder(subscriber.received as Change[]);
      assert.ok(subscriber.received.every((change) => /^\d+-\d+$/.test(change.cursor)), 'each change carries its stream cursor');
    }
    for (const [index, subscriber] of live.entries()) {
      assert.deepEqual(subscriber.errors, []);
      assert.equal(subscriber.received.length, liveBefore[index]! + 3 + 1);
      assertGapFreeInOrder(subscriber.received);
    }
    const federatedChange = subscribers[2]!.received[0];
    assert.ok(federatedChange.item.openOrders.length > 0);
    assert.deepEqual(federatedChange.item.openOrders, data.item.openOrders, 'openOrders resolved by the orders subgraph');
    assert.ok('tier' in federatedChange.stockLevel.reconciliation, 'reconciliation resolved by its subgraph');
    assert.deepEqual(subscribers[0]!.received, subscribers[3]!.received, 'both gateways delivered the same changes in the same order');
  });

  it('resumes after a disconnect from the last cursor: what was missed first, then live, nothing twice', async () => {
    const first = collect<Change>(connect(gateways[0]!), STOCK_CHANGED, { skus: ['SKU-00002'], after: await streamHead() }, 'stockChanged');
    await receive(Array.from({ length: 5 }, () => receipt('ACME-00002')));
    await first.until(5);
    first.unsubscribe();
    const lastCursor = first.received.at(-1)!.cursor;

    await receive(Array.from({ length: 10 }, () => receipt('ACME-00002')));
    // Resume on the other gateway: cursors are the stream's, valid on every replica.
    const resumed = collect<Change>(connect(gateways[1]!), STOCK_CHANGED, { skus: ['SKU-00002'], after: lastCursor }, 'stockChanged');
    await resumed.until(10);
    await receive(Array.from({ length: 4 }, () => receipt('ACME-00002')));
    await (await postMarkers(['SKU-00002']))(resumed, ['SKU-00002']);

    assert.deepEqual(resumed.errors, []);
    assert.equal(resumed.received.length, 14 + 1);
    assertGapFreeInOrder([...first.received, ...resumed.received]);
  });

  it("never delivers a relay's repeats: a batch published again after a crash reaches no subscriber twice, live, resumed or on a gateway that started between the copies", async () => {
    const stream = `${keyPrefix}${STREAMS.stockChanges}`;
    const head = await streamHead();
    const live = collect<Change>(connect(gateways[0]!), STOCK_CHANGED, { skus: ['SKU-00011'], after: head }, 'stockChanged');
    await receive(Array.from({ length: 6 }, () => acmeEvent({ item_code: 'ACME-00011', site: 'ATL1', qty: 1 })));
    await live.until(6);
    // A gateway that starts now remembers the stream's latest events, the first copies among them.
    const lateGateway = await startTestGateway();
    cleanup(() => lateGateway.stop());
    const joinedLate = collect<Change>(connect(lateGateway), STOCK_CHANGED, { skus: ['SKU-00011', 'SKU-00012'] }, 'stockChanged');
    // Live subscribers receive what is published once they are in place: poke with another SKU until then.
    await eventually(async () => (await receive([acmeEvent({ item_code: 'ACME-00012', site: 'ATL1', qty: 1 })]), joinedLate.received.length), (heard) => heard > 0, {
      intervalMs: 100, what: 'the late gateway delivering a poke',
    });
    // Pokes may still be on their way: the late gateway's deliveries are counted by SKU-00011's changes.
    const lateChangesOf11 = (count: number) => joinedLate.when((received) => received.filter((change) => change.sku === 'SKU-00011').length >= count, `${count} changes of SKU-00011`);

    // Given the relay's crash between publishing and marking: the same records, published again right after.
    const firstCopies = await redis.xrange(stream, `(${head}`, '+');
    const pipeline = redis.pipeline();
    for (const [, fields] of firstCopies) pipeline.xadd(stream, '*', ...fields);
    await pipeline.exec();
    // When one more change follows, as a marker that everything before it has been dispatched
    await receive([acmeEvent({ item_code: 'ACME-00011', site: 'ATL1', qty: 1 })]);
    await live.until(7);
    const resumed = collect<Change>(connect(gateways[1]!), STOCK_CHANGED, { skus: ['SKU-00011'], after: live.received[2]!.cursor }, 'stockChanged');
    await resumed.until(4);
    await lateChangesOf11(1);
    const marker = live.received[6]!;
    await receive([acmeEvent({ item_code: 'ACME-00011', site: 'ATL1', qty: 1 })]);
    await Promise.all([live.until(8), resumed.until(5), lateChangesOf11(2)]);

    // Then each change arrived once, in order, wherever it was subscribed to
    for (const subscriber of [live, resumed, joinedLate]) assert.deepEqual(subscriber.errors, []);
    assert.equal(live.received.length, 8);
    assertGapFreeInOrder(live.received);
    assert.deepEqual(resumed.received.map((change) => change.sequence), live.received.slice(3).map((change) => change.sequence));
    const lateChanges = joinedLate.received.filter((change) => change.sku === 'SKU-00011');
    assert.deepEqual(lateChanges.map((change) => change.sequence), [marker.sequence, marker.sequence + 1], 'the late gateway delivered none of the repeats');
  });

  it('fires availabilityChanged only when available crosses the threshold', async () => {
    const { data } = await graphql(gateways[0]!.url, `{ stockLevel(sku: "SKU-00005", locationId: "DC-01") { available } }`, {}, asKeyHolder);
    const start = data.stockLevel.available as number;
    const crossings = collect<Change>(
      connect(gateways[0]!),
      `subscription ($below: Int!, $after: String) {
        availabilityChanged(skus: ["SKU-00005"], locationIds: ["DC-01"], below: $below, after: $after) { sequence after { available } }
      }`,
      { below: start + 10, after: await streamHead() },
      'availabilityChanged',
    );
    // start -> +4 -> +8 (still below) -> +12 (crosses) -> +16 (stays above) -> +8 (crosses back, the marker)
    await receive([4, 4, 4, 4].map((qty) => acmeEvent({ item_code: 'ACME-00005', site: 'ATL1', qty })));
    await receive([acmeEvent({ item_code: 'ACME-00005', site: 'ATL1', txn_type: 'ADJ', qty: -8 })]);
    // Delivered in stream order: by the marker's crossing, any for the changes before it has arrived.
    await crossings.until(2);

    assert.deepEqual(crossings.received.map((change) => change.after.available), [start + 12, start + 8]);
  });

  it('refuses a malformed cursor, and tells a client whose cursor has expired to re-query', async () => {
    const client = connect(gateways[0]!);
    const malformed = collect<Change>(client, STOCK_CHANGED, { after: 'yesterday' }, 'stockChanged');
    await malformed.until(1);
    assert.equal(malformed.errors[0].extensions.code, 'BAD_CURSOR');

    const earlier = collect<Change>(client, STOCK_CHANGED, { skus: ['SKU-00002'], after: await streamHead() }, 'stockChanged');
    await receive([receipt('ACME-00002'), receipt('ACME-00002')]);
    await earlier.until(2);
    await redis.xtrim(`${keyPrefix}${STREAMS.stockChanges}`, 'MAXLEN', 0);
    await receive([receipt('ACME-00002')]);

    const expired = collect<Change>(client, STOCK_CHANGED, { after: earlier.received[0]!.cursor }, 'stockChanged');
    await expired.until(1);
    assert.equal(expired.errors[0].extensions.code, 'CURSOR_EXPIRED');
    assert.match(expired.errors[0].message, /query the current state/);
    assert.deepEqual(expired.received, []);
  });

  it('authenticates connection_init with the same keys as HTTP, and checks scopes when a subscription starts', async () => {
    const http = await fetch(`${gateways[0]!.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"query":"{ item(sku: \\"${DEMO_SKU}\\") { sku } }"}` });
    assert.equal(http.status, 401);
    assert.equal(((await http.json()) as any).errors[0].extensions.code, 'UNAUTHENTICATED');

    const refused = collect<Change>(connect(gateways[0]!, 'Bearer wrong-key'), STOCK_CHANGED, {}, 'stockChanged');
    await refused.until(1);
    assert.equal(refused.errors[0].code, 4403, 'a wrong key is refused with 4403 Forbidden');

    // No credentials: an anonymous connection, granted no scope here, so its subscription is refused when it starts.
    const anonymous = connect(gateways[0]!, null).iterate({ query: STOCK_CHANGED, variables: {} });
    await assert.rejects(anonymous.next(), (errors: { extensions?: { code?: string } }[]) => errors[0]?.extensions?.code === 'UNAUTHENTICATED');
  });

  it('answers queries and mutations sent over the socket as the gateway answers them over HTTP', async () => {
    const client = connect(gateways[0]!);
    const query = `{ item(sku: "${DEMO_SKU}") { sku openOrders { id } } }`;
    const overSocket = await client.iterate({ query }).next();
    const overHttp = await graphql(gateways[0]!.url, query, {}, asKeyHolder);
    assert.deepEqual(overSocket.value, overHttp);

    const refused = await client.iterate({ query: '{ availability(skus: ["NOPE-1"]) { asOf } }' }).next();
    assert.equal((refused.value as any).errors[0].extensions.code, 'UNKNOWN_SKU');
  });

  it('limits subscriptions per connection, and refuses subscriptions over HTTP', async () => {
    const client = connect(gateways[0]!);
    const held = Array.from({ length: MAX_SUBSCRIPTIONS_PER_CONNECTION }, () => collect<Change>(client, STOCK_CHANGED, { skus: ['SKU-00002'] }, 'stockChanged'));
    // Each held subscription counts once it is live, which a change it receives proves.
    await untilLive(held, 'SKU-00002', () => receipt('ACME-00002'));
    const oneTooMany = collect<Change>(client, STOCK_CHANGED, {}, 'stockChanged');
    await oneTooMany.until(1);
    assert.equal(oneTooMany.errors[0].extensions.code, 'SUBSCRIPTION_LIMIT');
    const markedOff = await postMarkers(['SKU-00002']);
    await Promise.all(held.map((subscription) => markedOff(subscription, ['SKU-00002'])));
    assert.deepEqual(held.flatMap((subscription) => subscription.errors), [], 'the others carry on');

    const overHttp = await fetch(`${gateways[0]!.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...asKeyHolder },
      body: JSON.stringify({ query: STOCK_CHANGED }),
    });
    assert.equal(overHttp.status, 400);
    assert.match(((await overHttp.json()) as any).errors[0].message, /WebSocket/);
  });

  it('keeps subscriptions through a subgraph restart and a supergraph reload, losing nothing', async () => {
    const subscriber = collect<Change>(connect(gateways[0]!), STOCK_CHANGED, { skus: [DEMO_SKU], after: await streamHead() }, 'stockChanged');
    await receive([receipt('ACME-00001')]);
    await subscriber.until(1);

    // The inventory replica the gateways query goes away; changes keep coming through the other.
    await inventories[0]!.stop();
    const retriesBefore = lookupRetries();
    await receive(Array.from({ length: 6 }, () => receipt('ACME-00001')));
    // The gateways' lookups of them fail against the stopped replica, and are retried.
    await eventually(async () => lookupRetries(), (retries) => retries > retriesBefore, { what: 'a failed lookup retried' });
    inventories[0] = await startInventory(inventoryPort);
    await subscriber.until(7);

    // A deploy writes a new supergraph: the gateway reloads it in place.
    const description = async () =>
      (await graphql(gateways[0]!.url, '{ __type(name: "StockChange") { description } }', {}, asKeyHolder)).data?.__type?.description as string;
    assert.match(await description(), /^One change/);
    writeFileSync(supergraphPath, readFileSync(supergraphPath, 'utf8').replace('One change of the stock of an item', 'A change of the stock of an item'));
    // Nothing announces a reload but the schema it serves.
    await eventually(description, (served) => served.startsWith('A change'), { intervalMs: 100, what: 'the new supergraph served' });
    await receive(Array.from({ length: 3 }, () => receipt('ACME-00001')));
    // and a marker: delivered in stream order, so by then every change before it has arrived, once
    const markedOff = await postMarkers([DEMO_SKU]);
    await markedOff(subscriber, [DEMO_SKU]);

    assert.deepEqual(subscriber.errors, []);
    assert.equal(subscriber.received.length, 11);
    assertGapFreeInOrder(subscriber.received);
  });

  it('serves many concurrent subscribers from one stream read per gateway', async () => {
    const gatewayConnections = async () => ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(`name=${gatewayConnectionName} `)).length;
    const after = await streamHead();
    const subscribers = Array.from({ length: 200 }, (_, index) =>
      collect<Change>(connect(gateways[index % 2]!), STOCK_CHANGED, { skus: ['SKU-00006'], after }, 'stockChanged'),
    );
    await receive(Array.from({ length: 10 }, () => acmeEvent({ item_code: 'ACME-00006', site: 'ATL1', qty: 1 })));
    await Promise.all(subscribers.map((subscriber) => subscriber.until(10)));

    for (const subscriber of subscribers) {
      assert.deepEqual(subscriber.errors, []);
      assert.equal(subscriber.received.length, 10);
      assertGapFreeInOrder(subscriber.received);
    }
    // Per gateway: one publishes; one reads the stream for the subscribers, and two for the entity cache (stock changes, other replicas' announcements).
    assert.equal(await gatewayConnections(), 8, 'four per gateway, none per subscriber');
  });
  it('resolves each change once for all the subscribers that select it alike and are granted alike, each grant its own answer', async () => {
    // Given a gateway that reaches inventory through a proxy which records what it is asked
    const inventory = await startRecordingProxy(inventories[0]!.url);
    cleanup(() => inventory.stop());
    const gateway = await startTestGateway({ inventoryUrl: inventory.url });
    cleanup(() => gateway.stop());
    // and 20 operators and 2 partners granted DC-01, selecting the same fields, some with other arguments
    const selection = `subscription ($skus: [ID!]) { stockChanged(skus: $skus, locationIds: ["DC-01"]) { id sku sequence item { stockLevels { locationId } } } }`;
    type ItemChange = { id: string; sku: string; sequence: number; item: { stockLevels: { locationId: string }[] } };
    const operators = Array.from({ length: 20 }, (_, index) =>
      collect<ItemChange>(connect(gateway), selection, { skus: index % 2 === 0 ? ['SKU-00015'] : ['SKU-00015', 'SKU-00016'] }, 'stockChanged'),
    );
    const partners = Array.from({ length: 2 }, () => collect<ItemChange>(connect(gateway, `Bearer ${clients.key(PARTNER.name)}`), selection, { skus: ['SKU-00015'] }, 'stockChanged'));
    const everyone = [...operators, ...partners];
    const change = () => acmeEvent({ item_code: 'ACME-00015', site: 'ATL1', qty: 1 });
    await untilLive(everyone, 'SKU-00015', change);
    const before = everyone.map((subscriber) => subscriber.received.length);
    inventory.requests.length = 0;

    // When five changes follow
    await receive(Array.from({ length: 5 }, change));
    await Promise.all(everyone.map((subscriber, index) => subscriber.until(before[index]! + 5)));

    // Then each was looked up at inventory twice: once for the operators, once for the partners
    for (const subscriber of everyone) assert.deepEqual(subscriber.errors, []);
    const changes = operators[0]!.received.slice(-5);
    const lookups = inventory.requests.filter((request) => request.query.includes('stockChanges'));
    const timesLookedUp = (id: string) => lookups.filter((request) => (request.variables[EVENT_IDS_VARIABLE] as string[]).includes(id)).length;
    assert.deepEqual(changes.map((change) => timesLookedUp(change.id)), [2, 2, 2, 2, 2]);
    // and each operator received what each other did, each partner what the other did, and not the same
    for (const operator of operators) assert.deepEqual(operator.received.slice(-5), changes);
    assert.deepEqual(partners[0]!.received.slice(-5), partners[1]!.received.slice(-5));
    const locationsSeen = (subscriber: ReturnType<typeof collect<ItemChange>>) => [...new Set(subscriber.received.flatMap((change) => change.item.stockLevels.map((level) => level.locationId)))].sort();
    assert.deepEqual(locationsSeen(partners[0]!), ['DC-01'], 'a partner sees the stock levels of its location only');
    assert.ok(locationsSeen(operators[0]!).length > 1, `an operator sees every location: ${locationsSeen(operators[0]!)}`);
    assert.deepEqual(partners[0]!.received.slice(-5).map((change) => change.id), changes.map((change) => change.id), 'the same changes');
  });

  it("looks up the batches read while a batch's lookup is still being answered, and delivers them after it, in stream order", { timeout: 30_000 }, async () => {
    // Given a hub whose first lookup is answered only once the second has been
    const connection = new Redis(REDIS_URL, { keyPrefix });
    const bus = new RedisEventBus(connection, { blockMs: 200 });
    cleanup(async () => (await bus.close(), connection.disconnect()));
    let lookups = 0;
    let firstAsked!: () => void;
    const firstLookup = new Promise<void>((resolve) => (firstAsked = resolve));
    let secondAnswered!: () => void;
    const secondLookup = new Promise<void>((resolve) => (secondAnswered = resolve));
    const hub = new SubscriptionHub({
      bus,
      executeLookup: async (query, variables) => {
        const lookup = ++lookups;
        if (lookup === 1) (firstAsked(), await secondLookup);
        const result = await graphql(inventories[0]!.url, query, variables);
        if (lookup === 2) secondAnswered();
        return result;
      },
      logger: silent,
      maxBufferedEvents: 1_000,
      lookupRetryMs: 5_000,
    });
    cleanup(() => hub.close());
    // and a live subscriber of SKU-00017 at DC-01
    const schema = buildSchema(readFileSync(SUPERGRAPH_PATH, 'utf8'), { assumeValidSDL: true });
    const document = parse(STOCK_CHANGED);
    const plan = planSubscription(schema, document, getOperationAST(document)!, { skus: ['SKU-00017'] }, null);
    const received: Change[] = [];
    let allReceived!: () => void;
    const fiveReceived = new Promise<void>((resolve) => (allReceived = resolve));
    const sink = {
      send: (results: readonly SubscriptionResult[]) => {
        received.push(...results.map((result) => JSON.parse(result.json).data.stockChanged as Change));
        if (received.length >= 5) allReceived();
        return true;
      },
    };
    await hub.subscribe(plan, sink, () => assert.fail('not a slow consumer'));
    const change = () => acmeEvent({ item_code: 'ACME-00017', site: 'ATL1', qty: 1 });

    // When three changes arrive, and two more once the first three are being looked up
    await receive(Array.from({ length: 3 }, change));
    await firstLookup;
    await receive(Array.from({ length: 2 }, change));

    // Then the later batch was looked up while the first waited (the test's timeout is the deadline),
    // and the subscriber received all five, in order
    await fiveReceived;
    assert.equal(lookups, 2);
    assert.equal(received.length, 5);
    assertGapFreeInOrder(received);
    const recorded = (await recordedStockChanges(database.db, 'SKU-00017')).filter((change) => change.locationId === 'DC-01');
    assert.deepEqual(received.map((change) => change.sequence), recorded.slice(-5).map((change) => change.sequence));
  });

  it('ends a slow consumer rather than letting its unsent results pile up', { timeout: 30_000 }, async () => {
    const connection = new Redis(REDIS_URL, { keyPrefix });
    const bus = new RedisEventBus(connection, { blockMs: 200 });
    cleanup(async () => (await bus.close(), connection.disconnect()));
    const hub = new SubscriptionHub({
      bus,
      // The lookups of subscription events are the gateway's own (gateway:events): straight to inventory, signed as the gateway signs them.
      executeLookup: (query, variables) => graphql(inventories[0]!.url, query, variables),
      logger: silent,
      maxBufferedEvents: 3,
      lookupRetryMs: 5_000,
    });
    cleanup(() => hub.close());
    const schema = buildSchema(readFileSync(SUPERGRAPH_PATH, 'utf8'), { assumeValidSDL: true });
    const document = parse(STOCK_CHANGED);
    const plan = planSubscription(schema, document, getOperationAST(document)!, { skus: ['SKU-00002'], after: await streamHead() }, null);
    // A socket that has taken three results and written none of them out.
    const written: string[] = [];
    const socket = {
      send: (results: readonly SubscriptionResult[]) => {
        const room = 3 - written.length;
        written.push(...results.slice(0, room).map((result) => result.json));
        return results.length <= room;
      },
    };
    let tellSlow!: () => void;
    const toldSlow = new Promise<void>((resolve) => (tellSlow = resolve));
    const life = await hub.subscribe(plan, socket, () => tellSlow());

    await receive(Array.from({ length: 6 }, () => receipt('ACME-00002')));

    // The consumer is told it is too slow (the test's timeout is the deadline)
    await toldSlow;
    assert.equal(hub.subscriberCount, 0, 'and is no longer fed');
    assert.deepEqual(await life.next(), { value: undefined, done: true }, 'its subscription has ended');
    const buffered = written.map((json) => JSON.parse(json).data.stockChanged as Change);
    assertGapFreeInOrder(buffered);
    assert.equal(buffered.length, 3, 'no more than the limit was held for it');
  });
});
