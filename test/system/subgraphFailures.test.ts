import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEMO_SKU } from '../../prisma/seed.ts';
import type { RunningSystem } from '../../system/startSystem.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

// What a client gets back when its request, or a subgraph, cannot be served as asked: a clear
// code and the right HTTP status, never a masked 500, and every field that could be served.
describe('errors at the gateway: operations it cannot pick, subgraph refusals and outages', () => {
  let running: TestSystem;
  let system: RunningSystem;

  const post = async (body: unknown) => {
    const response = await fetch(`${system.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...running.clients.headers() },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[] } };
  };

  before(async () => {
    running = await startTestSystem('subgraph-failures', { skuCount: 20, env: { SUBGRAPH_TIMEOUT_MS: '1000' } });
    system = running.system;
  });

  after(() => running?.stop());

  it('answers a document whose operation cannot be picked with 400 OPERATION_RESOLUTION_FAILURE', async () => {
    const twoOperations = 'query A { locations { id } } query B { locations { name } }';
    const unnamed = await post({ query: twoOperations });
    const unknown = await post({ query: twoOperations, operationName: 'C' });
    const named = await post({ query: twoOperations, operationName: 'B' });

    assert.deepEqual([unnamed.status, unnamed.body.errors?.[0]?.extensions?.code, unnamed.body.errors?.[0]?.message],
      [400, 'OPERATION_RESOLUTION_FAILURE', 'Must provide operation name if query contains multiple operations.']);
    assert.deepEqual([unknown.status, unknown.body.errors?.[0]?.extensions?.code, unknown.body.errors?.[0]?.message],
      [400, 'OPERATION_RESOLUTION_FAILURE', 'Unknown operation named "C".']);
    assert.equal(named.status, 200);
    assert.ok(named.body.data.locations.length > 0);
  });

  it("passes on a subgraph's refusal of a value with its code and the subgraph's name", async () => {
    const literal = await post({ query: '{ orders(filter: { createdAfter: "not-a-date" }) { nodes { id } } }' });
    const variable = await post({ query: 'query ($after: DateTime) { orders(filter: { createdAfter: $after }) { nodes { id } } }', variables: { after: 'yesterday' } });

    assert.deepEqual(literal.body.errors?.map((error) => [error.extensions?.code, error.extensions?.serviceName]), [['GRAPHQL_VALIDATION_FAILED', 'orders']]);
    assert.match(literal.body.errors![0]!.message, /DateTime must be an ISO-8601 string/);
    assert.deepEqual(variable.body.errors?.map((error) => [error.extensions?.code, error.extensions?.serviceName]), [['BAD_USER_INPUT', 'orders']]);
    assert.match(variable.body.errors![0]!.message, /\$after/);
  });

  it('names what it does not serve beside GraphQL: 404 NOT_FOUND, or 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const wrongMethod = await fetch(`${system.subgraphs.inventory.url}/events/acme-wms`);
    const nowhere = await fetch(`${system.gateway.url}/nowhere`);

    assert.deepEqual([wrongMethod.status, wrongMethod.headers.get('allow'), ((await wrongMethod.json()) as any).error.code], [405, 'POST', 'METHOD_NOT_ALLOWED']);
    assert.deepEqual([nowhere.status, ((await nowhere.json()) as any).error], [404, { code: 'NOT_FOUND', message: 'Nothing is served at /nowhere' }]);
  });

  it('gives up on a subgraph that answers no fetch within SUBGRAPH_TIMEOUT_MS, and serves the rest', async () => {
    // Orders cannot read its orders while another transaction holds their table: it answers nothing.
    const { body } = await running.database.db.withConnection(async (connection) => {
      await connection.query('BEGIN');
      await connection.query('LOCK TABLE sales_order IN ACCESS EXCLUSIVE MODE');
      try {
        return await post({ query: 'query ($sku: ID!) { item(sku: $sku) { sku openOrders { id } stockLevels { locationId } } }', variables: { sku: DEMO_SKU } });
      } finally {
        await connection.query('ROLLBACK');
      }
    });

    assert.ok(body.data.item.stockLevels.length > 0);
    assert.equal(body.data.item.openOrders, null);
    assert.deepEqual(body.errors?.map((error) => [error.extensions?.code, error.message, error.path]), [
      ['SUBGRAPH_UNAVAILABLE', 'The orders subgraph is unavailable (no answer in time)', ['item', 'openOrders']],
    ]);
  });

  // Last: it stops the orders subgraph.
  it("serves inventory's and reconciliation's fields while orders is down, with SUBGRAPH_UNAVAILABLE at the fields it owns", async () => {
    await system.subgraphs.orders.stop();
    const query = `query ($sku: ID!) { item(sku: $sku) { sku openOrders { id } openDemand { units } holds { id } stockLevels { locationId available } } }`;
    const { status, body } = await post({ query, variables: { sku: DEMO_SKU } });
    const placed = await post({ query: 'mutation { placeOrder(input: { reference: "down-1", channel: "web", idempotencyKey: "down-1", lines: [{ sku: "SKU-00001", quantity: 1 }] }) { id } }' });

    assert.equal(status, 200);
    assert.equal(body.data.item.sku, DEMO_SKU);
    assert.ok(body.data.item.stockLevels.length > 0, "inventory's fields arrive");
    assert.deepEqual(body.data.item.holds, [], "reconciliation's too");
    assert.deepEqual([body.data.item.openOrders, body.data.item.openDemand], [null, null]);
    assert.deepEqual(body.errors?.map((error) => [error.extensions?.code, error.extensions?.serviceName, error.path]), [['SUBGRAPH_UNAVAILABLE', 'orders', ['item', 'openOrders']]]);
    assert.match(body.errors![0]!.message, /^The orders subgraph is unavailable \(ECONNREFUSED\)$/);
    assert.deepEqual(placed.body.errors?.map((error) => [error.extensions?.code, error.path]), [['SUBGRAPH_UNAVAILABLE', ['placeOrder']]]);
  });
});
