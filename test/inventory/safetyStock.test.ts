import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { startSystem } from '../../system/startSystem.ts';
import { useCleanup } from '../support/cleanup.ts';
import { capturedLogLines } from '../support/collectingLogger.ts';
import { OPERATOR, type TestClient } from '../support/gatewayClients.ts';
import { graphql, type GraphQLResponse } from '../support/graphql.ts';
import { givenStock } from '../support/stock.ts';
import { recordedStockChanges, type RecordedStockChange } from '../support/stockChanges.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { subscribe as subscribeThroughGateway } from '../support/subscriber.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// Safety stock through the gateway, on PostgreSQL and Redis: set and cleared by planners, in bulk
// all or nothing, and defaulted by location and item class. The seed classes SKU-00001 as A,
// SKU-00002 to SKU-00004 as B and SKU-00005 as C, and sets a safety stock for 4 levels in 5.

const DEFAULTS = { '*': { A: 7, B: 2 }, 'DC-02': { '*': 3, A: 9 } };
/** The default of a level under DEFAULTS: the location's own rules first, then any location's; the class's own rule first, then any class's. */
function expectedDefault(locationId: string, itemClass: string | null, defaults: Record<string, Record<string, number>> = DEFAULTS): number {
  for (const rules of [defaults[locationId], defaults['*']]) {
    const quantity = (itemClass === null ? undefined : rules?.[itemClass]) ?? rules?.['*'];
    if (quantity !== undefined) return quantity;
  }
  return 0;
}

const PARTNER: TestClient = { name: 'partner', scopes: ['inventory:read', 'planning:write'], locations: ['DC-01'], limits: OPERATOR.limits };
const READER: TestClient = { name: 'reader', scopes: ['inventory:read'], limits: OPERATOR.limits };

const LEVEL = 'sku locationId onHandWms safetyStock safetyStockOrigin available';
const SET = `mutation Set($input: SafetyStockInput!) { setSafetyStock(input: $input) { ${LEVEL} } }`;
const SET_MANY = `mutation SetMany($input: SetSafetyStocksInput!) { setSafetyStocks(input: $input) { ${LEVEL} } }`;
const STOCK_LEVEL = `query Level($sku: ID!, $locationId: ID!) { stockLevel(sku: $sku, locationId: $locationId) { ${LEVEL} bucketChanges { bucket source } } }`;

describe('safety stock, through the gateway', () => {
  const cleanup = useCleanup();
  const logs = capturedLogLines();
  let running: TestSystem;
  const as = (client: string) => <Data = any>(query: string, variables: Record<string, unknown> = {}) =>
    graphql<Data>(running.system.gateway.url, query, variables, running.clients.headers(client));
  const asOperator = as(OPERATOR.name);
  const safetyStockChanges = async (sku?: string) => (await recordedStockChanges(running.database.db, sku)).filter((change) => change.cause.type === 'SAFETY_STOCK');
  const levelOf = async (sku: string, locationId: string) => {
    const answer = await asOperator(STOCK_LEVEL, { sku, locationId });
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    return answer.data.stockLevel;
  };

  /** A subscriber to the stock changes of `skus`, from the start of the stream; `next(n)` resolves with the first `n` it has received. */
  const subscribe = (skus: readonly string[]) => {
    const subscriber = subscribeThroughGateway<any>(running.system.gateway.url, running.clients.headers(),
      `subscription ($skus: [ID!]) { stockChanged(skus: $skus, after: "0-0") {
        sku locationId sequence cause { type id } before { safetyStock available } after { safetyStock available } stockLevel { safetyStock safetyStockOrigin } } }`,
      { skus }, 'stockChanged');
    cleanup(() => subscriber.close());
    const next = async (count: number): Promise<any[]> => {
      await subscriber.until((received) => received.length >= count, 15_000);
      return subscriber.received.slice(0, count);
    };
    return { next };
  };

  before(async () => {
    running = await startTestSystem('safety-stock', {
      logger: logs.logger,
      clients: [OPERATOR, PARTNER, READER],
      env: { SAFETY_STOCK_DEFAULTS: JSON.stringify(DEFAULTS), WMS_SOURCE_SECRETS: 'acme-wms=test-secret' },
    });
  });

  after(() => running?.stop());

  it('gives each seeded level without a safety stock of its own the default of its location and class once the service has started, published, and leaves the others as set', async () => {
    // Given the seeded levels (which have a safety stock of their own is the database's to say: only their own data sets it)
    const seeded = await running.database.db.query<{ sku: string; locationId: string; itemClass: string; explicit: boolean }>(
      `SELECT level.sku, level.location_id AS "locationId", item.item_class AS "itemClass", level.safety_stock_explicit AS explicit
         FROM stock_level level JOIN item USING (sku) ORDER BY level.sku, level.location_id`);
    const following = seeded.filter((level) => !level.explicit);
    assert.ok(following.length > 0 && following.length < seeded.length, 'the seed leaves some levels to their default, not all');
    const changed = following.filter((level) => expectedDefault(level.locationId, level.itemClass) !== 0);
    assert.ok(changed.some((level) => level.locationId === 'DC-02') && changed.some((level) => level.itemClass === 'B'), 'the seed gives the rules something to choose between');

    // When the pass the service started in the background has delivered a change for each level whose default is not the seed's 0
    await subscribe([...new Set(seeded.map((level) => level.sku))]).next(changed.length);

    // Then the gateway shows each following level at its default, and each other with the safety stock the seed set
    const { data, errors } = await asOperator(`{ items(first: 5) { nodes { sku itemClass stockLevels { locationId safetyStock safetyStockOrigin } } } }`);
    assert.equal(errors, undefined, JSON.stringify(errors));
    assert.deepEqual(data.items.nodes.map((item: { itemClass: string }) => item.itemClass), ['A', 'B', 'B', 'B', 'C']);
    const shown = data.items.nodes.flatMap((item: any) => item.stockLevels.map((level: any) => ({ sku: item.sku, itemClass: item.itemClass, ...level })));
    for (const level of shown) {
      const { explicit } = seeded.find((row) => row.sku === level.sku && row.locationId === level.locationId)!;
      if (explicit) assert.ok(level.safetyStockOrigin === 'SET' && level.safetyStock >= 1 && level.safetyStock <= 4, JSON.stringify(level));
      else assert.deepEqual([level.safetyStockOrigin, level.safetyStock], ['DEFAULT', expectedDefault(level.locationId, level.itemClass)], JSON.stringify(level));
    }
    // and each level the defaults changed is one SAFETY_STOCK change of the pass, from the seed's 0; a level whose default is 0 had nothing to change
    const recorded = await safetyStockChanges();
    assert.deepEqual(
      recorded.map(({ sku, locationId, sequence, before, after }) => `${sku}@${locationId}#${sequence}: ${before.safetyStock} -> ${after.safetyStock}`).sort(),
      changed.map(({ sku, locationId, itemClass }) => `${sku}@${locationId}#1: 0 -> ${expectedDefault(locationId, itemClass)}`).sort(),
    );
    assert.equal(new Set(recorded.map((change) => change.cause.id)).size, 1);
    assert.match(recorded[0]!.cause.id, /^defaults-[0-9a-f-]{36}$/);
  });

  it('creates a level the warehouse first stocks at the default of its location and class', async () => {
    // Given two items the seed does not have: one of class A, one unclassified
    await running.database.db.query(`INSERT INTO item (sku, description, unit_of_measure, item_class) VALUES ('SKU-00042', 'classed', 'EA', 'A'), ('SKU-00043', 'unclassed', 'EA', NULL)`);
    // When the warehouse receives 20 of each at DC-01 (ATL1) and DC-02 (ORD1)
    const receipts = ['ACME-00042', 'ACME-00043'].flatMap((itemCode) => ['ATL1', 'ORD1'].map((site) => acmeEvent({ txn_type: 'RCV', item_code: itemCode, site, qty: 20 })));
    const posted = await postEvents(running.system.subgraphs.inventory.url, 'acme-wms', receipts);
    assert.equal(posted.body.applied, 4, JSON.stringify(posted.body));

    // Then each new level keeps back its default: class A's own rule at each location, and for the unclassified item only DC-02's rule for any class
    for (const [sku, locationId, safetyStock] of [['SKU-00042', 'DC-01', 7], ['SKU-00042', 'DC-02', 9], ['SKU-00043', 'DC-01', 0], ['SKU-00043', 'DC-02', 3]] as const) {
      const level = await levelOf(sku, locationId);
      assert.deepEqual([level.safetyStock, level.safetyStockOrigin, level.available], [safetyStock, 'DEFAULT', 20 - safetyStock], `${sku} at ${locationId}`);
    }
  });

  it('takes a safety stock out of available at once, in every read, and delivers the change to stockChanged subscribers', async () => {
    // Given 50 units of a class C item at DC-01, nothing kept back, and a subscriber to its changes
    await givenStock(running.database.db, 'SAFE-1', { 'DC-01': 50 }, { itemClass: 'C' });
    const subscriber = subscribe(['SAFE-1']);

    // When a planner keeps 12 back
    const set = await asOperator(SET, { input: { sku: 'SAFE-1', locationId: 'DC-01', quantity: 12 } });

    // Then the answer, the stock level and availability all show 38 available at once
    assert.equal(set.errors, undefined, JSON.stringify(set.errors));
    assert.deepEqual(set.data.setSafetyStock, { sku: 'SAFE-1', locationId: 'DC-01', onHandWms: 50, safetyStock: 12, safetyStockOrigin: 'SET', available: 38 });
    const level = await levelOf('SAFE-1', 'DC-01');
    assert.equal(level.available, 38);
    assert.deepEqual(level.bucketChanges.filter((change: { bucket: string }) => change.bucket === 'safetyStock'), [{ bucket: 'safetyStock', source: 'stockgraph' }]);
    const availability = await asOperator(`{ availability(skus: ["SAFE-1"], quantity: 40) { items { available earliestPromiseDate locations { locationId available } } } }`);
    assert.deepEqual(availability.data.availability.items, [{ available: 38, earliestPromiseDate: null, locations: [{ locationId: 'DC-01', available: 38 }] }]);
    // and the subscriber receives the change as its first of the SKU, caused by the request
    const [change] = await subscriber.next(1);
    assert.match(change.cause.id, /^SST-[0-9a-f-]{36}$/);
    assert.deepEqual(change, {
      sku: 'SAFE-1', locationId: 'DC-01', sequence: 1, cause: { type: 'SAFETY_STOCK', id: change.cause.id },
      before: { safetyStock: 0, available: 50 }, after: { safetyStock: 12, available: 38 }, stockLevel: { safetyStock: 12, safetyStockOrigin: 'SET' },
    });
  });

  it('returns a cleared level to its default, and publishes nothing when the figure stays what it was', async () => {
    // Given 30 units of a class A item at DC-01 (default 7) with 4 set for it
    await givenStock(running.database.db, 'SAFE-2', { 'DC-01': 30 }, { itemClass: 'A', safetyStock: 4 });
    const set = (quantity: number | null) => asOperator(SET, { input: { sku: 'SAFE-2', locationId: 'DC-01', quantity } });

    // When the same 4 is set again: nothing to publish
    assert.deepEqual((await set(4)).data.setSafetyStock, { sku: 'SAFE-2', locationId: 'DC-01', onHandWms: 30, safetyStock: 4, safetyStockOrigin: 'SET', available: 26 });
    assert.deepEqual(await safetyStockChanges('SAFE-2'), []);
    // When it is cleared: the default of class A at DC-01, one change
    assert.deepEqual((await set(null)).data.setSafetyStock, { sku: 'SAFE-2', locationId: 'DC-01', onHandWms: 30, safetyStock: 7, safetyStockOrigin: 'DEFAULT', available: 23 });
    // and cleared again, or set to the default's figure: only the origin follows, nothing is published
    assert.equal((await asOperator(`mutation { setSafetyStock(input: { sku: "SAFE-2", locationId: "DC-01" }) { safetyStockOrigin } }`)).data.setSafetyStock.safetyStockOrigin, 'DEFAULT');
    assert.deepEqual((await set(7)).data.setSafetyStock, { sku: 'SAFE-2', locationId: 'DC-01', onHandWms: 30, safetyStock: 7, safetyStockOrigin: 'SET', available: 23 });

    const recorded = await safetyStockChanges('SAFE-2');
    assert.deepEqual(recorded.map(({ sequence, before, after }) => [sequence, before.safetyStock, after.safetyStock, after.available]), [[1, 4, 7, 23]]);
  });

  it('sets 1,000 levels in one call, all of them published with one cause, answered in the order of the lines, and audited', async () => {
    // Given 84 items of class C that no location stocks yet (84 x 12 locations: 1,008 levels to be)
    await running.database.db.query(`INSERT INTO item (sku, description, unit_of_measure, item_class)
      SELECT 'BULK-' || lpad(n::text, 3, '0'), 'bulk', 'EA', 'C' FROM generate_series(1, 84) AS n`);
    const locations = Array.from({ length: 12 }, (_, i) => `DC-${String(i + 1).padStart(2, '0')}`);
    const lines = Array.from({ length: 84 }, (_, i) => `BULK-${String(i + 1).padStart(3, '0')}`)
      .flatMap((sku) => locations.map((locationId) => ({ sku, locationId })))
      .slice(0, 1_000)
      .map((line, i) => ({ ...line, quantity: 10 + (i % 5) }));
    const subscriber = subscribe(['BULK-001', 'BULK-002']);

    // When they are set in one call
    const started = performance.now();
    const answer = await asOperator(SET_MANY, { input: { lines } });
    const elapsedMs = performance.now() - started;

    // Then every level exists, with its safety stock, in the order asked
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    assert.deepEqual(answer.data.setSafetyStocks.map(({ sku, locationId, safetyStock, safetyStockOrigin, available }: any) => [sku, locationId, safetyStock, safetyStockOrigin, available]),
      lines.map(({ sku, locationId, quantity }) => [sku, locationId, quantity, 'SET', 0]));
    // and each is a change of its own, all with the request's cause, whose subscribers receive them
    const recorded = (await safetyStockChanges()).filter((change) => change.sku.startsWith('BULK-'));
    assert.equal(recorded.length, 1_000);
    assert.equal(new Set(recorded.map((change) => change.cause.id)).size, 1);
    const delivered = await subscriber.next(24);
    assert.deepEqual(delivered.map(({ sku, locationId, after: { safetyStock } }) => `${sku}@${locationId}=${safetyStock}`).sort(),
      lines.slice(0, 24).map(({ sku, locationId, quantity }) => `${sku}@${locationId}=${quantity}`).sort());
    // and the inventory's audit line names the mutation and the levels it was given
    const audits = logs.parsed().filter((line) => line.log === 'audit' && line.service === 'inventory' && (line.fields as { field: string }[])[0]?.field === 'setSafetyStocks');
    assert.equal(audits.length, 1);
    const [field] = audits[0]!.fields as { field: string; ids: Record<string, string>; errorCodes: string[] }[];
    assert.deepEqual([audits[0]!.actor, audits[0]!.outcome, field!.ids['input.lines.0.sku'], field!.ids['input.lines.999.locationId'], field!.errorCodes],
      ['operator', 'ok', 'BULK-001', lines[999]!.locationId, []]);
    console.log(`setSafetyStocks of 1,000 new levels through the gateway: ${Math.round(elapsedMs)} ms`);
  });

  describe('bad input changes nothing and publishes nothing', () => {
    const LINES = [{ sku: 'SAFE-3', locationId: 'DC-01', quantity: 5 }, { sku: 'SAFE-3', locationId: 'DC-03', quantity: 6 }, { sku: 'SAFE-4', locationId: 'DC-01', quantity: null }];
    let outboxBefore: RecordedStockChange[];

    before(async () => {
      await givenStock(running.database.db, 'SAFE-3', { 'DC-01': 10, 'DC-03': 10 }, { itemClass: 'C', safetyStock: 1 });
      await givenStock(running.database.db, 'SAFE-4', { 'DC-01': 10 }, { itemClass: 'A', safetyStock: 2 });
      outboxBefore = await recordedStockChanges(running.database.db);
    });

    /** Asserts the refusal's code and details, then that no level of LINES moved and no stock change was recorded since. */
    const assertRefused = async (answer: GraphQLResponse, code: string, details: Record<string, unknown> = {}) => {
      assert.equal(answer.data ?? null, null, JSON.stringify(answer));
      const [error] = answer.errors ?? [];
      assert.equal(error?.extensions?.code, code, JSON.stringify(answer.errors));
      for (const [key, value] of Object.entries(details)) assert.deepEqual(error!.extensions![key], value, key);
      for (const [sku, locationId, safetyStock] of [['SAFE-3', 'DC-01', 1], ['SAFE-3', 'DC-03', 1], ['SAFE-4', 'DC-01', 2]] as const) {
        const level = await levelOf(sku, locationId);
        assert.deepEqual([level.safetyStock, level.safetyStockOrigin], [safetyStock, 'SET'], `${sku} at ${locationId} unchanged`);
      }
      assert.deepEqual(await recordedStockChanges(running.database.db), outboxBefore, 'no stock change recorded, so none published');
    };
    const problemFields = (answer: GraphQLResponse) => (answer.errors?.[0]?.extensions?.problems as { field: string }[] | undefined)?.map((problem) => problem.field);

    it('refuses an unknown SKU, and an unknown location, naming every one, in a call with good lines', async () => {
      await assertRefused(await asOperator(SET_MANY, { input: { lines: [...LINES, { sku: 'NOPE-1', locationId: 'DC-01', quantity: 1 }, { sku: 'NOPE-2', locationId: 'DC-99', quantity: 1 }] } }),
        'UNKNOWN_SKU', { unknownSkus: ['NOPE-1', 'NOPE-2'] });
      await assertRefused(await asOperator(SET_MANY, { input: { lines: [...LINES, { sku: 'SAFE-4', locationId: 'DC-98', quantity: 1 }, { sku: 'SAFE-3', locationId: 'DC-99', quantity: 1 }] } }),
        'UNKNOWN_LOCATION', { unknownLocations: ['DC-98', 'DC-99'] });
      await assertRefused(await asOperator(SET, { input: { sku: 'NOPE-1', locationId: 'DC-01', quantity: 1 } }), 'UNKNOWN_SKU', { unknownSkus: ['NOPE-1'] });
    });

    it('refuses negative quantities and a level named twice, naming every line at fault', async () => {
      const answer = await asOperator(SET_MANY, { input: { lines: [...LINES, { sku: 'SAFE-3', locationId: 'DC-01', quantity: null }, { sku: 'SAFE-4', locationId: 'DC-03', quantity: -1 }] } });
      await assertRefused(answer, 'BAD_USER_INPUT');
      assert.deepEqual(problemFields(answer), ['lines[3]', 'lines[4].quantity']);
      await assertRefused(await asOperator(SET, { input: { sku: 'SAFE-3', locationId: 'DC-01', quantity: -5 } }), 'BAD_USER_INPUT', { problems: [{ field: 'lines[0].quantity', message: 'must be a whole number from 0 to 2,147,483,647, or null, got -5' }] });
    });

    it('refuses more than 1,000 lines', async () => {
      const lines = Array.from({ length: 1_001 }, (_, i) => ({ sku: 'SAFE-3', locationId: `DC-${i}`, quantity: 1 }));
      const answer = await asOperator(SET_MANY, { input: { lines } });
      await assertRefused(answer, 'BAD_USER_INPUT');
      assert.deepEqual(problemFields(answer), ['lines']);
    });

    it('refuses, as GraphQL does any Int, a quantity beyond 2,147,483,647 or not whole', async () => {
      for (const quantity of [2_147_483_648, 2.5]) {
        await assertRefused(await asOperator(SET, { input: { sku: 'SAFE-3', locationId: 'DC-01', quantity } }), 'BAD_USER_INPUT');
      }
      await assertRefused(await asOperator(`mutation { setSafetyStock(input: { sku: "SAFE-3", locationId: "DC-01", quantity: 2147483648 }) { safetyStock } }`), 'GRAPHQL_VALIDATION_FAILED');
    });

    it('refuses a partner a location it is not granted, existing or not, naming it, and a client without planning:write', async () => {
      const asPartner = as(PARTNER.name);
      await assertRefused(await asPartner(SET, { input: { sku: 'SAFE-3', locationId: 'DC-03', quantity: 9 } }), 'FORBIDDEN', { locationIds: ['DC-03'] });
      await assertRefused(await asPartner(SET, { input: { sku: 'SAFE-3', locationId: 'DC-99', quantity: 9 } }), 'FORBIDDEN', { locationIds: ['DC-99'] });
      await assertRefused(await asPartner(SET_MANY, { input: { lines: LINES } }), 'FORBIDDEN', { locationIds: ['DC-03'] });
      await assertRefused(await as(READER.name)(SET, { input: { sku: 'SAFE-3', locationId: 'DC-01', quantity: 9 } }), 'FORBIDDEN', { requiredScopes: ['planning:write'] });
      // while its own location is its to set
      const own = await asPartner(SET, { input: { sku: 'SAFE-3', locationId: 'DC-01', quantity: 3 } });
      assert.deepEqual(own.data?.setSafetyStock, { sku: 'SAFE-3', locationId: 'DC-01', onHandWms: 10, safetyStock: 3, safetyStockOrigin: 'SET', available: 7 }, JSON.stringify(own.errors));
    });
  });

  it('moves the levels that follow their default to a new one when a replica starts with new defaults, and leaves the levels set alone', async () => {
    // Given a level following its default (SAFE-5, class B at DC-01: 2) and one set for itself (SAFE-6, 1)
    await givenStock(running.database.db, 'SAFE-5', { 'DC-01': 10 }, { itemClass: 'B' });
    await givenStock(running.database.db, 'SAFE-6', { 'DC-01': 10 }, { itemClass: 'B', safetyStock: 1 });
    await asOperator(SET_MANY, { input: { lines: [{ sku: 'SAFE-5', locationId: 'DC-01', quantity: null }] } });
    assert.equal((await levelOf('SAFE-5', 'DC-01')).safetyStock, 2);
    const subscriber = subscribe(['SAFE-5']);

    // When another replica of the system starts with class B's default at 5
    const newDefaults = { ...DEFAULTS, '*': { ...DEFAULTS['*'], B: 5 } };
    const replica = await startSystem({
      infrastructure: running.infrastructure, host: '127.0.0.1', ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 }, logger: logs.logger,
      env: { ...running.clients.env, RECONCILIATION_INTERVAL_SECONDS: '0', SAFETY_STOCK_DEFAULTS: JSON.stringify(newDefaults) },
    });
    cleanup(() => replica.stop());

    // Then, once its pass has moved the level that follows its default (the level's second change), it keeps 5 back, and the other still 1
    const [, moved] = await subscriber.next(2);
    assert.deepEqual([moved.cause.id.startsWith('defaults-'), moved.before.safetyStock, moved.after.safetyStock], [true, 2, 5]);
    const following = await levelOf('SAFE-5', 'DC-01');
    assert.deepEqual([following.safetyStock, following.safetyStockOrigin, following.available], [5, 'DEFAULT', 5]);
    const set = await levelOf('SAFE-6', 'DC-01');
    assert.deepEqual([set.safetyStock, set.safetyStockOrigin, set.available], [1, 'SET', 9]);
    assert.deepEqual(await safetyStockChanges('SAFE-6'), []);
    assert.equal(expectedDefault('DC-01', 'B', newDefaults), 5);
  });
});

describe('safety stock defaults that name a location that does not exist', () => {
  it('stop the inventory service from starting, naming the variable and the location', async () => {
    await assert.rejects(
      startTestSystem('safety-stock-typo', { env: { SAFETY_STOCK_DEFAULTS: '{"DC-01": {"A": 4}, "DC-1O": {"A": 4}}' } }),
      (error: unknown) => error instanceof ConfigurationError && /^Invalid configuration: SAFETY_STOCK_DEFAULTS names locations that do not exist: DC-1O$/.test(error.message),
    );
  });
});
