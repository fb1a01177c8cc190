import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { inMemoryRateLimiter, redisRateLimiter } from '../../gateway/edge/rateLimiter.ts';
import { connectRedis } from '../../platform/redis.ts';
import { REDIS_URL, redisNamespace } from '../support/services.ts';

describe('token-bucket rate limits', () => {
  it('let a burst through, then one request per refill, and say how long to wait', async () => {
    let now = 1_000_000;
    const limiter = inMemoryRateLimiter(() => now);
    const limit = { perSecond: 2, burst: 3 };
    const take = () => limiter.take('client:a', limit);
    for (let i = 0; i < 3; i += 1) assert.equal((await take()).allowed, true, `burst ${i + 1}`);
    assert.deepEqual(await take(), { allowed: false, retryAfterMs: 500 });
    now += 250;
    assert.deepEqual(await take(), { allowed: false, retryAfterMs: 250 }, 'half a token refilled');
    now += 250;
    assert.equal((await take()).allowed, true, 'a token refilled after 1/perSecond');
    assert.equal((await limiter.take('client:b', limit)).allowed, true, 'each key has a bucket of its own');
    now += 60_000;
    for (let i = 0; i < 3; i += 1) assert.equal((await take()).allowed, true, 'refilled to the burst, never beyond');
    assert.equal((await take()).allowed, false);
  });

  describe('in Redis', () => {
    const namespace = redisNamespace('rate-limits');
    const connections = [connectRedis(REDIS_URL, namespace.keyPrefix), connectRedis(REDIS_URL, namespace.keyPrefix)];
    after(async () => {
      for (const connection of connections) connection.disconnect();
      await namespace.clear();
    });

    it('share one bucket per key among every replica', async () => {
      const [one, two] = connections.map((connection) => redisRateLimiter(connection));
      const limit = { perSecond: 1, burst: 3 };
      const decisions = [];
      for (let i = 0; i < 4; i += 1) decisions.push(await (i % 2 === 0 ? one! : two!).take('client:shared', limit));
      assert.deepEqual(decisions.map((decision) => decision.allowed), [true, true, true, false]);
      assert.ok(decisions[3]!.retryAfterMs > 0 && decisions[3]!.retryAfterMs <= 1_000, `${decisions[3]!.retryAfterMs}`);
      assert.equal((await one!.take('client:other', limit)).allowed, true);
      assert.ok((await connections[0]!.pttl('stockgraph:rate:client:shared')) > 0, 'an idle bucket expires');
    });

    it('lease a tenth of a large burst to each replica, and never let more through than the bucket gave', async () => {
      const [one, two] = connections.map((connection) => redisRateLimiter(connection));
      const limit = { perSecond: 0.001, burst: 100 };
      assert.equal((await one!.take('client:leased', limit)).allowed, true);
      assert.equal(Number(await connections[0]!.hget('stockgraph:rate:client:leased', 'tokens')), 90, 'one call took a lease of 10');
      let allowed = 1;
      for (let i = 0; i < 150; i += 1) if ((await (i % 3 === 0 ? two! : one!).take('client:leased', limit)).allowed) allowed += 1;
      assert.equal(allowed, 100, 'the burst, across both replicas, and not one more');
    });
  });
});
