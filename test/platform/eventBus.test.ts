import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCursors, StreamCursorError, type BusEvent, type EventBus } from '../../platform/events/eventBus.ts';
import { InProcessEventBus } from '../../platform/events/inProcessEventBus.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { connectRedis, Redis } from '../../platform/redis.ts';
import { useCleanup } from '../support/cleanup.ts';
import { REDIS_URL, redisNamespace, uniqueKey } from '../support/services.ts';

/** Collects delivered events and resolves once `count` have arrived. */
function collect(count: number) {
  const events: BusEvent[] = [];
  let done!: () => void;
  const arrived = new Promise<void>((resolve) => (done = resolve));
  return {
    events,
    arrived,
    handler: (batch: readonly BusEvent[]) => {
      events.push(...batch);
      if (events.length >= count) done();
    },
  };
}

describe('stream cursors', () => {
  it('order by time, then by sequence, exactly beyond 2^53 too', () => {
    assert.ok(compareCursors('1795455166729-0', '1795455166809-0') < 0);
    assert.ok(compareCursors('1795455166809-10', '1795455166809-9') > 0);
    assert.equal(compareCursors('12-3', '12-3'), 0);
    assert.ok(compareCursors('18446744073709551615-0', '18446744073709551614-0') > 0);
    assert.ok(compareCursors('9007199254740993-1', '9007199254740993-0') > 0);
    assert.throws(() => compareCursors('12', '12-0'), StreamCursorError);
  });
});

const buses: [string, () => { bus: EventBus; close: () => Promise<void>; trim: (stream: string, keep: number) => Promise<void> }][] = [
  ['in-process', () => {
    // Retains about 10 events: trimming starts once 12 are held.
    const bus = new InProcessEventBus(10);
    return { bus, close: () => bus.close(), trim: async () => {} };
  }],
  ['Redis Streams', () => {
    // Every stream under a namespace of this bus's own, removed on close.
    const namespace = redisNamespace('bus');
    const redis = connectRedis(REDIS_URL, namespace.keyPrefix);
    const bus = new RedisEventBus(redis, { blockMs: 200 });
    return {
      bus,
      close: async () => (await bus.close(), redis.disconnect(), await namespace.clear()),
      trim: async (stream, keep) => void (await redis.xtrim(stream, 'MAXLEN', keep)),
    };
  }],
];

for (const [kind, open] of buses) {
  describe(`the ${kind} event bus`, () => {
    const cleanup = useCleanup();

    it('delivers live events to every subscriber, in publish order', async () => {
      const { bus, close } = open();
      cleanup(close);
      const stream = uniqueKey('bus');
      const first = collect(3);
      const second = collect(3);
      await bus.publish(stream, { type: 'test.thing.happened', payload: { n: -1 } });
      for (const { handler } of [first, second]) {
        const subscription = await bus.subscribe(stream, handler);
        cleanup(() => subscription.close());
      }

      for (const n of [0, 1, 2]) await bus.publish(stream, { type: 'test.thing.happened', payload: { n } });
      await Promise.all([first.arrived, second.arrived]);

      for (const { events } of [first, second]) {
        assert.deepEqual(events.map((event) => event.payload), [{ n: 0 }, { n: 1 }, { n: 2 }]);
        assert.ok(events.every((event) => event.type === 'test.thing.happened' && event.stream === stream));
      }
    });

    it('replays what came after a cursor, then carries on live', async () => {
      const { bus, close } = open();
      cleanup(close);
      const stream = uniqueKey('bus');
      const cursors = [];
      for (const n of [1, 2, 3]) cursors.push(await bus.publish(stream, { type: 'test.thing.happened', payload: { n } }));

      const resumed = collect(3);
      const subscription = await bus.subscribe(stream, resumed.handler, { after: cursors[0] });
      cleanup(() => subscription.close());
      await bus.publish(stream, { type: 'test.thing.happened', payload: { n: 4 } });
      await resumed.arrived;

      assert.deepEqual(resumed.events.map((event) => event.payload), [{ n: 2 }, { n: 3 }, { n: 4 }]);
      assert.deepEqual(resumed.events.slice(0, 2).map((event) => event.cursor), cursors.slice(1));
    });

    it('reads the events after a cursor, and refuses cursors it cannot honour', async () => {
      const { bus, close, trim } = open();
      cleanup(close);
      const stream = uniqueKey('bus');
      const cursors = await bus.publishMany(stream, Array.from({ length: 15 }, (_, n) => ({ type: 'test.thing.happened', payload: { n } })));

      assert.deepEqual((await bus.read(stream, cursors[11]!, 2)).map((event) => event.payload), [{ n: 12 }, { n: 13 }]);
      assert.deepEqual(await bus.read(stream, cursors[14]!, 10), [], 'nothing after the newest event');
      await trim(stream, 10);
      await assert.rejects(bus.read(stream, cursors[1]!, 10), (error: StreamCursorError) => error.reason === 'expired');
      assert.equal((await bus.read(stream, cursors[5]!, 10)).length, 9, 'the events after the oldest retained one');
      await assert.rejects(bus.read(stream, `${Date.now() + 60_000}-0`, 10), (error: StreamCursorError) => error.reason === 'unknown');
      await assert.rejects(bus.read(stream, 'yesterday', 10), (error: StreamCursorError) => error.reason === 'malformed');
      await trim(stream, 0);
      assert.deepEqual(await bus.read(stream, cursors[14]!, 10), [], 'nothing was lost after the newest event, even with none kept');
      if (kind === 'Redis Streams') await assert.rejects(bus.read(stream, cursors[13]!, 10), (error: StreamCursorError) => error.reason === 'expired');
    });

    it("carries each event's producer id, and reads the events that end at a cursor", async () => {
      const { bus, close } = open();
      cleanup(close);
      const stream = uniqueKey('bus');
      const cursors = await bus.publishMany(stream, Array.from({ length: 5 }, (_, n) => ({ type: 'test.thing.happened', id: `id-${n}`, payload: { n } })));
      await bus.publish(stream, { type: 'test.thing.happened', payload: { n: 5 } });

      assert.deepEqual((await bus.readEndingAt(stream, cursors[3]!, 2)).map((event) => [event.id, event.payload]), [['id-2', { n: 2 }], ['id-3', { n: 3 }]]);
      assert.deepEqual((await bus.readEndingAt(stream, null, 2)).map((event) => [event.id, event.payload]), [['id-4', { n: 4 }], [null, { n: 5 }]]);
      assert.deepEqual((await bus.readEndingAt(stream, cursors[1]!, 10)).map((event) => event.payload), [{ n: 0 }, { n: 1 }], 'fewer where the stream holds fewer');
      assert.deepEqual(await bus.readEndingAt(uniqueKey('bus'), null, 10), [], 'none from a stream never written');
    });
  });
}

describe('the in-process event bus across a restart', () => {
  it("refuses a cursor of the run before as expired, and subscribes after it from the new run's first event", async () => {
    // Given a cursor from a bus that has since gone, and the bus of the next run, which starts numbering again
    const stream = uniqueKey('bus');
    const before = new InProcessEventBus(100, 1_000);
    const [, oldCursor] = await before.publishMany(stream, [1, 2].map((n) => ({ type: 'test.thing.happened', payload: { n } })));
    await before.close();
    const after = new InProcessEventBus(100, 2_000);
    const [firstNew] = await after.publishMany(stream, [3, 4, 5].map((n) => ({ type: 'test.thing.happened', payload: { n } })));

    // Then reading after the old cursor is refused, never answered from the wrong place
    assert.equal(oldCursor, '1000-2');
    assert.equal(firstNew, '2000-1');
    await assert.rejects(after.read(stream, oldCursor!, 10), (error: StreamCursorError) => error.reason === 'restarted');
    await assert.rejects(after.read(stream, '2-0', 10), (error: StreamCursorError) => error.reason === 'restarted', 'a cursor of the numbering before epochs');

    // And a subscription after it gets every event of the new run
    const resumed = collect(3);
    const subscription = await after.subscribe(stream, resumed.handler, { after: oldCursor });
    await resumed.arrived;
    await subscription.close();
    assert.deepEqual(resumed.events.map((event) => event.payload), [{ n: 3 }, { n: 4 }, { n: 5 }]);
    await after.close();
  });
});

describe('the Redis Streams event bus, given an entry written by hand', () => {
  const cleanup = useCleanup();

  it('hands over a payload that is not JSON as its text, and goes on with the entries behind it', async () => {
    const namespace = redisNamespace('bus');
    const redis = connectRedis(REDIS_URL, namespace.keyPrefix);
    const bus = new RedisEventBus(redis, { blockMs: 200 });
    cleanup(async () => (await bus.close(), redis.disconnect(), await namespace.clear()));
    const stream = uniqueKey('bus');
    const received = collect(2);
    const subscription = await bus.subscribe(stream, received.handler, { after: '0-0' });
    cleanup(() => subscription.close());

    await redis.xadd(stream, '*', 'type', 'test.thing.happened', 'payload', '{not json');
    await bus.publish(stream, { type: 'test.thing.happened', payload: { n: 1 } });
    await received.arrived;

    assert.deepEqual(received.events.map((event) => [event.type, event.id, event.payload]), [['test.thing.happened', null, '{not json'], ['test.thing.happened', null, { n: 1 }]]);
  });
});

describe('the Redis Streams event bus, given a subscriber blocked on the stream', () => {
  const cleanup = useCleanup();

  it('wakes it once for a batch published together, with the whole batch', async () => {
    const namespace = redisNamespace('bus');
    const connectionName = uniqueKey('blocked-reader');
    const redis = new Redis(REDIS_URL, { keyPrefix: namespace.keyPrefix, connectionName });
    const bus = new RedisEventBus(redis, { blockMs: 5_000 });
    cleanup(async () => (await bus.close(), redis.disconnect(), await namespace.clear()));
    const stream = uniqueKey('bus');
    const batches: number[] = [];
    const received = collect(20);
    const subscription = await bus.subscribe(stream, (batch) => (batches.push(batch.length), received.handler(batch)));
    cleanup(() => subscription.close());
    // Given its reading connection blocked in XREAD
    const blocked = async () => ((await redis.client('LIST')) as string).split('\n').some((line) => line.includes(`name=${connectionName} `) && line.includes('cmd=xread') && / flags=\S*b/.test(line));
    for (let attempt = 0; !(await blocked()); attempt++) assert.ok(attempt < 1_000, 'the subscriber never blocked on the stream');

    // When 20 events are published together
    await bus.publishMany(stream, Array.from({ length: 20 }, (_, n) => ({ type: 'test.thing.happened', payload: { n } })));
    await received.arrived;

    // Then they all came in one batch
    assert.deepEqual(batches, [20]);
  });
});
