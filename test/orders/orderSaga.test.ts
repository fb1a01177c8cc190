import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { STREAMS, warehouseEventApplied, type PayloadOf } from '../../platform/contracts/events.ts';
import { startSubgraphServer } from '../../platform/graphql/subgraphServer.ts';
import { closeServer, listen, readBody, type RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { ordersSubgraph } from '../../subgraphs/orders/ordersSubgraph.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { graphql } from '../support/graphql.ts';
import { startInventory } from '../support/inventoryService.ts';
import { createTestDatabase, REDIS_URL, redisNamespace, type TestDatabase } from '../support/services.ts';
import { givenStock, stockOf } from '../support/stock.ts';
import { testSubgraphServing, TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';

const TOKEN = 'orders-saga-internal-token';
const silent = createLogger('silent');
let nextSku = 91_000;
const newSku = () => `SKU-${(nextSku += 1)}`;
let nextReference = 0;
const newReference = () => `SAGA-${process.pid}-${(nextReference += 1)}`;

/** What the proxy between orders and inventory does with the next call: pass it on, or let the test act first. */
type Interception = { readonly when: 'before-inventory' | 'after-inventory'; readonly act: () => Promise<void> };

const PLACE = `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }`;

describe('placeOrder across a crash of the orders service, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  const redis = redisNamespace('saga');
  let inventory: RunningService;
  let proxy: Server;
  let proxyUrl: string;
  let intercept: Interception | null = null;

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 5 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    inventory = await startInventory(infrastructure, { INTERNAL_API_TOKEN: TOKEN });
    // Between the orders service and inventory's internal API: the test's hand on the wire.
    proxy = createServer((request, response) => void relay(request, response));
    proxyUrl = await listen(proxy, 0, '127.0.0.1');
  });

  after(async () => {
    if (proxy) await closeServer(proxy);
    await inventory?.stop();
    await infrastructure?.close();
    await redis.clear();
    await database?.drop();
  });

  async function relay(request: IncomingMessage, response: ServerResponse) {
    const body = await readBody(request, 16 * 1024 * 1024);
    const interception = intercept;
    intercept = null;
    if (interception?.when === 'before-inventory') {
      await interception.act();
      return void response.destroy();
    }
    const answer = await fetch(new URL(request.url!, inventory.url), { method: 'POST', headers: { 'content-type': 'application/json', authorization: request.headers.authorization ?? '' }, body: body as Buffer });
    const text = await answer.text();
    if (interception?.when === 'after-inventory') {
      await interception.act();
      return void response.destroy();
    }
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(text);
  }

  /** The orders service in a process of its own, talking to inventory through the proxy. */
  async function startOrdersProcess(): Promise<{ child: ChildProcess; url: string; kill: () => Promise<void> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'subgraphs/orders/main.ts'], {
      env: {
        PATH: process.env.PATH, DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: redis.keyPrefix, ORDERS_PORT: '0', LOG_LEVEL: 'info',
        INTERNAL_API_TOKEN: TOKEN, GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET, INVENTORY_API_URL: proxyUrl,
        // A call to inventory may take its time on a loaded machine: kills, not timeouts, cut the calls here.
        ORDER_STOCK_TIMEOUT_MS: '2000', ORDER_RECOVERY_INTERVAL_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const kill = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    };
    cleanup(kill);
    const url = await new Promise<string>((resolve, reject) => {
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const listening = /"url":"(http:\/\/[^"]+)\/graphql"[^\n]*orders subgraph listening/.exec(output);
        if (listening) resolve(listening[1]!);
      });
      child.once('exit', (code) => reject(new Error(`orders exited with ${code} before listening:\n${output}`)));
    });
    return { child, url, kill };
  }

  const orderRow = (reference: string) => database.db.query<{ id: string; status: string }>('SELECT id, status::text FROM sales_order WHERE reference = $1', [reference]);
  const heldFor = (orderId: string) => database.db.query<{ status: string; allocated: number }>(
    'SELECT h.status::text, coalesce(sum(a.quantity), 0)::int AS allocated FROM order_stock_hold h LEFT JOIN order_allocation a USING (order_id) WHERE h.order_id = $1 GROUP BY h.status', [orderId]);

  for (const [when, what] of [['after-inventory', 'after inventory held the stock, before the order took it'], ['before-inventory', 'before the hold reached inventory']] as const) {
    it(`finishes a placement killed ${what}: the order RESERVED, its stock held once`, async () => {
      // Given an order being placed, and the orders process killed at that step
      const sku = newSku();
      await givenStock(database.db, sku, { 'DC-01': 10 });
      const reference = newReference();
      const first = await startOrdersProcess();
      intercept = { when, act: first.kill };
      const answer = await graphql(first.url, PLACE, { input: { reference, channel: 'WEB', idempotencyKey: reference, lines: [{ sku, quantity: 4, locationId: 'DC-01' }] } }).catch((error: unknown) => error);
      assert.ok(answer instanceof Error, 'the caller got no answer');
      const [stranded] = await orderRow(reference);
      assert.equal(stranded?.status, 'CREATED', 'the order was recorded before its stock was asked for');
      assert.equal((await heldFor(stranded!.id)).length, when === 'after-inventory' ? 1 : 0);

      // When the service starts again
      const second = await startOrdersProcess();

      // Then the recovery sweeper finishes the placement, holding the stock once
      await eventually(() => orderRow(reference), (rows) => rows[0]?.status === 'RESERVED', { what: 'the order RESERVED' });
      assert.deepEqual(await heldFor(stranded!.id), [{ status: 'HELD', allocated: 4 }]);
      assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 6, reserved: 0, allocated: 4 });
      assert.deepEqual(await database.db.query('SELECT id FROM order_stock_command WHERE order_id = $1', [stranded!.id]), []);
      const retried = await graphql(second.url, PLACE, { input: { reference, channel: 'WEB', idempotencyKey: reference, lines: [{ sku, quantity: 4, locationId: 'DC-01' }] } });
      assert.deepEqual(retried.data?.placeOrder, { id: stranded!.id, status: 'RESERVED' }, 'a retry learns the outcome');
      await second.kill();
    });
  }

  it('leaves no order and holds nothing when the stock is gone by the time a killed placement is finished', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 5 });
    const reference = newReference();
    const first = await startOrdersProcess();
    intercept = { when: 'before-inventory', act: first.kill };
    await graphql(first.url, PLACE, { input: { reference, channel: 'WEB', idempotencyKey: reference, lines: [{ sku, quantity: 4, locationId: 'DC-01' }] } }).catch(() => {});
    const [stranded] = await orderRow(reference);
    // Meanwhile a checkout takes the stock
    const taken = await graphql(inventory.url, 'mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }', {
      input: { sku, quantity: 3, locationId: 'DC-01', channel: 'WEB', reference: 'cart', idempotencyKey: `cart-${reference}` },
    });
    assert.equal(taken.errors, undefined);

    const second = await startOrdersProcess();

    await eventually(() => orderRow(reference), (rows) => rows.length === 0, { what: 'the order gone' });
    assert.deepEqual(await heldFor(stranded!.id), [{ status: 'REFUSED', allocated: 0 }]);
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 2, reserved: 3, allocated: 0 });
    await second.kill();
  });

  it('applies every warehouse confirmation once when the orders process is killed mid-stream and started again', async () => {
    // Given a released order of 3,000 units and 3,000 one-unit picks of it on the stream
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 5_000 });
    const reference = newReference();
    const first = await startOrdersProcess();
    const placed = await graphql(first.url, PLACE, { input: { reference, channel: 'WEB', idempotencyKey: reference, lines: [{ sku, quantity: 3_000, locationId: 'DC-01' }] } });
    const orderId = placed.data!.placeOrder.id as string;
    const picks = Array.from({ length: 3_000 }, (_, n): PayloadOf<typeof warehouseEventApplied> => ({
      source: 'acme-wms', eventId: `${reference}-pick-${n}`, sourceSequence: n + 1, type: 'PICK', orderReference: reference, sku, locationId: 'DC-01',
      subinventory: 'STOCK', subinventoryNettable: true, fromSubinventory: null, lot: '', serials: [], quantity: 1,
      occurredAt: new Date().toISOString(), appliedAt: new Date().toISOString(),
    }));
    const confirmations = () => database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM warehouse_confirmation WHERE order_id = $1 AND outcome = 'APPLIED'", [orderId]);

    // When it is killed once it has applied some, and started again
    await infrastructure.bus.publishMany(STREAMS.warehouseConfirmations, picks.map((payload) => ({ type: warehouseEventApplied.type, payload })));
    await eventually(confirmations, ([row]) => row!.n > 0, { intervalMs: 1, what: 'the first picks applied' });
    await first.kill();
    const appliedWhenKilled = (await confirmations())[0]!.n;
    const second = await startOrdersProcess();

    // Then every pick counts once
    await eventually(confirmations, ([row]) => row!.n === 3_000, { what: 'every pick applied' });
    const [line] = await database.db.query<{ picked: number }>('SELECT picked FROM order_line WHERE order_id = $1', [orderId]);
    assert.ok(appliedWhenKilled < 3_000, `killed mid-stream (${appliedWhenKilled} applied)`);
    assert.equal(line!.picked, 3_000, 'no pick applied twice, none lost');
    const [order] = await orderRow(reference);
    assert.equal(order!.status, 'PICKING');
    await second.kill();
  });
});

describe('placeOrder under concurrency, on two replicas of the orders service', () => {
  const cleanup = useCleanup();

  it('never holds more than is available: of 120 one-unit orders on 30 units, exactly 30 are placed', async () => {
    const database = await createTestDatabase();
    cleanup(database.drop);
    await seedDemoData(database.db, { skuCount: 5 });
    const infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 20 }, eventBus: { kind: 'in-process' } });
    cleanup(() => infrastructure.close());
    const inventory = await startInventory(infrastructure, { INTERNAL_API_TOKEN: TOKEN });
    cleanup(() => inventory.stop());
    const serve = testSubgraphServing;
    const env = { INTERNAL_API_TOKEN: TOKEN, INVENTORY_API_URL: inventory.url };
    const replicas = [
      await startSubgraphServer(ordersSubgraph({ infrastructure, env, logger: silent }), serve),
      await startSubgraphServer(ordersSubgraph({ infrastructure, env, logger: silent }), serve),
    ];
    for (const replica of replicas) cleanup(() => replica.stop());
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 20, 'DC-02': 10 });

    const answers = await Promise.all(Array.from({ length: 120 }, (_, n) => graphql(replicas[n % 2]!.url, PLACE, {
      input: { reference: `RACE-${n}`, channel: 'WEB', idempotencyKey: `race-${n}`, lines: [{ sku, quantity: 1 }] },
    })));

    const placed = answers.filter((answer) => answer.data?.placeOrder.status === 'RESERVED');
    const refused = answers.filter((answer) => answer.errors?.[0]?.extensions?.code === 'INSUFFICIENT_STOCK');
    assert.deepEqual([placed.length, refused.length], [30, 90]);
    const [dc1, dc2] = [await stockOf(database.db, sku, 'DC-01'), await stockOf(database.db, sku, 'DC-02')];
    assert.deepEqual([dc1.allocated + dc2.allocated, dc1.available + dc2.available], [30, 0]);
    const [{ orders }] = await database.db.query<{ orders: number }>('SELECT count(*)::int AS orders FROM sales_order WHERE reference LIKE $1', ['RACE-%']) as [{ orders: number }];
    assert.equal(orders, 30, 'no order without its stock');
  });
});
