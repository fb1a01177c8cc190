import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SqlConnection } from '../../platform/database/database.ts';
import { DEMO_LOCATION_ID, DEMO_SKU } from '../../prisma/seed.ts';
import { eventually } from '../support/eventually.ts';
import { OPERATOR, type TestClient } from '../support/gatewayClients.ts';
import { scrapeMetrics } from '../support/prometheusText.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

const PARTNER_ONE: TestClient = { name: 'partner-one', scopes: ['inventory:read'], locations: ['DC-01'], limits: { requestsPerSecond: 1_000, burst: 1_000 } };
const PARTNER_TWO: TestClient = { name: 'partner-two', scopes: ['inventory:read'], locations: ['DC-02'], limits: { requestsPerSecond: 1_000, burst: 1_000 } };

const STOCK = 'query ($sku: ID!) { item(sku: $sku) { sku stockLevels { locationId available } } }';
const STOCK_AND_ORDERS = 'query ($sku: ID!) { item(sku: $sku) { sku openOrders { id } stockLevels { locationId available } } }';
const REQUESTS = 8;

// A fetch held in flight, deterministically: the inventory subgraph cannot read items while a
// transaction holds their table, so every fetch that reaches it waits until the test lets go.
describe('identical subgraph fetches in flight', () => {
  let running: TestSystem;

  before(async () => {
    // No background work that reads items: only the fetches the test makes wait for them. No
    // entity cache, which would answer the repeated queries without a fetch (test/gateway/entityCache.test.ts).
    const quiet = { RESERVATION_SWEEP_INTERVAL_MS: '3600000', PROMISE_FIGURES_INTERVAL_MS: '3600000', ORDER_RECOVERY_INTERVAL_MS: '3600000', ENTITY_CACHE: 'off' };
    running = await startTestSystem('shared-fetches', { skuCount: 5, clients: [OPERATOR, PARTNER_ONE, PARTNER_TWO], env: quiet });
  });
  after(() => running?.stop());

  const ask = async (client: TestClient, query: string, variables: Record<string, unknown> = { sku: DEMO_SKU }) => {
    const response = await fetch(`${running.system.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...running.clients.headers(client.name) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: any; errors?: unknown[] };
  };
  const fetchesTo = async (subgraph: 'inventory' | 'reconciliation') =>
    (await scrapeMetrics(running.system.subgraphs[subgraph].url)).sum('stockgraph_http_requests_total', { path: '/graphql' });
  const inventoryFetches = () => fetchesTo('inventory');
  const sharedAtGateway = async () => (await scrapeMetrics(running.system.gateway.url)).sum('stockgraph_subgraph_fetches_shared_total');
  /** The subgraphs' statements waiting for `table`, which the test holds. */
  const waiting = async (connection: SqlConnection, table: 'item' | 'reconciliation_hold') => {
    const [{ count }] = (await connection.query(
      'SELECT count(*)::int AS count FROM pg_locks WHERE database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND relation = $1::regclass AND NOT granted',
      [table],
    )) as unknown as [{ count: number }];
    return count;
  };
  /** Runs `send` while `table` is held, lets go once `inFlight` holds, and returns what `send` resolved with. */
  const whileHeld = async <T>(table: 'item' | 'reconciliation_hold', send: () => Promise<T>, inFlight: (connection: SqlConnection) => Promise<boolean>) =>
    running.database.db.withConnection(async (connection) => {
      await connection.query('BEGIN');
      await connection.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
      let sent: Promise<T>;
      try {
        sent = send();
        await eventually(() => inFlight(connection), Boolean, { what: 'the fetches in flight' });
      } finally {
        await connection.query('ROLLBACK');
      }
      return sent;
    });

  for (const [path, query] of [['the single-fetch fast path', STOCK], ['a query plan across subgraphs', STOCK_AND_ORDERS]] as const) {
    it(`sends ${REQUESTS} identical queries of one caller, on ${path}, to the subgraph as one fetch and answers each`, async () => {
      const [fetchesBefore, sharedBefore] = [await inventoryFetches(), await sharedAtGateway()];

      const answers = await whileHeld('item',
        () => Promise.all(Array.from({ length: REQUESTS }, () => ask(OPERATOR, query))),
        async (connection) => (await sharedAtGateway()) - sharedBefore === REQUESTS - 1 && (await waiting(connection, 'item')) === 1,
      );

      assert.equal((await inventoryFetches()) - fetchesBefore, 1, 'the inventory subgraph answered one fetch');
      assert.equal(answers[0]!.errors, undefined);
      assert.equal(answers[0]!.data.item.sku, DEMO_SKU);
      assert.equal(answers[0]!.data.item.stockLevels.length, 12);
      for (const answer of answers) assert.deepEqual(answer, answers[0]);
    });
  }

  it('never shares a fetch between callers who see different locations, and gives each its own answer', async () => {
    const [fetchesBefore, sharedBefore] = [await inventoryFetches(), await sharedAtGateway()];

    const [one, two, operator] = await whileHeld('item',
      () => Promise.all([ask(PARTNER_ONE, STOCK), ask(PARTNER_TWO, STOCK), ask(OPERATOR, STOCK)]),
      async (connection) => (await waiting(connection, 'item')) === 3,
    );

    assert.equal((await inventoryFetches()) - fetchesBefore, 3);
    assert.equal((await sharedAtGateway()) - sharedBefore, 0);
    assert.deepEqual(one!.data.item.stockLevels.map((level: { locationId: string }) => level.locationId), [DEMO_LOCATION_ID]);
    assert.deepEqual(two!.data.item.stockLevels.map((level: { locationId: string }) => level.locationId), ['DC-02']);
    assert.equal(operator!.data.item.stockLevels.length, 12);
  });

  it('never shares a mutation, even one identical to another in flight', async () => {
    const release = 'mutation { releaseHold(holdId: "HLD-none") { id } }';
    const [fetchesBefore, sharedBefore] = [await fetchesTo('reconciliation'), await sharedAtGateway()];

    const answers = await whileHeld(
      'reconciliation_hold',
      () => Promise.all([ask(OPERATOR, release, {}), ask(OPERATOR, release, {})]),
      async (connection) => (await waiting(connection, 'reconciliation_hold')) === 2,
    );

    assert.equal((await fetchesTo('reconciliation')) - fetchesBefore, 2, 'each reached the subgraph');
    assert.equal((await sharedAtGateway()) - sharedBefore, 0);
    for (const answer of answers) assert.deepEqual((answer.errors as { extensions: { code: string } }[]).map((error) => error.extensions.code), ['HOLD_NOT_FOUND']);
  });
});
