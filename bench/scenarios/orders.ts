import http from 'node:http';
import { seedDemoData } from '../../prisma/seed.ts';
import { signEventBatch, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../subgraphs/inventory/http/warehouseEventsRoute.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import {
  countOversoldLevels, cpuPerUnit, cpuSnapshot, describeMachine, freshDatabase, gatewayTarget, latencyTable, measureLatencies, postJson, promiseFiguresSummed, recordSection,
  REDIS_URL, startServices, subgraphTarget, type CpuPerUnit, type GraphqlTarget, type LatencyResult, type RunningServices,
} from '../harness.ts';
import { STREAMS } from '../../platform/contracts/events.ts';
import type { Database } from '../../platform/database/database.ts';
import { compareCursors } from '../../platform/events/eventBus.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { connectRedis } from '../../platform/redis.ts';

const CLIENTS = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WARM_UP_SECONDS = 3;
const LINES = 3;
const SKU_COUNT = 5_000;
/** A share of the lines goes to a few hot SKUs, as on a sale day. */
const HOT_SKUS = 20;
const HOT_SHARE = 0.2;
const POSTERS = 4;
const BATCH_EVENTS = 500;
const SECRET = 'bench-acme-wms-secret';
const TARGET_ORDERS_PER_SECOND = 500;
const TARGET_CONFIRMATIONS_PER_SECOND = 5_000;
const PLACE = `mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id reference status lines { item { sku } location { id } quantity } } }`;

// The seed counts SKU-n in EA without lots when n % 10 is 1, 2, 5, 6 or 7: warehouse events in EA name them without a lot.
const SKUS = Array.from({ length: SKU_COUNT }, (_, i) => i + 1).filter((n) => [1, 2, 5, 6, 7].includes(n % 10)).map((n) => `SKU-${String(n).padStart(5, '0')}`);
const HOT = SKUS.slice(0, HOT_SKUS);
const LOCATIONS = Array.from({ length: 12 }, (_, i) => `DC-${String(i + 1).padStart(2, '0')}`);
const SITE_OF = new Map(Object.entries(loadExampleMappings().find((mapping) => mapping.source === 'acme-wms')!.locationCodes).map(([site, locationId]) => [locationId, site]));
const SITES = LOCATIONS.map((locationId) => SITE_OF.get(locationId)!);
const pick = <T>(values: readonly T[]): T => values[Math.floor(Math.random() * values.length)]!;

interface PlacedOrder {
  readonly id: string;
  readonly reference: string;
  readonly lines: readonly { readonly sku: string; readonly locationId: string; readonly quantity: number }[];
}

/** Three lines of different SKUs, some hot; two held where the client says, one where the channel's strategy chooses. */
function orderLines(): { sku: string; quantity: number; locationId: string | null }[] {
  const skus = new Set<string>();
  while (skus.size < LINES) skus.add(Math.random() < HOT_SHARE ? pick(HOT) : pick(SKUS));
  return [...skus].map((sku, index) => ({ sku, quantity: 1 + Math.floor(Math.random() * 3), locationId: index === LINES - 1 ? null : pick(LOCATIONS) }));
}

/**
 * Orders end to end on the production shape: placeOrder through the gateway (three lines, 50
 * concurrent clients, keys drawn from the catalogue with a hot share), then the warehouse's
 * confirmations of every order placed (picks, then ships) posted to inventory as signed acme-wms
 * batches and followed until every order shows its new status. Afterwards the books: no stock
 * level allocated beyond its stock, every order's stock held once, no transition lost.
 */
export async function orders(command: string): Promise<void> {
  const { url, db } = await freshDatabase();
  await seedDemoData(db, { skuCount: SKU_COUNT });
  // Enough stock that no order fails for want of it: the point is the rate, and that nothing oversells.
  await db.query(`UPDATE stock_position SET on_hand_wms = 1000000 WHERE subinventory = 'STOCK'`);
  await db.query('UPDATE stock_level SET figures_valid_until = NULL');
  const [{ allocatedBefore }] = (await db.query<{ allocatedBefore: number }>('SELECT sum(allocated)::int AS "allocatedBefore" FROM stock_position')) as [{ allocatedBefore: number }];
  const services = await startServices(url, { WMS_SOURCE_SECRETS: `acme-wms=${SECRET}` });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + POSTERS });
  const placed: PlacedOrder[] = [];
  let nextOrder = 0;
  const placeOrder = (target: GraphqlTarget) => async () => {
    nextOrder += 1;
    const reference = `BENCH-${nextOrder}`;
    const body = (await postJson(agent, target.url, JSON.stringify({
      query: PLACE, variables: { input: { reference, channel: 'WEB', idempotencyKey: reference, lines: orderLines() } },
    }), target.headers())) as { data?: { placeOrder?: { id: string; status: string; lines: { item: { sku: string }; location: { id: string }; quantity: number }[] } }; errors?: unknown };
    const order = body.data?.placeOrder;
    if (order?.status !== 'RESERVED') throw new Error(JSON.stringify(body.errors ?? body));
    placed.push({ id: order.id, reference, lines: order.lines.map((line) => ({ sku: line.item.sku, locationId: line.location.id, quantity: line.quantity })) });
  };
  try {
    await promiseFiguresSummed(db);
    const viaGateway = placeOrder(gatewayTarget(services));
    const ordersSubgraph = placeOrder(subgraphTarget(services, 'orders'));
    await measureLatencies('warm-up', CLIENTS, WARM_UP_SECONDS, viaGateway);
    await measureLatencies('warm-up straight to the orders subgraph', CLIENTS, WARM_UP_SECONDS, ordersSubgraph);
    const warmedUp = placed.length;
    const before = await cpuSnapshot(db, services.pids);
    const placement = await measureLatencies(`placeOrder through the gateway, ${LINES} lines, ${CLIENTS} clients`, CLIENTS, SECONDS, viaGateway);
    const placementCpu = cpuPerUnit(before, await cpuSnapshot(db, services.pids), placement.requests, (placement.requests / placement.requestsPerSecond) * 1_000);
    const measuredOrders = placed.length - warmedUp;
    // The gateway's share of a placement: the same load straight to the orders subgraph, right after.
    const direct = await measureLatencies(`placeOrder straight to the orders subgraph, ${LINES} lines, ${CLIENTS} clients`, CLIENTS, SECONDS, ordersSubgraph);
    console.log(latencyTable([placement, direct]));

    const [books] = await db.query<{ reserved: number; orderUnits: number; allocations: number; allocated: number; commands: number }>(`
      SELECT (SELECT count(*)::int FROM sales_order WHERE status = 'RESERVED') AS reserved,
             (SELECT coalesce(sum(quantity), 0)::int FROM order_line) AS "orderUnits",
             (SELECT coalesce(sum(quantity), 0)::int FROM order_allocation) AS allocations,
             (SELECT sum(allocated)::int FROM stock_position) - $1 AS allocated,
             (SELECT count(*)::int FROM order_stock_command) AS commands`, [allocatedBefore]);
    const oversold = await countOversoldLevels(db);

    const confirmations = [
      await confirm(services, agent, db, placed, 'PCK', 'PICKING'),
      await confirm(services, agent, db, placed, 'SHP', 'SHIPPED'),
    ];
    const [after] = await db.query<{ applied: number; unapplied: number; picking: number; shipped: number; allocated: number }>(`
      SELECT (SELECT count(*)::int FROM warehouse_confirmation WHERE outcome = 'APPLIED') AS applied,
             (SELECT count(*)::int FROM warehouse_confirmation WHERE outcome <> 'APPLIED') AS unapplied,
             (SELECT count(*)::int FROM order_transition WHERE status = 'PICKING') AS picking,
             (SELECT count(*)::int FROM order_transition WHERE status = 'SHIPPED') AS shipped,
             (SELECT sum(allocated)::int FROM stock_position) - $1 AS allocated`, [allocatedBefore]);

    const figures = `${latencyTable([placement, direct])}

Through the gateway, placeOrder runs at ${((placement.requestsPerSecond / direct.requestsPerSecond) * 100).toFixed(0)}% of the orders subgraph's own rate (the two rows one after the other).

Where the CPU goes while orders are placed (user + system time over the row, per order placed;
PostgreSQL is the benchmark database's backends; the machine figure counts every process on it,
the benchmark's clients included):

${cpuTable(placementCpu, placement)}

Target ${TARGET_ORDERS_PER_SECOND} orders/s: **${placement.requestsPerSecond >= TARGET_ORDERS_PER_SECOND ? 'met' : 'missed'}** (${placement.requestsPerSecond.toFixed(0)}/s, p99 ${placement.p99Ms.toFixed(0)} ms).

The books after placing ${placed.length.toLocaleString('en')} orders (warm-ups and both rows included): ${books!.reserved.toLocaleString('en')} orders RESERVED,
${books!.orderUnits.toLocaleString('en')} units on their lines, ${books!.allocations.toLocaleString('en')} in inventory's allocations and ${books!.allocated.toLocaleString('en')} more
allocated in the stock buckets than before; stock levels allocated beyond their stock (oversold):
**${oversold}**; requests to inventory left unanswered: **${books!.commands}**.

Warehouse confirmations of every order placed, end to end: ${POSTERS} posters, each the feed of ${LOCATIONS.length / POSTERS} of the
${LOCATIONS.length} sites (as each warehouse's WMS posts its own), send signed acme-wms batches of
${BATCH_EVENTS} events (one per order line, the order's reference in \`order_no\`) to inventory, which applies them
and publishes each as \`inventory.warehouseEvent.applied\`; the orders service applies them from the stream. Timed
from the first POST until the orders service has committed the last of them (its consumer's cursor, written with the
orders it moves, polled every 20 ms with inventory's outbox backlog; every order's status checked afterwards).

| confirmations | events | posted in s | accepted events/s | every order moved after s | end-to-end events/s | inventory CPU µs/event | orders CPU µs/event | PostgreSQL CPU µs/event | machine busy |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${confirmations.map((row) => `| ${row.type} -> ${row.status} | ${row.events.toLocaleString('en')} | ${row.postedSeconds.toFixed(1)} | ${(row.events / row.postedSeconds).toFixed(0)} | ${row.visibleSeconds.toFixed(1)} | ${(row.events / row.visibleSeconds).toFixed(0)} | ${row.cpu.processUs.inventory!.toFixed(0)} | ${row.cpu.processUs.orders!.toFixed(0)} | ${row.cpu.postgresUs.toFixed(0)} | ${(row.cpu.machineBusy * 100).toFixed(0)}% |`).join('\n')}

Target ${TARGET_CONFIRMATIONS_PER_SECOND.toLocaleString('en')} confirmations/s end to end: **${confirmations.every((row) => row.events / row.visibleSeconds >= TARGET_CONFIRMATIONS_PER_SECOND) ? 'met' : 'missed'}**.
Afterwards: ${after!.applied.toLocaleString('en')} confirmations applied of ${confirmations.reduce((sum, row) => sum + row.events, 0).toLocaleString('en')} posted
(${after!.unapplied} not applied); ${after!.picking.toLocaleString('en')} PICKING and ${after!.shipped.toLocaleString('en')} SHIPPED transitions for ${placed.length.toLocaleString('en')} orders
(lost transitions: **${placed.length * 2 - after!.picking - after!.shipped}**); allocated in the stock buckets beyond what was there before: **${after!.allocated}**
(every shipped order's allocation consumed, no pick allocated twice).`;
    recordSection('orders', `
## Orders: placement and warehouse confirmations

\`${command}\` on ${describeMachine()}. Services run as separate processes on PostgreSQL 15 and Redis 7
(loopback), seeded with ${SKU_COUNT.toLocaleString('en')} SKUs x 12 DCs (1,000,000 units of each in STOCK). ${CLIENTS} closed-loop clients in the
benchmark process (node:http, kept-alive) each send \`placeOrder\` through the gateway and the next as soon as it is
answered, ${SECONDS} s (\`BENCH_SECONDS\`) after warm-ups of ${WARM_UP_SECONDS} s through the gateway and ${WARM_UP_SECONDS} s straight to the orders subgraph (once inventory has summed the seeded levels' promise figures): ${LINES} lines of different SKUs (of ${SKUS.length.toLocaleString('en')}, ${HOT_SHARE * 100}% of lines from ${HOT_SKUS} hot ones),
1-3 units each, two at a location drawn at random and one where the channel's strategy chooses; an order counts only
when it comes back RESERVED. ${measuredOrders.toLocaleString('en')} orders in the measured row through the gateway; the same load straight to the orders subgraph follows it
(the benchmark's signed identity in the gateway's place), and its orders are confirmed with the rest.

${figures}
`);
    console.log(figures);
  } finally {
    agent.destroy();
    await services.stop();
    await db.close();
  }
}

interface ConfirmationRound {
  readonly type: string;
  readonly status: string;
  readonly events: number;
  readonly postedSeconds: number;
  readonly visibleSeconds: number;
  readonly cpu: CpuPerUnit;
}

let nextEvent = 0;

/** Posts one acme-wms confirmation of `type` per line of every order, and waits until every order is `status`. */
async function confirm(services: RunningServices, agent: http.Agent, db: Database, placed: readonly PlacedOrder[], type: string, status: string): Promise<ConfirmationRound> {
  const inventoryUrl = services.subgraphUrls.inventory;
  const ts = new Date().toISOString();
  const events = placed.flatMap((order) => order.lines.map((line) => {
    nextEvent += 1;
    return { event_id: `bench-${type}-${nextEvent}`, txn_type: type, seq: nextEvent, order_no: order.reference, item_code: line.sku.replace('SKU-', 'ACME-'), site: SITE_OF.get(line.locationId)!, qty: line.quantity, uom: 'EA', ts };
  }));
  // Each warehouse posts its own feed, as a WMS does: poster n sends the events of every POSTERS-th site.
  const feeds = Array.from({ length: POSTERS }, (_, poster) => events.filter((event) => SITES.indexOf(event.site) % POSTERS === poster));
  const batchesOf = (feed: typeof events) => Array.from({ length: Math.ceil(feed.length / BATCH_EVENTS) }, (_, i) => feed.slice(i * BATCH_EVENTS, (i + 1) * BATCH_EVENTS));
  const before = await cpuSnapshot(db, services.pids);
  const started = performance.now();
  const poster = async (batches: (typeof events)[]) => {
    for (let batch = batches.shift(); batch; batch = batches.shift()) {
      const body = JSON.stringify({ events: batch });
      const timestamp = Math.floor(Date.now() / 1000);
      const answer = (await postJson(agent, `${inventoryUrl}/events/acme-wms`, body, { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signEventBatch(SECRET, timestamp, body) })) as { applied?: number };
      if (answer.applied !== batch.length) throw new Error(`a batch of ${type} was not applied whole: ${JSON.stringify(answer).slice(0, 300)}`);
    }
  };
  await Promise.all(feeds.map((feed) => poster(batchesOf(feed))));
  const posted = performance.now();
  // Every order shows its status once the orders service has applied the last confirmation
  // inventory published: its consumer's cursor, committed with the orders it moved, has reached
  // the stream's end after inventory's relay had nothing left. Small reads every 20 ms, so that
  // the wait does not weigh on the figures; every order's status is checked once at the end.
  const poll = async <T>(what: string, read: () => Promise<T | null>): Promise<T> => {
    for (;;) {
      const value = await read();
      if (value !== null) return value;
      if (performance.now() - started > 600_000) throw new Error(`still waiting for ${what} after 10 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await poll('inventory\'s relay', async () => {
    const [row] = await db.query<{ pending: number }>(`SELECT count(*)::int AS pending FROM event_outbox_pending WHERE producer = 'inventory'`);
    return row!.pending === 0 ? true : null;
  });
  const redis = connectRedis(REDIS_URL, services.redisKeyPrefix);
  const [last] = await new RedisEventBus(redis).readEndingAt(STREAMS.warehouseConfirmations, null, 1).finally(() => redis.disconnect());
  await poll('the orders service', async () => {
    const [row] = await db.query<{ cursor: string }>(`SELECT cursor FROM event_consumer_cursor WHERE consumer = 'orders.warehouse-confirmations' AND stream = $1`, [STREAMS.warehouseConfirmations]);
    return row && compareCursors(row.cursor, last!.cursor) >= 0 ? true : null;
  });
  const visibleMs = performance.now() - started;
  const [behind] = await db.query<{ orders: number }>('SELECT count(*)::int AS orders FROM sales_order WHERE status::text <> $1', [status]);
  if (behind!.orders > 0) throw new Error(`${behind!.orders} orders are not ${status} once every confirmation is applied`);
  const cpu = cpuPerUnit(before, await cpuSnapshot(db, services.pids), events.length, visibleMs);
  return { type, status, events: events.length, postedSeconds: (posted - started) / 1_000, visibleSeconds: visibleMs / 1_000, cpu };
}

function cpuTable(cpu: CpuPerUnit, result: LatencyResult): string {
  const percent = (share: number) => `${(share * 100).toFixed(0)}%`;
  const names = ['gateway', 'orders', 'inventory'] as const;
  return [
    `| row | orders/s | ${names.map((name) => `${name} CPU µs/order`).join(' | ')} | PostgreSQL CPU µs/order | ${names.map((name) => `${name} busy (of one core)`).join(' | ')} | machine busy (of all cores) |`,
    `|---|---:|${names.map(() => '---:').join('|')}|---:|${names.map(() => '---:').join('|')}|---:|`,
    `| placeOrder | ${result.requestsPerSecond.toFixed(0)} | ${names.map((name) => cpu.processUs[name]!.toFixed(0)).join(' | ')} | ${cpu.postgresUs.toFixed(0)} | ${names.map((name) => percent(cpu.processBusy[name]!)).join(' | ')} | ${percent(cpu.machineBusy)} |`,
  ].join('\n');
}
