import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STREAMS } from '../../platform/contracts/events.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startServiceProcess, type ChildService } from '../support/childProcesses.ts';
import { eventually } from '../support/eventually.ts';
import { INVENTORY_ENV } from '../support/faultSystem.ts';
import { graphql } from '../support/graphql.ts';
import { createTestDatabase, REDIS_URL, redisNamespace, type TestDatabase } from '../support/services.ts';
import { givenStock, onHandWmsTotal, stockOf } from '../support/stock.ts';
import { TEST_IDENTITY_SECRET } from '../support/trustedCaller.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

const BIG_BATCH = 1_000;
const RESERVATION_REQUESTS = 80;
const AVAILABLE = 30;
const CREATE = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }`;

describe('fault: an inventory replica SIGKILLed mid-batch while another runs', () => {
  let database: TestDatabase;
  let redis: Redis;
  const namespace = redisNamespace('fault-replica');
  let doomed: ChildService;
  let survivor: ChildService;

  const startReplica = () => startServiceProcess('subgraphs/inventory/main.ts', 'inventory', {
    ...INVENTORY_ENV, DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: namespace.keyPrefix, INVENTORY_PORT: '0', GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET,
  });

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 10 });
    redis = connectRedis(REDIS_URL, namespace.keyPrefix);
    [doomed, survivor] = [await startReplica(), await startReplica()];
  });

  after(async () => {
    await doomed?.kill();
    await survivor?.kill();
    redis?.disconnect();
    await namespace.clear();
    await database?.drop();
  });

  it('applies every accepted event exactly once, hands the relay to the survivor, and never reserves more than is available', async () => {
    // Given stock to reserve from, and the on hand the receipts add to
    const sku = 'SKU-FAULT-KILL';
    await givenStock(database.db, sku, { 'DC-01': AVAILABLE });
    const receivedSkus = ['SKU-00001', 'SKU-00002'];
    const onHandBefore = await onHandWmsTotal(database.db, receivedSkus, 'DC-01');

    // When reservations arrive at both replicas, a big batch of receipts goes to the doomed one,
    // and it is SIGKILLed while the batch's transaction is open
    const granted: string[] = [];
    let refused = 0;
    let retried = 0;
    const reserve = async (request: number) => {
      const input = { sku, quantity: 1, locationId: 'DC-01', channel: 'WEB', reference: `cart-${request}`, ttlSeconds: 600, idempotencyKey: `fault-kill-${request}` };
      // A caller whose replica is gone retries on the other with the same key, as a load balancer would send it.
      for (let replica = request % 2 === 0 ? doomed : survivor; ; replica = survivor, retried += 1) {
        const answer = await graphql(replica.url, CREATE, { input }).catch(() => null);
        if (answer?.data?.createReservation) return void granted.push(answer.data.createReservation.id);
        if (answer?.errors?.[0]?.extensions?.code === 'INSUFFICIENT_STOCK') return void (refused += 1);
        assert.ok(replica === doomed, `the survivor answered ${JSON.stringify(answer?.errors)}`);
      }
    };
    const batch = Array.from({ length: BIG_BATCH }, (_, i) => acmeEvent({ item_code: receivedSkus[i % 2]!.replace('SKU', 'ACME'), site: 'ATL1', qty: 1 + (i % 5) }));
    const firstPost = postEvents(doomed.url, 'acme-wms', batch).catch((error: Error) => error);
    const reservations = Promise.all(Array.from({ length: RESERVATION_REQUESTS }, (_, request) => reserve(request)));
    await eventually(
      () => database.db.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND xact_start IS NOT NULL AND query ILIKE '%inventory_event%'`),
      (rows) => rows.length > 0,
      { intervalMs: 2, what: "the batch's transaction open" },
    );
    await doomed.kill();
    const lost = await firstPost;
    assert.ok(lost instanceof Error, 'the doomed replica never answered the batch');
    // And the sender, told nothing, posts the same batch to the survivor
    const { status, body } = await postEvents(survivor.url, 'acme-wms', batch);
    assert.equal(status, 200, JSON.stringify(body));
    await reservations;

    // Then every event of the batch is applied exactly once, and the on hand is exact
    const applied = await database.db.query<{ times: number }>(`SELECT count(*)::int AS times FROM inventory_event WHERE source = 'acme-wms' AND event_id = ANY($1) GROUP BY event_id`, [batch.map((event) => event.event_id)]);
    assert.equal(applied.length, BIG_BATCH, 'none lost');
    assert.ok(applied.every(({ times }) => times === 1), 'none twice');
    assert.equal(await onHandWmsTotal(database.db, receivedSkus, 'DC-01'), onHandBefore + batch.reduce((sum, event) => sum + (event.qty as number), 0));
    assert.equal(body.applied, BIG_BATCH, 'the survivor applied the whole batch itself: the killed transaction left nothing');
    // And exactly the available units were reserved, each once, retries included: nothing oversold
    assert.ok(retried > 0, 'some reservations were retried on the survivor');
    assert.equal(new Set(granted).size, AVAILABLE);
    assert.equal(refused, RESERVATION_REQUESTS - AVAILABLE);
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 0, reserved: AVAILABLE, allocated: 0 });
    // And the survivor's relay, the relay lock free again, publishes every stock change
    const outboxIds = (await database.db.query<{ id: string }>('SELECT id::text FROM event_outbox WHERE stream = $1', [STREAMS.stockChanges])).map(({ id }) => id);
    const published = await eventually(
      async () => new Set((await redis.xrange(STREAMS.stockChanges, '-', '+')).map(([, fields]) => fields[fields.indexOf('id') + 1]!)),
      (ids) => outboxIds.every((id) => ids.has(id)),
      { what: 'every outbox record published' },
    );
    assert.equal(outboxIds.filter((id) => !published.has(id)).length, 0);
  });
});
