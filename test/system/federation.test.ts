import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../../prisma/seed.ts';
import { seedDemoOrders } from '../../system/demoOrders.ts';
import { seedDemoReconciliation } from '../../system/demoReconciliation.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { graphql } from '../support/graphql.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';
import { testClients } from '../support/gatewayClients.ts';
import { isBackgroundStatement } from '../support/statementCounting.ts';

describe('the federated system on PostgreSQL and Redis', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let system: RunningSystem;
  let gatewayUrl: string;
  const statements: string[] = [];

  const redis = redisNamespace('federation');
  const clients = testClients();
  /** An operation sent to the gateway by a client with every scope. */
  const gateway = <Data = any>(query: string, variables: Record<string, unknown> = {}) => graphql<Data>(gatewayUrl, query, variables, clients.headers());

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 120 });
    infrastructure = await openInfrastructure(
      { database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus },
      // Not counted: the outbox relays' look at their outboxes (a transaction, a lock, a read), which
      // runs every few hundred milliseconds and may fall while a request is counted.
      { onQuery: (sql) => !isBackgroundStatement(sql) && statements.push(sql) },
    );
    system = await startSystem({
      infrastructure,
      host: '127.0.0.1',
      ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 },
      logger: createLogger('silent'),
      // Only requests may send SQL while statements are counted: no idle polling by the sweepers.
      env: { ...clients.env, RESERVATION_SWEEP_INTERVAL_MS: '3600000', ORDER_RECOVERY_INTERVAL_MS: '3600000', PROMISE_FIGURES_INTERVAL_MS: '3600000' },
    });
    gatewayUrl = system.gateway.url;
    await seedDemoOrders({ gatewayUrl, headers: clients.headers(), db: database.db, logger: createLogger('silent'), count: 24, skuCount: 120 });
    await seedDemoReconciliation({ gatewayUrl, headers: clients.headers(), logger: createLogger('silent') });
  });

  after(async () => {
    await system?.stop();
    await infrastructure?.close();
    await redis.clear();
    clients.remove();
    await database?.drop();
  });

  it('answers one query with data from all three subgraphs', async () => {
    const { data, errors } = await gateway(`
      query ($sku: ID!, $locationId: ID!) {
        item(sku: $sku) {
          sku
          openOrders { id status lines { quantity item { sku } location { id name } } }
          stockLevels(locationIds: [$locationId]) {
            location { id }
            onHandWms onHandErp available
            reconciliation { variance tier pendingSyncTransactions openDiscrepancy { variance stockLevel { onHandWms } } }
          }
        }
      }`, { sku: DEMO_SKU, locationId: DEMO_LOCATION_ID });

    assert.equal(errors, undefined);
    const expectedOrders = await database.db.prisma.order.findMany({
      where: { status: { in: ['CREATED', 'RESERVED', 'RELEASED', 'PICKING', 'PACKED'] }, lines: { some: { sku: DEMO_SKU } } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
    assert.ok(expectedOrders.length > 0, 'the demo data gives the demo SKU open orders');
    assert.deepEqual(data.item.openOrders.map((order: { id: string; status: string }) => [order.id, order.status]), expectedOrders.map((order) => [order.id, order.status]));
    const firstLine = await database.db.prisma.orderLine.findFirstOrThrow({ where: { orderId: expectedOrders[0]!.id, lineNumber: 1 } });
    const { name } = await database.db.prisma.location.findUniqueOrThrow({ where: { id: firstLine.locationId } });
    assert.deepEqual(data.item.openOrders[0].lines[0], {
      quantity: firstLine.quantity,
      item: { sku: firstLine.sku },
      location: { id: firstLine.locationId, name },
    }, 'orders -> inventory: a line names its location');

    const [level] = data.item.stockLevels;
    const discrepancy = await database.db.prisma.discrepancy.findFirstOrThrow({ where: { sku: DEMO_SKU, locationId: DEMO_LOCATION_ID } });
    assert.equal(level.location.id, DEMO_LOCATION_ID);
    assert.equal(level.onHandWms - level.onHandErp, discrepancy.variance);
    assert.deepEqual(level.reconciliation, {
      variance: discrepancy.variance,
      tier: discrepancy.tier,
      pendingSyncTransactions: await database.db.prisma.syncTransaction.count({ where: { sku: DEMO_SKU, locationId: DEMO_LOCATION_ID, status: 'PENDING_SYNC' } }),
      openDiscrepancy: discrepancy.status === 'OPEN' ? { variance: discrepancy.variance, stockLevel: { onHandWms: level.onHandWms } } : null,
    });
  });

  it('sends the same number of SQL statements for 5 items as for 60 (no N+1)', async () => {
    const nested = `
      query ($first: Int!) {
        items(first: $first) {
          nodes {
            sku
            openOrders { id lines { location { name } } }
            stockLevels {
              available
              location { name subinventories { code nettable } }
              reconciliation { variance openDiscrepancy { id run { finishedAt } } }
            }
          }
        }
      }`;
    const countStatements = async (first: number) => {
      statements.length = 0;
      const { data, errors } = await gateway(nested, { first });
      assert.equal(errors, undefined);
      assert.equal(data.items.nodes.length, first);
      return statements.length;
    };

    const few = await countStatements(5);
    const many = await countStatements(60);

    assert.equal(many, few, `statements for 60 items (${many}) should equal those for 5 (${few})`);
    assert.ok(many <= 12, `expected at most one statement per loader, got ${many}`);
  });

  it('pages through items with opaque cursors', async () => {
    const page = async (after: string | null) =>
      (await gateway('query ($after: String) { items(first: 50, after: $after) { nodes { sku } endCursor hasNextPage } }', { after })).data.items;
    const first = await page(null);
    const second = await page(first.endCursor);
    const third = await page(second.endCursor);

    const skus = [...first.nodes, ...second.nodes, ...third.nodes].map((node: { sku: string }) => node.sku);
    assert.equal(new Set(skus).size, 120);
    assert.deepEqual(skus, [...skus].sort());
    assert.deepEqual([first.hasNextPage, second.hasNextPage, third.hasNextPage, third.endCursor !== null], [true, true, false, true]);
  });

  it('filters items', async () => {
    const { data } = await gateway(`{
      lots: items(filter: { lotControlled: true }, first: 500) { nodes { sku lotControlled } }
      prefix: items(filter: { skuPrefix: "SKU-0011" }, first: 500) { nodes { sku } }
      gloves: items(filter: { descriptionContains: "GLOVES", serialControlled: false }, first: 3) { nodes { description } }
    }`);
    assert.deepEqual(data.lots.nodes.map((item: { sku: string }) => item.sku), Array.from({ length: 12 }, (_, i) => `SKU-${String((i + 1) * 10).padStart(5, '0')}`));
    assert.deepEqual(data.prefix.nodes.map((item: { sku: string }) => item.sku), Array.from({ length: 10 }, (_, i) => `SKU-0011${i}`));
    assert.ok(data.gloves.nodes.length === 3 && data.gloves.nodes.every((item: { description: string }) => item.description.startsWith('Safety gloves')));
  });

  it('answers stockLevels(locationIds:) with the levels named, each once, in location id order, as the same levels among all of the item\'s', async () => {
    const { data, errors } = await gateway(`{
      item(sku: "SKU-00012") {
        all: stockLevels { locationId onHandWms available }
        named: stockLevels(locationIds: ["DC-07", "DC-02", "NOWHERE", "DC-07"]) { locationId onHandWms available }
      }
    }`);
    assert.equal(errors, undefined, JSON.stringify(errors));
    const expected = data.item.all.filter((level: { locationId: string }) => ['DC-02', 'DC-07'].includes(level.locationId));
    assert.deepEqual(data.item.named.map((level: { locationId: string }) => level.locationId), ['DC-02', 'DC-07']);
    const figures = (levels: { onHandWms: number; available: number }[]) => levels.map(({ onHandWms, available }) => ({ onHandWms, available }));
    assert.deepEqual(figures(data.item.named), figures(expected), 'the same figures as the item\'s every level');
  });

  it('rejects bad arguments with BAD_USER_INPUT and answers unknown ids with null', async () => {
    const tooMany = await gateway('{ items(first: 10000) { nodes { sku } } }');
    const badCursor = await gateway('{ orders(after: "not-a-cursor") { nodes { id } } }');
    const unknown = await gateway('{ item(sku: "NO-SUCH-SKU") { sku } location(id: "NOWHERE") { id } }');

    assert.equal(tooMany.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(tooMany.errors?.[0]?.message ?? '', /first must be between 1 and 500/);
    assert.equal(badCursor.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual(unknown, { data: { item: null, location: null } });
  });

  it('reports liveness, and readiness that includes every subgraph', async () => {
    for (const service of [system.gateway, ...Object.values(system.subgraphs)]) {
      const health = await fetch(`${service.url}/healthz`);
      assert.equal(health.status, 200);
    }
    const subgraphReady = await fetch(`${system.subgraphs.inventory.url}/readyz`);
    assert.deepEqual(await subgraphReady.json(), { status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    const ready = await fetch(`${gatewayUrl}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: 'ready',
      checks: { 'subgraph:inventory': 'ok', 'subgraph:orders': 'ok', 'subgraph:reconciliation': 'ok' },
    });
  });

  it('masks unexpected failures as INTERNAL_SERVER_ERROR without leaking details', async () => {
    await database.db.runScript('ALTER TABLE sync_transaction RENAME TO sync_transaction_away');
    try {
      const { errors } = await gateway('{ syncTransactions(first: 1) { nodes { id } } }');
      assert.equal(errors?.length, 1);
      assert.equal(errors[0]!.extensions?.code, 'INTERNAL_SERVER_ERROR');
      assert.equal(errors[0]!.message, 'Internal server error');
      assert.doesNotMatch(JSON.stringify(errors), /sync_transaction|prisma|stack/i);
    } finally {
      await database.db.runScript('ALTER TABLE sync_transaction_away RENAME TO sync_transaction');
    }
  });

  it('is not ready once a subgraph is gone', async () => {
    await system.subgraphs.orders.stop();
    const ready = await fetch(`${gatewayUrl}/readyz`);
    const body = (await ready.json()) as { checks: Record<string, string> };
    assert.equal(ready.status, 503);
    assert.notEqual(body.checks['subgraph:orders'], 'ok');
    assert.equal(body.checks['subgraph:inventory'], 'ok');
  });
});
