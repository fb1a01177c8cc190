import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { wmsEventStream } from '../../platform/contracts/events.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import type { PrismaClient } from '../../platform/database/database.ts';
import type { SourceMapping } from '../../subgraphs/inventory/domain/events/sourceMapping.ts';
import { loadExampleMappings } from '../../subgraphs/inventory/mappings/sourceMappings.ts';
import { WarehouseEventIngestion, type EventOutcome } from '../../subgraphs/inventory/services/warehouseEventIngestion.ts';
import {
  CONSUMER_GROUP,
  StreamBatchError,
  WarehouseEventStreamConsumer,
  type WarehouseEventStreamConsumerOptions,
} from '../../subgraphs/inventory/services/warehouseEventStreamConsumer.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { createTestDatabase, REDIS_URL, uniqueKey, type TestDatabase } from '../support/services.ts';

const acme = loadExampleMappings().find((mapping) => mapping.source === 'acme-wms')!;

// Counted in eaches and neither lot- nor serial-controlled in the demo data.
const SKU_NUMBERS = [1, 2, 6, 7, 11, 12, 16, 17];
const SITES = ['ATL1', 'ORD1', 'DFW1', 'DEN1'];

type AcmeEvent = { event_id: string; txn_type: 'RCV'; seq: number; item_code: string; site: string; qty: number; uom: 'EA'; ts: string };

/** Receipts 1..count in acme-wms format, spread over 8 SKUs and 4 sites. */
function acmeReceipts(count: number): AcmeEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    event_id: `RCV-${i + 1}`,
    txn_type: 'RCV',
    seq: i + 1,
    item_code: `ACME-${String(SKU_NUMBERS[i % SKU_NUMBERS.length]).padStart(5, '0')}`,
    site: SITES[i % SITES.length]!,
    qty: 1 + (i % 5),
    uom: 'EA',
    ts: new Date(Date.UTC(2024, 5, 1, 10, 0, i)).toISOString(),
  }));
}

const totalQuantity = (events: readonly AcmeEvent[]) => events.reduce((sum, event) => sum + event.qty, 0);

/** Ingestion whose database is down for one source's batches until `recover()`. */
class IngestionDownForOneSource extends WarehouseEventIngestion {
  private down = true;

  constructor(prisma: PrismaClient, mappings: readonly SourceMapping[], private readonly failingSource: string) {
    super(prisma, mappings);
  }

  recover(): void {
    this.down = false;
  }

  override async ingest(source: string, rawEvents: readonly unknown[]): Promise<EventOutcome[]> {
    if (this.down && source === this.failingSource) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return super.ingest(source, rawEvents);
  }
}

/** Ingestion whose database is down for the first `failures` batches. */
class IngestionDownAtFirst extends WarehouseEventIngestion {
  private failures: number;

  constructor(prisma: PrismaClient, mappings: readonly SourceMapping[], failures: number) {
    super(prisma, mappings);
    this.failures = failures;
  }

  override async ingest(source: string, rawEvents: readonly unknown[]): Promise<EventOutcome[]> {
    if (this.failures-- > 0) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    return super.ingest(source, rawEvents);
  }
}

describe('WarehouseEventStreamConsumer', () => {
  let database: TestDatabase;
  let redis: Redis;
  const cleanup = useCleanup();

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 20 });
    redis = connectRedis(REDIS_URL);
  });

  after(async () => {
    await redis.quit();
    await database.drop();
  });

  /** A source of its own, in acme-wms format, so that concurrent runs never share a stream. */
  function newSource() {
    const mapping: SourceMapping = { ...acme, source: uniqueKey('acme-wms') };
    const stream = wmsEventStream(mapping.source);
    cleanup(() => redis.del(stream));
    return { mapping, source: mapping.source, stream, ingestion: new WarehouseEventIngestion(database.db.prisma, [mapping]) };
  }

  function newConsumer(
    ingestion: WarehouseEventIngestion,
    options: WarehouseEventStreamConsumerOptions,
    hooks: Partial<ConstructorParameters<typeof WarehouseEventStreamConsumer>[3]> = {},
  ) {
    const consumer = new WarehouseEventStreamConsumer(redis, ingestion, options, { onCommitted: () => {}, onError: () => {}, ...hooks });
    cleanup(() => consumer.stop());
    return consumer;
  }

  async function xaddAll(stream: string, events: readonly unknown[]): Promise<void> {
    const pipeline = redis.pipeline();
    for (const event of events) pipeline.xadd(stream, '*', 'event', JSON.stringify(event));
    for (const [error] of (await pipeline.exec()) ?? []) assert.ifError(error);
  }

  /** Rounds until one acks nothing; returns how many entries were acked. */
  async function drain(consumer: WarehouseEventStreamConsumer): Promise<number> {
    let acked = 0;
    for (let round = await consumer.consumeOnce(); round > 0; round = await consumer.consumeOnce()) acked += round;
    return acked;
  }

  const pendingCount = async (stream: string) => (await redis.xpending(stream, CONSUMER_GROUP))[0] as number;
  const appliedCount = (source: string) => database.db.prisma.inventoryEvent.count({ where: { source } });
  const onHandWms = async () => (await database.db.prisma.stockPosition.aggregate({ _sum: { onHandWms: true } }))._sum.onHandWms ?? 0;

  it('applies 1,000 receipts added before any consumer ran, each once, creating the group itself', async () => {
    // Given 1,000 receipts in a stream that has no consumer group yet
    const { source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(1_000);
    await xaddAll(stream, receipts);
    assert.deepEqual(await redis.xinfo('GROUPS', stream), []);
    const onHandBefore = await onHandWms();

    // When a consumer runs until there is nothing left
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'inventory-1' }));

    // Then every receipt is applied once and acked
    assert.equal(acked, 1_000);
    assert.equal(await appliedCount(source), 1_000);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts));
    assert.equal(await pendingCount(stream), 0);
    const [group] = (await redis.xinfo('GROUPS', stream)) as string[][];
    assert.equal(group?.[group.indexOf('name') + 1], CONSUMER_GROUP);
  });

  it('applies events added twice only once, and acks the second copies as duplicates', async () => {
    // Given 300 receipts, each added to the stream twice
    const { source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(300);
    await xaddAll(stream, receipts);
    await xaddAll(stream, receipts);
    const onHandBefore = await onHandWms();

    // When they are consumed
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'inventory-1' }));

    // Then all 600 entries are acked, and stock moved by the receipts once
    assert.equal(acked, 600);
    assert.equal(await appliedCount(source), 300);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts));
    assert.equal(await pendingCount(stream), 0);
  });

  it('dead-letters an entry that is not JSON, or has no event field, with its payload, and acks it', async () => {
    // Given a truncated event, an entry without `event`, and a valid receipt
    const { source, stream, ingestion } = newSource();
    const truncated = '{"event_id":"RCV-1","txn_type":"RC';
    await redis.xadd(stream, '*', 'event', truncated);
    await redis.xadd(stream, '*', 'evnt', '{"event_id":"RCV-2"}');
    await xaddAll(stream, acmeReceipts(3).slice(2));

    // When they are consumed
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'inventory-1' }));

    // Then the two malformed entries are dead letters carrying what was sent, and nothing is pending
    assert.equal(acked, 3);
    const deadLetters = await database.db.prisma.deadLetter.findMany({ where: { source } });
    assert.deepEqual(deadLetters.map((letter) => JSON.stringify(letter.payload)).sort(), [truncated, { evnt: '{"event_id":"RCV-2"}' }].map((payload) => JSON.stringify(payload)).sort());
    assert.equal(await appliedCount(source), 1);
    assert.equal(await pendingCount(stream), 0);
  });

  it('takes over the entries of a consumer that crashed before acking, once they have been idle long enough', async () => {
    // Given consumer A read 100 receipts and crashed before ingesting them
    const { source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(100);
    await xaddAll(stream, receipts);
    await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '0');
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'A', 'COUNT', 1_000, 'STREAMS', stream, '>');
    const onHandBefore = await onHandWms();

    // When a consumer that waits 30 s before taking over looks, nothing happens yet
    assert.equal(await newConsumer(ingestion, { sources: [source], consumerName: 'C' }).consumeOnce(), 0);
    assert.equal(await pendingCount(stream), 100);

    // When consumer B, which takes over at once, runs
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'B', claimIdleMs: 0 }));

    // Then B applied and acked A's entries
    assert.equal(acked, 100);
    assert.equal(await appliedCount(source), 100);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts));
    assert.equal(await pendingCount(stream), 0);
  });

  it('changes nothing when it takes over entries whose batch committed before the crash', async () => {
    // Given consumer A read 100 receipts, committed them and crashed before acking
    const { source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(100);
    await xaddAll(stream, receipts);
    await redis.xgroup('CREATE', stream, CONSUMER_GROUP, '0');
    await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'A', 'COUNT', 1_000, 'STREAMS', stream, '>');
    await ingestion.ingest(source, receipts);
    const onHandAfterCommit = await onHandWms();

    // When consumer B takes them over
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'B', claimIdleMs: 0 }));

    // Then they are acked as duplicates, and stock does not move again
    assert.equal(acked, 100);
    assert.equal(await appliedCount(source), 100);
    assert.equal(await onHandWms(), onHandAfterCommit);
    assert.equal(await pendingCount(stream), 0);
  });

  it('acks nothing while the database is down, and applies the entries when it restarts with the database back', async () => {
    // Given a consumer whose database is gone
    const { mapping, source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(50);
    await xaddAll(stream, receipts);
    const gone = await createTestDatabase({ migrate: false });
    await gone.drop();
    const onHandBefore = await onHandWms();

    // When it consumes, the round fails and every entry stays pending
    const down = newConsumer(new WarehouseEventIngestion(gone.db.prisma, [mapping]), { sources: [source], consumerName: 'inventory-1' });
    await assert.rejects(down.consumeOnce());
    assert.equal(await pendingCount(stream), 50);
    assert.equal(await appliedCount(source), 0);

    // When the same consumer restarts on a working database
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'inventory-1' }));

    // Then it applies and acks the entries it had read
    assert.equal(acked, 50);
    assert.equal(await appliedCount(source), 50);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts));
    assert.equal(await pendingCount(stream), 0);
  });

  it('keeps retrying in its loop while the database is down, then applies what arrived and stops at once', { timeout: 20_000 }, async () => {
    // Given a running consumer, blocked for a minute at a time, whose database fails twice
    const { mapping, source, stream } = newSource();
    const errors: unknown[] = [];
    let committed!: () => void;
    let nextCommit = new Promise<void>((resolve) => (committed = resolve));
    const consumer = newConsumer(
      new IngestionDownAtFirst(database.db.prisma, [mapping], 2),
      { sources: [source], consumerName: 'inventory-1', blockMs: 60_000 },
      {
        onCommitted: () => {
          committed();
          nextCommit = new Promise<void>((resolve) => (committed = resolve));
        },
        onError: (error) => errors.push(error),
      },
    );
    consumer.start();
    const onHandBefore = await onHandWms();

    // When receipts arrive (a blocked read may wake for the first of them alone)
    const receipts = acmeReceipts(20);
    await xaddAll(stream, receipts);
    while ((await appliedCount(source)) < 20) await nextCommit;
    await consumer.stop();

    // Then both failures were reported, the receipts applied once and acked, and stop did not wait out the block
    assert.equal(errors.length, 2);
    assert.equal(await appliedCount(source), 20);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts));
    assert.equal(await pendingCount(stream), 0);
  });

  it('shares 2,000 events between two consumers of the group, applying each exactly once', async () => {
    // Given 2,000 receipts and two consumers taking 100 at a time
    const { source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(2_000);
    await xaddAll(stream, receipts);
    const onHandBefore = await onHandWms();
    const [first, second] = ['inventory-1', 'inventory-2'].map((consumerName) => newConsumer(ingestion, { sources: [source], consumerName, batchSize: 100 }));

    // When both run at the same time
    const acked = await Promise.all([drain(first!), drain(second!)]);

    // Then both took part, and every receipt was applied once and acked once
    assert.ok(acked.every((count) => count > 0), `acked per consumer: ${acked.join(', ')}`);
    assert.equal(acked[0]! + acked[1]!, 2_000);
    assert.equal(await appliedCount(source), 2_000);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts));
    assert.equal(await pendingCount(stream), 0);
  });

  it('dead-letters a poison entry and applies the entries behind it', async () => {
    // Given receipts among which one asks for a trillion units and one carries a NUL, which PostgreSQL refuses
    const { source, stream, ingestion } = newSource();
    const receipts = acmeReceipts(10);
    const poisoned = receipts.map((receipt, i) =>
      i === 3 ? { ...receipt, qty: 1_000_000_000_000 } : i === 6 ? { ...receipt, event_id: 'RCV-\u0000' } : receipt);
    await xaddAll(stream, poisoned);
    const onHandBefore = await onHandWms();

    // When a consumer drains the stream
    const acked = await drain(newConsumer(ingestion, { sources: [source], consumerName: 'inventory-1' }));

    // Then the two are dead-lettered, with their reasons, and every other receipt is applied
    assert.equal(acked, 10);
    assert.equal(await pendingCount(stream), 0);
    assert.equal(await appliedCount(source), 8);
    assert.equal(await onHandWms(), onHandBefore + totalQuantity(receipts.filter((_, i) => i !== 3 && i !== 6)));
    const letters = await database.db.prisma.deadLetter.findMany({ where: { source }, orderBy: { receivedAt: 'asc' } });
    assert.deepEqual(letters.map((letter) => letter.code).sort(), ['APPLY_FAILED', 'QUANTITY_OUT_OF_RANGE']);
    assert.deepEqual(letters.map((letter) => letter.rawPayload).sort(), [poisoned[3], poisoned[6]].map((event) => JSON.stringify(event)).sort(), 'each kept exactly as it was added');
  });

  it("goes on with the other sources while one source's batches fail, naming the stream and entries, and retries it", async () => {
    // Given one consumer of two sources, the database refusing the first source's batches
    const failing = newSource();
    const healthy = newSource();
    const ingestion = new IngestionDownForOneSource(database.db.prisma, [failing.mapping, healthy.mapping], failing.source);
    const errors: Error[] = [];
    let firstError!: () => void;
    const failed = new Promise<void>((resolve) => (firstError = resolve));
    const consumer = newConsumer(ingestion, { sources: [failing.source, healthy.source], consumerName: 'inventory-1', blockMs: 100 }, {
      onError: (error) => {
        errors.push(error as Error);
        firstError();
      },
    });
    await xaddAll(failing.stream, acmeReceipts(5));
    consumer.start();
    await failed;

    // When the healthy source's receipts arrive while the other still fails
    await xaddAll(healthy.stream, acmeReceipts(20));
    await eventually(() => appliedCount(healthy.source), (count) => count === 20, { what: "the healthy source's receipts applied" });

    // Then they were applied, the failing source's entries stay pending, and each failure names its stream and entries
    assert.equal(await appliedCount(failing.source), 0);
    assert.equal(await pendingCount(failing.stream), 5);
    assert.ok(errors.every((error) => error instanceof StreamBatchError && error.stream === failing.stream && error.entryIds.length === 5), errors.map(String).join('; '));
    assert.match(errors[0]!.message, new RegExp(`^Stream ${failing.stream} failed at entries \\d+-\\d+ to \\d+-\\d+ \\(5\\); retrying: connect ECONNREFUSED`));

    // When the database comes back for it, its receipts are applied
    ingestion.recover();
    await eventually(() => appliedCount(failing.source), (count) => count === 5, { what: "the failing source's receipts applied" });
    await consumer.stop();
    assert.equal(await pendingCount(failing.stream), 0);
  });

  it('refuses a source without a mapping', () => {
    const { ingestion } = newSource();
    assert.throws(
      () => new WarehouseEventStreamConsumer(redis, ingestion, { sources: ['unmapped-wms'], consumerName: 'inventory-1' }, { onCommitted: () => {}, onError: () => {} }),
      { name: 'TypeError', message: /no mapping for: unmapped-wms/ },
    );
  });
});
