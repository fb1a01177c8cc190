import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BusEvent, EventBus } from '../../platform/events/eventBus.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import { StockChangeRelay, STOCK_CHANGES_STREAM, type StockLevelChanged } from '../../subgraphs/inventory/services/stockChangeRelay.ts';
import { WarehouseEventIngestion } from '../../subgraphs/inventory/services/warehouseEventIngestion.ts';
import { useCleanup } from '../support/cleanup.ts';
import { assertGapFreeInOrder } from '../support/stockChanges.ts';
import { createTestDatabase, REDIS_URL, type TestDatabase } from '../support/services.ts';
import { acmeEvent } from '../support/warehouseEvents.ts';

/** Changes as a consumer keeps them: repeats (same item x location and sequence) dropped. */
function deduplicate(changes: readonly StockLevelChanged[]): StockLevelChanged[] {
  const seen = new Set<string>();
  return changes.filter((change) => {
    const key = `${change.sku}@${change.locationId}#${change.sequence}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

describe('the stock-change outbox relay', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let redis: Redis;
  let bus: RedisEventBus;
  let ingestion: WarehouseEventIngestion;
  let readFrom = '0-0';

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 20 });
    redis = connectRedis(REDIS_URL);
    bus = new RedisEventBus(redis);
    ingestion = new WarehouseEventIngestion(database.db.prisma, loadExampleMappings());
  });

  after(async () => {
    await bus?.close();
    redis?.disconnect();
    await database?.drop();
  });

  /** Makes `count` receipts spread over three SKUs at DC-01, each its own change. */
  async function makeChanges(count: number): Promise<void> {
    const skus = ['ACME-00001', 'ACME-00002', 'ACME-00005'];
    for (let i = 0; i < count; i += 50) {
      await ingestion.ingest('acme-wms', Array.from({ length: Math.min(50, count - i) }, (_, j) => acmeEvent({ item_code: skus[(i + j) % 3], qty: 1 })));
    }
    const [last] = await redis.xrevrange(STOCK_CHANGES_STREAM, '+', '-', 'COUNT', 1);
    readFrom = last?.[0] ?? '0-0';
  }

  /** This database's changes on the stream since makeChanges, in stream order. */
  async function streamed(): Promise<StockLevelChanged[]> {
    const entries = await redis.xrange(STOCK_CHANGES_STREAM, `(${readFrom}`, '+');
    const outboxIds = new Set((await database.db.prisma.stockChangeOutbox.findMany({ select: { id: true } })).map((row) => row.id.toString()));
    return entries
      .map(([, fields]) => JSON.parse(fields[fields.indexOf('payload') + 1]!) as StockLevelChanged)
      .filter((change) => outboxIds.has(change.outboxId));
  }

  async function drain(relay: StockChangeRelay): Promise<void> {
    while ((await relay.relayOnce()) > 0);
  }

  it('publishes every change once, in order per item x location, and marks it published', async () => {
    await makeChanges(300);
    await drain(new StockChangeRelay(database.db.prisma, bus, { batchSize: 64 }));

    const changes = await streamed();
    assert.equal(changes.length, 300);
    assertGapFreeInOrder(changes);
    assert.equal(await database.db.prisma.stockChangeOutbox.count({ where: { publishedAt: null } }), 0);
  });

  it('loses and reorders nothing when it crashes between publishing and marking', async () => {
    await makeChanges(120);
    let crashes = 1;
    const crashingBus: EventBus = {
      subscribe: bus.subscribe.bind(bus),
      read: bus.read.bind(bus),
      publish: bus.publish.bind(bus),
      close: bus.close.bind(bus),
      publishMany: async (stream, events) => {
        const cursors = await bus.publishMany(stream, events);
        if (crashes-- > 0) throw new Error('process died after publishing');
        return cursors;
      },
    };

    await assert.rejects(new StockChangeRelay(database.db.prisma, crashingBus, { batchSize: 50 }).relayOnce(), /process died/);
    await drain(new StockChangeRelay(database.db.prisma, bus, { batchSize: 50 }));

    const changes = await streamed();
    assert.equal(changes.length, 170, 'the first batch of 50 went out twice: at least once');
    const kept = deduplicate(changes);
    assert.equal(kept.length, 120);
    assertGapFreeInOrder(kept);
  });

  it('lets one relay publish at a time when several replicas run', async () => {
    await makeChanges(200);
    const relays = [1, 2, 3].map(() => new StockChangeRelay(database.db.prisma, bus, { batchSize: 20, pollIntervalMs: 5 }));
    const published = new Promise<void>((resolve, reject) => {
      const check = setInterval(async () => {
        try {
          if ((await database.db.prisma.stockChangeOutbox.count({ where: { publishedAt: null } })) === 0) {
            clearInterval(check);
            resolve();
          }
        } catch (error) {
          clearInterval(check);
          reject(error);
        }
      }, 20);
    });
    for (const relay of relays) {
      relay.start((error) => assert.fail(String(error)));
      cleanup(() => relay.stop());
    }
    await published;

    const changes = await streamed();
    assert.equal(changes.length, 200, 'no change published twice');
    assertGapFreeInOrder(changes);
  });

  it('hands subscribers the same events whether they read live or resume from a cursor', async () => {
    const live: BusEvent[] = [];
    let arrived!: () => void;
    const all = new Promise<void>((resolve) => (arrived = resolve));
    const subscription = await bus.subscribe(STOCK_CHANGES_STREAM, (events) => {
      live.push(...events.filter((event) => (event.payload as StockLevelChanged).cause.id.startsWith(`acme-wms:acme-${process.pid}-`)));
      if (live.length >= 30) arrived();
    });
    cleanup(() => subscription.close());
    await makeChanges(30);
    await drain(new StockChangeRelay(database.db.prisma, bus));
    await all;

    assert.deepEqual(live.map((event) => event.payload), await streamed());
  });
});
