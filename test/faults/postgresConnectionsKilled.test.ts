import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { STREAMS } from '../../platform/contracts/events.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { eventually } from '../support/eventually.ts';
import { INVENTORY_ENV } from '../support/faultSystem.ts';
import { graphql } from '../support/graphql.ts';
import { startReplicas } from '../support/inventoryService.ts';
import { createTestDatabase, POSTGRES_ADMIN_URL, REDIS_URL, redisNamespace, type TestDatabase } from '../support/services.ts';
import { givenStock, onHandWmsTotal, stockOf } from '../support/stock.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

const BATCHES = 24;
const EVENTS_PER_BATCH = 10;
const RESERVATION_REQUESTS = 60;
const AVAILABLE = 25;
/** A request whose connection was killed under it is retried, as a client would, this many times at most. */
const MAX_TRIES = 20;
const CREATE = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id quantity status } }`;

describe('fault: PostgreSQL connections killed (pg_terminate_backend) during ingestion, reservations and the relay', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  let replicas: RunningService[];
  let admin: pg.Client;
  let redis: Redis;
  const namespace = redisNamespace('fault-postgres');

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 10 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: namespace.eventBus });
    replicas = await startReplicas(infrastructure, INVENTORY_ENV, 2);
    admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    redis = connectRedis(REDIS_URL, namespace.keyPrefix);
  });

  after(async () => {
    for (const replica of replicas ?? []) await replica.stop();
    await infrastructure?.close();
    await admin?.end();
    redis?.disconnect();
    await namespace.clear();
    await database?.drop();
  });

  /** Kills every connection to the test's own database but the admin's; returns how many. */
  const killConnections = async () => {
    const { rowCount } = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [new URL(database.url).pathname.slice(1)]);
    return rowCount ?? 0;
  };

  it('fails the requests it hits with a clear error, and after retries every total is exact: nothing lost, nothing twice, nothing oversold', async () => {
    // Given stock to reserve from, and the on hand the receipts add to
    const sku = 'SKU-FAULT-PG';
    await givenStock(database.db, sku, { 'DC-01': AVAILABLE });
    const receivedSkus = ['SKU-00001', 'SKU-00002'];
    const onHandBefore = await onHandWmsTotal(database.db, receivedSkus, 'DC-01');
    const failures: string[] = [];
    let killed = 0;

    // When receipts are posted and reservations requested side by side on two replicas, and every
    // connection to the database is killed every few requests, landing inside them
    const accepted: { id: string; qty: number }[] = [];
    const ingest = async () => {
      for (let batch = 0; batch < BATCHES; batch += 1) {
        const events = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => acmeEvent({ item_code: receivedSkus[i % 2]!.replace('SKU', 'ACME'), site: 'ATL1', qty: 1 + (i % 4) }));
        for (let attempt = 1; ; attempt += 1) {
          const kill = batch % 4 === 1 && attempt === 1 ? killConnections().then((n) => void (killed += n)) : null;
          const answer = await postEvents(replicas[batch % 2]!.url, 'acme-wms', events).catch((error: Error) => ({ status: 0, body: { error: error.message } }));
          await kill;
          if (answer.status === 200) break;
          failures.push(`events ${answer.status} ${answer.body?.error?.code}: ${answer.body?.error?.message ?? JSON.stringify(answer.body)}`);
          assert.ok(attempt < MAX_TRIES, `batch ${batch} never went through: ${failures.at(-1)}`);
        }
        accepted.push(...events.map((event) => ({ id: event.event_id as string, qty: event.qty as number })));
      }
    };
    const granted: string[] = [];
    let refused = 0;
    const reserve = async () => {
      for (let request = 0; request < RESERVATION_REQUESTS; request += 1) {
        const input = { sku, quantity: 1, locationId: 'DC-01', channel: 'WEB', reference: `cart-${request}`, ttlSeconds: 600, idempotencyKey: `fault-pg-${request}` };
        for (let attempt = 1; ; attempt += 1) {
          const kill = request % 8 === 3 && attempt === 1 ? killConnections().then((n) => void (killed += n)) : null;
          const { data, errors } = await graphql(replicas[request % 2]!.url, CREATE, { input }).catch((error: Error) => ({ data: null, errors: [{ message: error.message, extensions: { code: 'NO_ANSWER' } }] }));
          await kill;
          if (data?.createReservation) {
            granted.push(data.createReservation.id);
            break;
          }
          const code = errors?.[0]?.extensions?.code;
          if (code === 'INSUFFICIENT_STOCK') {
            refused += 1;
            break;
          }
          failures.push(`reservation ${code}: ${errors?.[0]?.message}`);
          assert.ok(attempt < MAX_TRIES, `reservation ${request} never got an answer: ${failures.at(-1)}`);
        }
      }
    };
    await Promise.all([ingest(), reserve()]);

    // Then the kills landed, and each request they failed said so with a code
    assert.ok(killed > 0, 'connections were killed');
    // (Both say retrying is safe: the batch is atomic, the reservation keyed.)
    const cleanFailures = new Set([
      'events 503 SERVICE_UNAVAILABLE: The database was unavailable: nothing in the batch was applied; send it again',
      'reservation SERVICE_UNAVAILABLE: The database was unavailable: send the request again (a mutation with the same idempotency key)',
    ]);
    assert.deepEqual(failures.filter((failure) => !cleanFailures.has(failure)), [], 'each failed request answered with its stable code');
    // And every accepted event is applied exactly once, with exact totals
    const applied = await database.db.query<{ times: number }>(`SELECT count(*)::int AS times FROM inventory_event WHERE source = 'acme-wms' AND event_id = ANY($1) GROUP BY event_id`, [accepted.map(({ id }) => id)]);
    assert.equal(applied.length, accepted.length, 'no accepted event lost');
    assert.ok(applied.every(({ times }) => times === 1), 'none applied twice');
    assert.equal(await onHandWmsTotal(database.db, receivedSkus, 'DC-01'), onHandBefore + accepted.reduce((sum, { qty }) => sum + qty, 0));
    // And exactly the available units were reserved, once each, whatever was retried
    assert.equal(new Set(granted).size, AVAILABLE, 'every unit reserved once');
    assert.equal(refused, RESERVATION_REQUESTS - AVAILABLE);
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 0, reserved: AVAILABLE, allocated: 0 }, 'never oversold');
    // And the relay, whose connections died too, publishes every outbox record
    const outboxIds = (await database.db.query<{ id: string }>('SELECT id::text FROM event_outbox WHERE stream = $1 ORDER BY id', [STREAMS.stockChanges])).map(({ id }) => id);
    const published = await eventually(
      async () => new Set((await redis.xrange(STREAMS.stockChanges, '-', '+')).map(([, fields]) => fields[fields.indexOf('id') + 1]!)),
      (ids) => outboxIds.filter((id) => !ids.has(id)).length === 0,
      { what: 'every outbox record published' },
    );
    assert.deepEqual(outboxIds.filter((id) => !published.has(id)), []);
  });
});
