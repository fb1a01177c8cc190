import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invalidationAnnouncer, startEntityCacheFeed } from '../../gateway/entityCacheFeed.ts';
import { STREAMS, stockLevelChanged } from '../../platform/contracts/events.ts';
import { RedisEventBus } from '../../platform/events/redisEventBus.ts';
import { StockCacheHints, tagsChangedBy } from '../../platform/graphql/entityCacheHints.ts';
import { SubgraphAnswerCache, type KeptAnswer } from '../../platform/graphql/subgraphAnswerCache.ts';
import { createLogger } from '../../platform/logger.ts';
import { connectRedis } from '../../platform/redis.ts';
import { useCleanup } from '../support/cleanup.ts';
import { eventually } from '../support/eventually.ts';
import { REDIS_URL, redisNamespace } from '../support/services.ts';

const ANSWER: KeptAnswer = { status: 200, json: true, body: Buffer.from('{"data":{"stockLevel":null}}\n') };
const MAX_LAG_MS = 200;

function levelHeader(sku: string, locationId: string): string {
  const hints = new StockCacheHints();
  hints.readStockLevel(sku, locationId);
  return hints.cacheableHeader()!;
}

/** A stock change as inventory publishes it; only its key matters to the cache. */
const stockChange = (sku: string, locationId: string) => ({ type: stockLevelChanged.type, payload: { sku, locationId, sequence: 1 } });

describe('the entity cache feed', () => {
  const cleanup = useCleanup();

  async function started({ busAway = false } = {}) {
    const namespace = redisNamespace('entity-cache-feed');
    cleanup(() => namespace.clear());
    const redis = connectRedis(REDIS_URL, namespace.keyPrefix);
    cleanup(() => redis.quit().catch(() => redis.disconnect()));
    if (busAway) redis.disconnect();
    const bus = new RedisEventBus(redis, { blockMs: 200 });
    cleanup(() => bus.close());
    const cache = new SubgraphAnswerCache({ maxEntries: 100, maxBytes: 1024 * 1024 });
    const feed = startEntityCacheFeed({ bus, cache, maxLagMs: MAX_LAG_MS, replica: 'this-replica', logger: createLogger('silent') });
    cleanup(() => feed.close());
    await feed.firstAttempt;
    const keep = (key: string, sku: string, locationId: string) => cache.keep(cache.begin(), key, ANSWER, levelHeader(sku, locationId));
    return { redis, bus, cache, keep, keyPrefix: namespace.keyPrefix };
  }

  it('serves once its feed runs, and drops what each stock change event and other replica announcement names', async () => {
    const { bus, cache, keep } = await started();
    assert.equal(cache.isLive, true);
    keep('a', 'SKU-1', 'DC-01');
    keep('b', 'SKU-1', 'DC-02');
    keep('c', 'SKU-2', 'DC-01');

    await bus.publish(STREAMS.stockChanges, stockChange('SKU-1', 'DC-01'));
    await eventually(async () => cache.lookup('inventory', 'a'), (kept) => kept === undefined, { what: 'the changed level dropped' });
    await invalidationAnnouncer(bus, 'another-replica')(tagsChangedBy('SKU-2', 'DC-01'));
    await eventually(async () => cache.lookup('inventory', 'c'), (kept) => kept === undefined, { what: 'the announced level dropped' });
    assert.deepEqual(cache.lookup('inventory', 'b'), ANSWER);
  });

  it('flushes and bypasses the cache while the event bus cannot be read, and serves again once it is caught up', async () => {
    const { redis, cache, keep } = await started();
    keep('a', 'SKU-1', 'DC-01');

    redis.disconnect();
    await eventually(async () => cache.isLive, (live) => !live, { what: 'the cache bypassed' });
    assert.equal(cache.size, 0, 'flushed');
    keep('while-away', 'SKU-1', 'DC-02');
    assert.equal(cache.lookup('inventory', 'while-away'), undefined);

    await redis.connect();
    await eventually(async () => cache.isLive, Boolean, { what: 'the cache serving again' });
    assert.equal(cache.lookup('inventory', 'a'), undefined, 'nothing kept from before the break');
    keep('a', 'SKU-1', 'DC-01');
    assert.deepEqual(cache.lookup('inventory', 'a'), ANSWER);
  });

  it('starts bypassed while the event bus cannot be read, and serves once it can', async () => {
    const { redis, cache, keep } = await started({ busAway: true });
    assert.equal(cache.isLive, false);
    keep('a', 'SKU-1', 'DC-01');
    assert.equal(cache.lookup('inventory', 'a'), undefined);

    await redis.connect();
    await eventually(async () => cache.isLive, Boolean, { what: 'the cache serving' });
    keep('a', 'SKU-1', 'DC-01');
    assert.deepEqual(cache.lookup('inventory', 'a'), ANSWER);
  });

  it('flushes and bypasses the cache while its feed lags behind the stream', async () => {
    const { bus, cache, keep, keyPrefix } = await started();
    keep('a', 'SKU-1', 'DC-01');
    // The feed's reading stops (its bus's subscriptions closed) while the bus still answers the
    // watch, and a producer of its own moves the stream on.
    await bus.close();
    const producerRedis = connectRedis(REDIS_URL, keyPrefix);
    cleanup(() => producerRedis.quit());
    await new RedisEventBus(producerRedis).publish(STREAMS.stockChanges, stockChange('SKU-9', 'DC-09'));

    await eventually(async () => cache.isLive, (live) => !live, { what: 'the lagging cache bypassed' });
    assert.equal(cache.size, 0);
  });
});
