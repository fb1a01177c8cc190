import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { RunningSystem } from '../../system/startSystem.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { codeOf, ordersApi } from '../support/orders.ts';
import type { TestDatabase } from '../support/services.ts';
import { givenStock } from '../support/stock.ts';
import { givenPositions, reconciliationApi } from './reconciliationFixtures.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

// SKU-95xxx: stocked by each test for itself.
let nextSku = 95_000;
const newSku = () => `SKU-${(nextSku += 1)}`;

interface DiscrepancyRaised {
  cursor: string;
  discrepancy: { id: string; tier: string; variance: number; status: string; stockLevel: { sku: string; locationId: string; onHandWms: number } };
}

interface HoldChanged {
  status: string;
  hold: { id: string; reason: string; stockLevel: { sku: string } };
}

describe('reconciliation through the gateway: subscriptions, federation and holds on order releases', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let clients: TestSystem['clients'];
  let running: TestSystem;
  let system: RunningSystem;
  let orders: ReturnType<typeof ordersApi>;
  let reconciliation: ReturnType<typeof reconciliationApi>;

  before(async () => {
    running = await startTestSystem('reconciliation-gateway', { env: { ORDER_RECOVERY_INTERVAL_MS: '100' } });
    ({ database, clients, system } = running);
    orders = ordersApi(system.gateway.url, clients.headers());
    reconciliation = reconciliationApi(system.gateway.url, undefined, clients.headers());
  });

  after(() => running?.stop());

  /** What one subscription delivers, from the start of its stream, and a way to wait for it. */
  function subscribe<T>(query: string, variables: Record<string, unknown>, field: string) {
    const client = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: clients.headers() });
    cleanup(() => client.dispose());
    const received: T[] = [];
    const waiters: (() => void)[] = [];
    client.subscribe<Record<string, T>>({ query, variables: { ...variables, after: '0-0' } }, {
      next: ({ data, errors }) => {
        if (errors) throw new Error(JSON.stringify(errors));
        if (data) received.push(data[field]!);
        waiters.splice(0).forEach((wake) => wake());
      },
      error: (error) => assert.fail(`subscription failed: ${JSON.stringify(error)}`),
      complete: () => {},
    });
    return {
      received,
      until: async (count: number) => {
        while (received.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
      },
    };
  }

  const discrepanciesRaised = (variables: Record<string, unknown>) => subscribe<DiscrepancyRaised>(`
    subscription ($skus: [ID!], $tiers: [VarianceTier!], $after: String) {
      discrepancyRaised(skus: $skus, tiers: $tiers, after: $after) {
        cursor discrepancy { id tier variance status stockLevel { sku locationId onHandWms } }
      }
    }`, variables, 'discrepancyRaised');

  it('holds order releases of a SKU at a location over the alert threshold until the hold is released, every step published', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 100 });
    await database.db.query('UPDATE stock_position SET on_hand_erp = 20 WHERE sku = $1', [sku]);
    await givenPositions(database.db, [{ sku, locationId: 'DC-01', wms: 100, erp: 20 }]);
    const raised = discrepanciesRaised({ skus: [sku] });
    const holds = subscribe<HoldChanged>(
      'subscription ($skus: [ID!], $after: String) { holdChanged(skus: $skus, after: $after) { status hold { id reason stockLevel { sku } } } }',
      { skus: [sku] },
      'holdChanged',
    );
    const placed = (await orders.place({ reference: `WEB-${sku}`, lines: [{ sku, quantity: 2, locationId: 'DC-01' }] })).data!.placeOrder;

    const run = await reconciliation.reconcile(['DC-01']);

    await raised.until(1);
    assert.deepEqual(raised.received[0]!.discrepancy, {
      id: raised.received[0]!.discrepancy.id, tier: 'ALERT', variance: 80, status: 'OPEN', stockLevel: { sku, locationId: 'DC-01', onHandWms: 100 },
    }, 'the discrepancy, with its stock level from inventory');
    await holds.until(1);
    const hold = holds.received[0]!.hold;
    assert.deepEqual([holds.received[0]!.status, hold.stockLevel.sku], ['ACTIVE', sku]);
    await eventually(() => database.db.query('SELECT 1 FROM order_release_hold WHERE hold_id = $1', [hold.id]), (rows) => rows.length === 1, { what: 'orders heard of the hold' });

    const refused = await orders.release(placed.id);
    assert.equal(codeOf(refused), 'RECONCILIATION_HOLD');
    const { data, errors } = await reconciliation.call(`query ($sku: ID!) { item(sku: $sku) {
        discrepancies { tier status run { id } } holds(status: [ACTIVE]) { id }
        stockLevels(locationIds: ["DC-01"]) { onHandWms onHandErp reconciliation { lastRunAt variance tier openDiscrepancy { variance } activeHold { id } } }
      } }`, { sku });
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.deepEqual(data.item, {
      discrepancies: [{ tier: 'ALERT', status: 'OPEN', run: { id: run.id } }],
      holds: [{ id: hold.id }],
      stockLevels: [{ onHandWms: 100, onHandErp: 20, reconciliation: { lastRunAt: run.finishedAt, variance: 80, tier: 'ALERT', openDiscrepancy: { variance: 80 }, activeHold: { id: hold.id } } }],
    });

    const released = await reconciliation.release(hold.id, 'counted: the ERP is wrong, the stock is there');
    assert.equal(released.errors, undefined, JSON.stringify(released.errors));
    await holds.until(2);
    assert.deepEqual(holds.received.map((change) => [change.status, change.hold.id]), [['ACTIVE', hold.id], ['RELEASED', hold.id]]);
    const order = await eventually(() => orders.order(placed.id), (found) => found?.status === 'RELEASED', { what: 'the waiting order released' });
    assert.deepEqual([order!.timeline.at(-1)!.cause, order!.timeline.at(-1)!.causeId], ['HOLD_CLEARED', hold.id]);
    assert.equal(released.data!.releaseHold.audit.at(-1)!.actor, 'operator', "the gateway's caller");
  });

  it('delivers the discrepancies of the tiers asked for only', async () => {
    const [alerted, reviewed] = [newSku(), newSku()];
    await givenStock(database.db, alerted, { 'DC-02': 100 });
    await givenStock(database.db, reviewed, { 'DC-03': 100 });
    await givenPositions(database.db, [{ sku: alerted, locationId: 'DC-02', wms: 100, erp: 10 }, { sku: reviewed, locationId: 'DC-03', wms: 100, erp: 90 }]);
    const reviews = discrepanciesRaised({ skus: [alerted, reviewed], tiers: ['REVIEW'] });

    // The alert comes first in the stream: had the filter let it through, it would arrive first.
    await reconciliation.reconcile(['DC-02']);
    await reconciliation.reconcile(['DC-03']);

    await reviews.until(1);
    assert.deepEqual(reviews.received.map((event) => [event.discrepancy.stockLevel.sku, event.discrepancy.tier]), [[reviewed, 'REVIEW']]);
  });
});
