import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BusEvent, EventBus } from '../../platform/events/eventBus.ts';
import { InProcessEventBus } from '../../platform/events/inProcessEventBus.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { connectRedis } from '../../platform/redis.ts';
import { useCleanup } from '../support/cleanup.ts';
import { REDIS_URL, uniqueKey } from '../support/services.ts';

/** Collects delivered events and resolves once `count` have arrived. */
function collect(count: number) {
  const events: BusEvent[] = [];
  let done!: () => void;
  const arrived = new Promise<void>((resolve) => (done = resolve));
  return {
    events,
    arrived,
    handler: (event: BusEvent) => {
      events.push(event);
      if (events.length === count) done();
    },
  };
}

const buses: [string, () => { bus: EventBus; close: () => Promise<void> }][] = [
  ['in-process', () => {
    const bus = new InProcessEventBus();
    return { bus, close: () => bus.close() };
  }],
  ['Redis Streams', () => {
    const redis = connectRedis(REDIS_URL);
    const bus = new RedisEventBus(redis, { blockMs: 200 });
    return { bus, close: async () => (await bus.close(), redis.disconnect()) };
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
      await bus.publish(stream, 'test.thing.happened', { n: -1 });
      for (const { handler } of [first, second]) {
        const subscription = await bus.subscribe(stream, handler);
        cleanup(() => subscription.close());
      }

      for (const n of [0, 1, 2]) await bus.publish(stream, 'test.thing.happened', { n });
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
      for (const n of [1, 2, 3]) cursors.push(await bus.publish(stream, 'test.thing.happened', { n }));

      const resumed = collect(3);
      const subscription = await bus.subscribe(stream, resumed.handler, { after: cursors[0] });
      cleanup(() => subscription.close());
      await bus.publish(stream, 'test.thing.happened', { n: 4 });
      await resumed.arrived;

      assert.deepEqual(resumed.events.map((event) => event.payload), [{ n: 2 }, { n: 3 }, { n: 4 }]);
      assert.deepEqual(resumed.events.slice(0, 2).map((event) => event.cursor), cursors.slice(1));
    });
  });
}
