import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventContractError, orderStatusChanged, type PayloadOf } from '../../platform/contracts/events.ts';
import { decodeEvent } from '../../platform/events/decodedEvent.ts';
import type { EventBus } from '../../platform/events/eventBus.ts';
import { outboxRecord, writeOutbox } from '../../platform/events/outbox.ts';
import { OutboxRelay } from '../../platform/events/outboxRelay.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { RepeatFilter } from '../../platform/events/repeatFilter.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { createTestDatabase, REDIS_URL, uniqueKey, type TestDatabase } from '../support/services.ts';

type StatusChange = PayloadOf<typeof orderStatusChanged>;

/** Order status changes as a producer writes them: `count` transitions spread over three orders, each order's numbered from 1. */
function statusChanges(count: number, firstVersionOf: Map<string, number>): StatusChange[] {
  return Array.from({ length: count }, (_, i) => {
    const orderId = `ORD-${(i % 3) + 1}`;
    const version = firstVersionOf.get(orderId) ?? 1;
    firstVersionOf.set(orderId, version + 1);
    return {
      orderId, reference: `REF-${orderId}`, channel: 'WEB', status: 'RESERVED', previousStatus: 'CREATED', version,
      cause: { type: 'MUTATION', id: 'placeOrder' }, actor: 'test', at: new Date().toISOString(),
    };
  });
}

/** Each key's sequences are consecutive and in order: nothing missed, nothing twice, nothing reordered. */
function assertGapFreeInOrder(changes: readonly StatusChange[]): void {
  const byOrder = new Map<string, number[]>();
  for (const change of changes) byOrder.set(change.orderId, [...(byOrder.get(change.orderId) ?? []), change.version]);
  for (const [orderId, versions] of byOrder) assert.deepEqual(versions, versions.map((_, i) => versions[0]! + i), `${orderId} arrives gap-free and in order`);
}

describe('the outbox relay', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let redis: Redis;
  let bus: RedisEventBus;
  const versions = new Map<string, number>();

  before(async () => {
    database = await createTestDatabase();
    // A key prefix of its own: the stream this test publishes to is nobody else's.
    redis = connectRedis(REDIS_URL, `${uniqueKey('outbox-relay')}:`);
    bus = new RedisEventBus(redis);
  });

  after(async () => {
    await redis?.del(orderStatusChanged.stream);
    await bus?.close();
    redis?.disconnect();
    await database?.drop();
  });

  /** Writes `count` changes to the `orders` outbox, in transactions of 50. */
  async function writeChanges(count: number, producer = 'orders'): Promise<void> {
    const changes = statusChanges(count, versions);
    for (let i = 0; i < changes.length; i += 50) {
      await database.db.prisma.$transaction((tx) => writeOutbox(tx, producer, changes.slice(i, i + 50).map((change) => outboxRecord(orderStatusChanged, change))));
    }
  }

  /** Everything on the stream, oldest first, as its consumers decode it. */
  async function streamed(): Promise<StatusChange[]> {
    const entries = await bus.read(orderStatusChanged.stream, '0-0', 100_000);
    return entries.map((entry) => {
      const decoding = decodeEvent(entry);
      assert.ok(decoding.ok, `${entry.cursor} meets its contract`);
      return decoding.event.payload as StatusChange;
    });
  }

  const unpublished = (producer = 'orders') => database.db.prisma.eventOutboxPending.count({ where: { producer } });

  async function drain(relay: OutboxRelay): Promise<void> {
    while ((await relay.relayOnce()) > 0);
  }

  it("publishes each of its producer's records once, in order per key, with the record's id, and marks them published", async () => {
    await writeChanges(300);
    await writeChanges(5, 'reconciliation');
    await drain(new OutboxRelay(database.db.prisma, bus, 'orders', { batchSize: 64 }));

    const changes = await streamed();
    assert.equal(changes.length, 300);
    assertGapFreeInOrder(changes);
    assert.equal(await unpublished(), 0);
    assert.equal(await unpublished('reconciliation'), 5, "another producer's records are its own relay's");
    const ids = (await bus.read(orderStatusChanged.stream, '0-0', 1_000)).map((entry) => entry.id);
    const recorded = await database.db.prisma.eventOutbox.findMany({ where: { producer: 'orders' }, orderBy: { id: 'asc' }, select: { id: true } });
    assert.deepEqual(ids, recorded.map((row) => row.id.toString()), 'each event carries its outbox id, in id order');
  });

  it('loses and reorders nothing when it crashes between publishing and marking: the repeats follow their first copies and drop by (key, sequence)', async () => {
    const before = (await streamed()).length;
    await writeChanges(120);
    let crashes = 1;
    const crashingBus: EventBus = {
      subscribe: bus.subscribe.bind(bus),
      read: bus.read.bind(bus),
      readEndingAt: bus.readEndingAt.bind(bus),
      storeEpoch: bus.storeEpoch.bind(bus),
      publish: bus.publish.bind(bus),
      close: bus.close.bind(bus),
      publishMany: async (stream, events) => {
        const cursors = await bus.publishMany(stream, events);
        if (crashes-- > 0) throw new Error('process died after publishing');
        return cursors;
      },
    };

    await assert.rejects(new OutboxRelay(database.db.prisma, crashingBus, 'orders', { batchSize: 50 }).relayOnce(), /process died/);
    await drain(new OutboxRelay(database.db.prisma, bus, 'orders', { batchSize: 50 }));

    const entries = (await bus.read(orderStatusChanged.stream, '0-0', 100_000)).slice(before);
    assert.equal(entries.length, 170, 'the first batch of 50 went out twice: at least once');
    const repeats = new RepeatFilter();
    const kept = entries.map((entry) => decodeEvent(entry)).flatMap((decoding) => (decoding.ok && repeats.admit(decoding.event) ? [decoding.event.payload as StatusChange] : []));
    assert.equal(kept.length, 120);
    assertGapFreeInOrder(kept);
  });

  it("publishes the producer's last records again, before anything new, once the bus's store has restarted, whichever replica sent them", async () => {
    // Given records one replica published, and a second replica that has looked at the outbox (holding the lock) in the same epoch
    let epoch = 'first-run';
    const restartingBus: EventBus = { ...bindAll(bus), storeEpoch: async () => epoch };
    const [first, second] = [1, 2].map(() => new OutboxRelay(database.db.prisma, restartingBus, 'orders', { batchSize: 50 }));
    await second!.relayOnce();
    await writeChanges(30);
    await drain(first!);
    const entries = () => bus.read(orderStatusChanged.stream, '0-0', 100_000);
    const published = (await entries()).slice(-30);
    const before = (await entries()).length;

    // When the store restarts (it may have lost what it acknowledged) and the second replica takes the next batch
    epoch = 'second-run';
    await writeChanges(5);
    await second!.relayOnce();

    // Then it publishes the producer's last records again (the first replica's 30 last among them), in order, then the 5 new ones
    const all = await entries();
    const after = all.slice(before);
    assert.deepEqual(after.slice(-35, -5).map((entry) => entry.id), published.map((entry) => entry.id));
    const ids = after.map((entry) => BigInt(entry.id!));
    assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]!), 'again in record order');
    // And a consumer that had seen everything before keeps only the 5 new ones
    const repeats = new RepeatFilter();
    const admitted = all.map((entry) => {
      const decoding = decodeEvent(entry);
      return decoding.ok && repeats.admit(decoding.event);
    });
    assert.equal(admitted.slice(before).filter(Boolean).length, 5);
  });

  it('lets one relay per producer publish at a time when several replicas run', async () => {
    const before = (await streamed()).length;
    await writeChanges(200);
    let arrived = 0;
    let allArrived!: () => void;
    const published = new Promise<void>((resolve) => (allArrived = resolve));
    const subscription = await bus.subscribe(orderStatusChanged.stream, (events) => {
      if ((arrived += events.length) >= 200) allArrived();
    });
    cleanup(() => subscription.close());
    const relays = [1, 2, 3].map(() => new OutboxRelay(database.db.prisma, bus, 'orders', { batchSize: 20, pollIntervalMs: 5 }));
    const failures: unknown[] = [];
    for (const relay of relays) {
      relay.start((error) => failures.push(error));
      cleanup(() => relay.stop());
    }
    await published;
    await Promise.all(relays.map((relay) => relay.stop()));

    const changes = (await streamed()).slice(before);
    assert.deepEqual(failures, []);
    assert.equal(changes.length, 200, 'no change published twice');
    assertGapFreeInOrder(changes);
  });

  it('vacuums the pending list itself once it has deleted vacuumAfterDeleted rows, whether or not autovacuum runs', async () => {
    // VACUUM reports to the statistics at once; vacuum_count counts vacuums run by hand only (autovacuum has its own count).
    const vacuums = async () => Number((await database.db.query<{ vacuums: string }>(
      `SELECT vacuum_count AS vacuums FROM pg_stat_user_tables WHERE relname = 'event_outbox_pending'`))[0]!.vacuums);
    const vacuumsBefore = await vacuums();
    const relay = new OutboxRelay(database.db.prisma, bus, 'orders', { batchSize: 20, pollIntervalMs: 5, vacuumAfterDeleted: 100 });
    const failures: unknown[] = [];
    relay.start((error) => failures.push(error));
    cleanup(() => relay.stop());

    await writeChanges(90);
    await eventually(() => unpublished(), (pending) => pending === 0, { what: 'the first 90 changes published' });
    assert.equal(await vacuums(), vacuumsBefore, 'no vacuum before 100 pending rows were deleted');
    await writeChanges(20);
    await eventually(vacuums, (count) => count === vacuumsBefore + 1, { what: 'a vacuum of the pending list' });
    await relay.stop();
    assert.deepEqual(failures, []);
  });

  it('refuses, inside the producer\'s transaction, a payload that breaks its contract', async () => {
    const [change] = statusChanges(1, new Map([['ORD-1', 1_000]]));
    const broken = { ...change!, status: 'TELEPORTED', version: 0 } as unknown as StatusChange;

    assert.throws(() => outboxRecord(orderStatusChanged, broken), (error: EventContractError) =>
      error instanceof EventContractError && /status/.test(error.message) && /version/.test(error.message));
  });
});

/** The bus's methods, bound, to build a bus that differs in one. */
function bindAll(bus: EventBus): EventBus {
  return {
    subscribe: bus.subscribe.bind(bus), read: bus.read.bind(bus), readEndingAt: bus.readEndingAt.bind(bus), storeEpoch: bus.storeEpoch.bind(bus),
    publish: bus.publish.bind(bus), publishMany: bus.publishMany.bind(bus), close: bus.close.bind(bus),
  };
}
