import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, beforeEach, describe, it } from 'node:test';
import { holdCleared, holdPlaced, orderStatusChanged, STREAMS, type PayloadOf } from '../../platform/contracts/events.ts';
import type { DecodedEvent } from '../../platform/events/decodedEvent.ts';
import { InProcessEventBus } from '../../platform/events/inProcessEventBus.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { TransactionalConsumer } from '../../platform/events/transactionalConsumer.ts';
import { connectRedis, type Redis } from '../../platform/redis.ts';
import { collectingLogger } from '../support/collectingLogger.ts';
import { useCleanup } from '../support/cleanup.ts';
import { createTestDatabase, REDIS_URL, uniqueKey, type TestDatabase } from '../support/services.ts';

const hold = (n: number): PayloadOf<typeof holdPlaced> => ({
  holdId: `HOLD-${n}`, sku: `SKU-${n}`, locationId: 'DC-01', reason: 'variance over 50', placedAt: new Date().toISOString(),
});
const placed = (n: number) => ({ type: holdPlaced.type, payload: hold(n) });

describe('a transactional event consumer', () => {
  const cleanup = useCleanup();
  let database: TestDatabase;
  let redis: Redis;
  let keyPrefix: string;
  let consumerName: string;

  before(async () => {
    database = await createTestDatabase();
    await database.db.runScript('CREATE TABLE applied_hold (hold_id text NOT NULL)');
  });

  beforeEach(async () => {
    keyPrefix = `${uniqueKey('consumer')}:`;
    consumerName = uniqueKey('holds');
    redis = connectRedis(REDIS_URL, keyPrefix);
    cleanup(async () => {
      await redis.del(STREAMS.reconciliationHolds);
      redis.disconnect();
    });
    await database.db.runScript('TRUNCATE applied_hold');
  });

  after(async () => {
    await database?.drop();
  });

  /** How often each hold was applied, by id. */
  async function applications(): Promise<Map<string, number>> {
    const rows = await database.db.query<{ holdId: string; times: number }>('SELECT hold_id AS "holdId", count(*)::int AS times FROM applied_hold GROUP BY hold_id');
    return new Map(rows.map((row) => [row.holdId, row.times]));
  }

  /** A consumer that applies holds into applied_hold, in this process. */
  function inProcessConsumer(bus: RedisEventBus | InProcessEventBus, apply?: (events: readonly DecodedEvent[]) => Promise<void> | void) {
    const { calls, logger } = collectingLogger();
    let committed!: () => void;
    let commits = new Promise<void>((resolve) => (committed = resolve));
    const consumer = new TransactionalConsumer(database.db.prisma, bus, {
      name: consumerName,
      stream: STREAMS.reconciliationHolds,
      contracts: [holdPlaced],
      apply: async (tx, events) => {
        await apply?.(events);
        await tx.$executeRaw`INSERT INTO applied_hold (hold_id) SELECT unnest(${events.map((event) => (event.payload as { holdId: string }).holdId)}::text[])`;
      },
      onCommitted: () => {
        committed();
        commits = new Promise<void>((resolve) => (committed = resolve));
      },
      logger,
    });
    cleanup(() => consumer.stop());
    return { consumer, calls, nextCommit: () => commits };
  }

  /** Starts the consumer in a process of its own; resolves with it once it has committed its first batch. */
  function startProcess(): { child: ChildProcess; committed: (cursor: string) => Promise<void> } {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/holdConsumerProcess.ts'], {
      env: { PATH: process.env.PATH, DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: keyPrefix, CONSUMER_NAME: consumerName },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    const seen: string[] = [];
    const waiters: [string, () => void][] = [];
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let newline = buffered.indexOf('\n'); newline !== -1; newline = buffered.indexOf('\n')) {
        const cursor = buffered.slice(0, newline).replace(/^committed /, '');
        buffered = buffered.slice(newline + 1);
        seen.push(cursor);
        for (const [wanted, resolve] of waiters) if (wanted === '' || wanted === cursor) resolve();
      }
    });
    return {
      child,
      /** Resolves once the process has committed up to `cursor` ('' for any commit). */
      committed: (cursor) => new Promise((resolve, reject) => {
        if (seen.some((seenCursor) => cursor === '' || seenCursor === cursor)) return resolve();
        waiters.push([cursor, resolve]);
        child.once('exit', (code, signal) => reject(new Error(`consumer process exited (${code ?? signal}) before committing ${cursor || 'anything'}`)));
      }),
    };
  }

  it('applies every event exactly once when its process is killed mid-stream and started again', async () => {
    // Given 3,000 holds on the stream, more than six batches
    const bus = new RedisEventBus(redis);
    cleanup(() => bus.close());
    const cursors = await bus.publishMany(STREAMS.reconciliationHolds, Array.from({ length: 3_000 }, (_, n) => placed(n)));

    // When the consumer process is killed (SIGKILL) right after its first commit, while it applies the next batch
    const first = startProcess();
    await first.committed('');
    const killed = new Promise((resolve) => first.child.once('exit', resolve));
    first.child.kill('SIGKILL');
    await killed;
    const appliedBeforeRestart = [...(await applications()).values()].reduce((sum, times) => sum + times, 0);
    assert.ok(appliedBeforeRestart > 0 && appliedBeforeRestart < 3_000, `killed mid-stream (${appliedBeforeRestart} applied)`);

    // And started again
    const second = startProcess();
    await second.committed(cursors.at(-1)!);

    // Then every hold was applied, and none twice
    const applied = await applications();
    assert.equal(applied.size, 3_000);
    assert.deepEqual([...new Set(applied.values())], [1]);
    const [stored] = await database.db.query<{ cursor: string }>('SELECT cursor FROM event_consumer_cursor WHERE consumer = $1', [consumerName]);
    assert.equal(stored!.cursor, cursors.at(-1));
  });

  it('applies each event once when replicas consume side by side', async () => {
    const secondConnection = redis.duplicate();
    cleanup(() => secondConnection.disconnect());
    const buses = [new RedisEventBus(redis, { blockMs: 200 }), new RedisEventBus(secondConnection, { blockMs: 200 })];
    cleanup(() => Promise.all(buses.map((bus) => bus.close())));
    const replicas = buses.map((bus) => inProcessConsumer(bus));
    for (const { consumer } of replicas) consumer.start();
    const cursors = await buses[0]!.publishMany(STREAMS.reconciliationHolds, Array.from({ length: 1_200 }, (_, n) => placed(n)));

    while ((await database.db.query<{ cursor: string }>('SELECT cursor FROM event_consumer_cursor WHERE consumer = $1', [consumerName]))[0]?.cursor !== cursors.at(-1)) {
      await Promise.race(replicas.map(({ nextCommit }) => nextCommit()));
    }

    const applied = await applications();
    assert.equal(applied.size, 1_200);
    assert.deepEqual([...new Set(applied.values())], [1]);
  });

  it('refuses what it cannot take, keeps it with the reason, and goes on with the events behind it', async () => {
    const bus = new InProcessEventBus();
    cleanup(() => bus.close());
    const poisoned = 'HOLD-3';
    const { consumer, calls, nextCommit } = inProcessConsumer(bus, (events) => {
      if (events.some((event) => (event.payload as { holdId: string }).holdId === poisoned)) throw new Error('the hold cannot be applied');
    });
    const cursors = await bus.publishMany(STREAMS.reconciliationHolds, [
      placed(1),
      { type: holdPlaced.type, payload: { ...hold(2), sku: '' } },
      placed(3),
      { type: 'reconciliation.hold.teleported', payload: hold(4) },
      { type: holdCleared.type, payload: { holdId: 'HOLD-1', sku: 'SKU-1', locationId: 'DC-01', clearedAt: new Date().toISOString() } },
      placed(5),
    ]);
    consumer.start();
    while (!(await applications()).has('HOLD-5')) await nextCommit();

    assert.deepEqual([...(await applications()).keys()].sort(), ['HOLD-1', 'HOLD-5'], 'the good holds applied; the hold.cleared left to its own consumer');
    const refused = await database.db.query<{ cursor: string; type: string; reason: string }>(
      'SELECT cursor, type, reason FROM refused_event WHERE consumer = $1 ORDER BY id', [consumerName]);
    assert.deepEqual(refused.map((row) => row.cursor), [cursors[1], cursors[2], cursors[3]]);
    assert.match(refused[0]!.reason, /sku/);
    assert.match(refused[1]!.reason, /failed 3 times: the hold cannot be applied/);
    assert.match(refused[2]!.reason, /no contract names the event type "reconciliation.hold.teleported"/);
    assert.equal(calls.error.length, 3, 'each refusal is logged');
  });

  it('reads a stream that began again from its start (an in-process bus after a restart)', async () => {
    const before = new InProcessEventBus();
    const { consumer, nextCommit } = inProcessConsumer(before);
    await before.publishMany(STREAMS.reconciliationHolds, [placed(1), placed(2), placed(3)]);
    consumer.start();
    while ((await applications()).size < 3) await nextCommit();
    await consumer.stop();

    const restarted = new InProcessEventBus();
    cleanup(() => restarted.close());
    const again = inProcessConsumer(restarted);
    await restarted.publishMany(STREAMS.reconciliationHolds, [placed(4)]);
    again.consumer.start();
    while ((await applications()).size < 4) await again.nextCommit();

    assert.deepEqual([...(await applications()).entries()].sort(), [['HOLD-1', 1], ['HOLD-2', 1], ['HOLD-3', 1], ['HOLD-4', 1]]);
  });

  it('will not take events of another stream', () => {
    assert.throws(
      () => new TransactionalConsumer(database.db.prisma, new InProcessEventBus(), {
        name: 'mixed', stream: STREAMS.reconciliationHolds, contracts: [holdPlaced, orderStatusChanged], apply: async () => {}, logger: collectingLogger().logger,
      }),
      /orders.order.statusChanged travel on another stream/,
    );
  });
});
