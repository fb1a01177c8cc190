import { setTimeout as delay } from 'node:timers/promises';
import type { Database } from '../platform/database/database.ts';
import type { Logger } from '../platform/logger.ts';
import { DEMO_LOCATION_ID, DEMO_SKU } from '../prisma/seed.ts';
import { loadExampleMappings } from '../subgraphs/inventory/mappings/sourceMappings.ts';
import { WarehouseEventIngestion } from '../subgraphs/inventory/services/warehouseEventIngestion.ts';
import { gatewayRequest } from './gatewayRequest.ts';

export interface DemoOrdersOptions {
  /** The gateway the orders are placed and moved through, and what to send it besides (credentials). */
  readonly gatewayUrl: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The database the services run on: the warehouse's events go into it through inventory's ingestion. */
  readonly db: Database;
  readonly logger: Pick<Logger, 'info'>;
  /** Orders besides the demo SKU's three. */
  readonly count?: number;
  /** SKUs in the catalogue (as seedDemoData was given). */
  readonly skuCount?: number;
  /** How long to wait for the warehouse's confirmations to reach the orders, in milliseconds. */
  readonly timeoutMs?: number;
}

// The life of each demo order, cycled through: where it ends up.
const TARGETS = [
  'RESERVED', 'RELEASED', 'PICKING', 'PACKED', 'SHIPPED', 'DELIVERED', 'DELIVERED', 'CANCELLED',
  'RETURN_REQUESTED', 'RETURN_RECEIVED', 'RESTOCKED', 'SCRAPPED',
] as const;
type Target = (typeof TARGETS)[number];
const CHANNELS = ['WEB', 'STORE', 'MARKETPLACE', 'B2B'];
const ACME_SITES = ['ATL1', 'ORD1', 'DFW1', 'DEN1', 'LAX1', 'MEM1', 'EWR1', 'PHX1', 'RNO1', 'SEA1', 'CMH1', 'MDT1'];

interface DemoOrder {
  readonly reference: string;
  readonly channel: string;
  readonly target: Target;
  readonly lines: readonly { readonly sku: string; readonly quantity: number; readonly locationId: string }[];
}

/**
 * Demo orders made the way real ones are: placed through the gateway's placeOrder (their stock
 * held by inventory), released, cancelled, returned and inspected by their mutations, and moved
 * by acme-wms warehouse events applied by inventory's own ingestion (their confirmations reach
 * the orders through the event stream). Deterministic references and idempotency keys, so that
 * running it again places nothing twice. Returns once every order is where its story ends.
 */
export async function seedDemoOrders({ gatewayUrl, headers = {}, db, logger, count = 120, skuCount = 5_000, timeoutMs = 60_000 }: DemoOrdersOptions): Promise<void> {
  const orders = demoOrders(count, skuCount);
  const graphql = <Data>(query: string, variables: Record<string, unknown>) => gatewayRequest<Data>(gatewayUrl, headers, query, variables);
  const ingestion = new WarehouseEventIngestion(db.prisma, loadExampleMappings());
  let sequence = 0;
  const warehouse = async (events: { order: DemoOrder; type: string; quantity: (line: DemoOrder['lines'][number]) => number }[]) => {
    const raw = events.flatMap(({ order, type, quantity }) => order.lines.map((line, index) => ({
      event_id: `demo-${order.reference}-${type}-${index + 1}`, txn_type: type, seq: (sequence += 1), order_no: order.reference,
      item_code: line.sku.replace('SKU-', 'ACME-'), site: ACME_SITES[Number(line.locationId.slice(3)) - 1], qty: quantity(line), uom: 'EA',
      ts: new Date().toISOString(),
    })));
    for (let start = 0; start < raw.length; start += 500) await ingestion.ingest('acme-wms', raw.slice(start, start + 500));
  };
  const ids = new Map<string, string>();
  const reaching = (...targets: Target[]) => orders.filter((order) => targets.includes(order.target));
  const whenAll = (wanted: readonly DemoOrder[], status: string) => waitForStatus(db, wanted.map((order) => ids.get(order.reference)!), status, timeoutMs);

  for (let start = 0; start < orders.length; start += 20) {
    await Promise.all(orders.slice(start, start + 20).map(async (order) => {
      const { placeOrder } = await graphql<{ placeOrder: { id: string } }>('mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }', {
        input: { reference: order.reference, channel: order.channel, idempotencyKey: `demo:${order.reference}`, lines: order.lines },
      });
      ids.set(order.reference, placeOrder.id);
    }));
  }
  const mutate = (wanted: readonly DemoOrder[], mutation: string, variables: (id: string, order: DemoOrder) => Record<string, unknown>) =>
    Promise.all(wanted.map((order) => graphql(mutation, variables(ids.get(order.reference)!, order))));
  await mutate(orders.filter((order) => order.target !== 'RESERVED' && order.target !== 'CANCELLED'), 'mutation ($id: ID!) { releaseOrder(id: $id) { id } }', (id) => ({ id }));
  await mutate(reaching('CANCELLED'), 'mutation ($id: ID!) { cancelOrder(id: $id, reason: "customer changed their mind") { id } }', (id) => ({ id }));

  const picked = reaching('PICKING', 'PACKED', 'SHIPPED', 'DELIVERED', 'RETURN_REQUESTED', 'RETURN_RECEIVED', 'RESTOCKED', 'SCRAPPED');
  const packed = picked.filter((order) => order.target !== 'PICKING');
  const shipped = packed.filter((order) => order.target !== 'PACKED');
  const delivered = shipped.filter((order) => order.target !== 'SHIPPED');
  await warehouse([
    ...picked.map((order) => ({ order, type: 'PCK', quantity: (line: DemoOrder['lines'][number]) => line.quantity })),
    ...packed.map((order) => ({ order, type: 'PAK', quantity: (line: DemoOrder['lines'][number]) => line.quantity })),
    ...shipped.map((order) => ({ order, type: 'SHP', quantity: (line: DemoOrder['lines'][number]) => line.quantity })),
    ...delivered.map((order) => ({ order, type: 'DLV', quantity: (line: DemoOrder['lines'][number]) => line.quantity })),
  ]);
  const returned = reaching('RETURN_REQUESTED', 'RETURN_RECEIVED', 'RESTOCKED', 'SCRAPPED');
  await whenAll(returned, 'DELIVERED');
  await mutate(returned, 'mutation ($input: RequestReturnInput!) { requestReturn(input: $input) { id } }', (id, order) => ({
    input: { orderId: id, lines: order.lines.map((_, index) => ({ lineNumber: index + 1, quantity: 1 })), reason: 'not as described' },
  }));
  const received = returned.filter((order) => order.target !== 'RETURN_REQUESTED');
  await warehouse(received.map((order) => ({ order, type: 'RTN', quantity: () => 1 })));
  await whenAll(received, 'RETURN_RECEIVED');
  const inspected = received.filter((order) => order.target !== 'RETURN_RECEIVED');
  await mutate(inspected, 'mutation ($input: InspectReturnInput!) { inspectReturn(input: $input) { id } }', (id, order) => ({
    input: { orderId: id, lines: order.lines.map((_, index) => ({ lineNumber: index + 1, ...(order.target === 'RESTOCKED' ? { restocked: 1 } : { scrapped: 1 }) })) },
  }));
  for (const target of ['PICKING', 'PACKED', 'SHIPPED', 'DELIVERED'] as const) await whenAll(reaching(target), target);
  logger.info({ orders: orders.length }, 'demo orders placed');
}

/** The demo SKU's three open orders at its location, then `count` others over EA SKUs that are neither lot- nor serial-controlled. */
function demoOrders(count: number, skuCount: number): DemoOrder[] {
  const demoSku = (['RESERVED', 'RELEASED', 'PICKING'] as const).map((target, index): DemoOrder => ({
    reference: `WEB-${100001 + index}`, channel: 'WEB', target, lines: [{ sku: DEMO_SKU, quantity: 1 + index, locationId: DEMO_LOCATION_ID }],
  }));
  const others = Array.from({ length: count }, (_, i): DemoOrder => {
    const n = i + 1;
    return {
      reference: `${CHANNELS[n % CHANNELS.length]}-${200000 + n}`,
      channel: CHANNELS[n % CHANNELS.length]!,
      target: TARGETS[n % TARGETS.length]!,
      lines: Array.from({ length: 1 + (n % 3) }, (_, line) => ({
        sku: plainEachSku(2 + ((n * 37 + line * 101) % (skuCount - 5))),
        quantity: 1 + ((n + line) % 3),
        locationId: `DC-${String(1 + ((n + line) % 12)).padStart(2, '0')}`,
      })),
    };
  });
  return [...demoSku, ...others];
}

/** The SKU at or next above `n` that the demo seed counts in eaches, with neither lots nor serials (n % 5 is 1 or 2). */
function plainEachSku(n: number): string {
  const candidate = n % 5 === 1 || n % 5 === 2 ? n : n + ((6 - (n % 5)) % 5);
  return `SKU-${String(candidate).padStart(5, '0')}`;
}

async function waitForStatus(db: Database, ids: readonly string[], status: string, timeoutMs: number): Promise<void> {
  if (ids.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await db.query<{ waiting: number }>('SELECT count(*)::int AS waiting FROM sales_order WHERE id = ANY($1::text[]) AND status::text <> $2', [ids, status]);
    if (row!.waiting === 0) return;
    if (Date.now() > deadline) throw new Error(`${row!.waiting} demo orders did not reach ${status} within ${timeoutMs} ms`);
    await delay(50);
  }
}
