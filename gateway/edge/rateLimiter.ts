import type { Redis } from '../../platform/redis.ts';
import type { RateLimit } from './principal.ts';

/** Whether one more request may go now, and if not, how long until one may. */
export interface RateDecision {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
}

export interface RateLimiter {
  take(key: string, limit: RateLimit): Promise<RateDecision>;
}

// Token buckets by hand: rate-limiter-flexible, the usual choice, counts fixed windows (with
// at most a second window for bursts), which lets twice the rate through where two windows
// meet; a bucket refills continuously. Either way the state is two numbers per caller.

/**
 * One bucket per key in Redis, shared by every gateway replica: one script call per request,
 * timed by the Redis server's clock so that replicas' clocks never disagree about refills.
 */
export function redisRateLimiter(redis: Redis, keyPrefix = 'stockgraph:rate:'): RateLimiter {
  redis.defineCommand('stockgraphTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN_SCRIPT });
  const take = (redis as Redis & { stockgraphTakeToken(key: string, perSecond: number, burst: number): Promise<[number, number]> }).stockgraphTakeToken.bind(redis);
  return {
    take: async (key, { perSecond, burst }) => {
      const [allowed, retryAfterMs] = await take(`${keyPrefix}${key}`, perSecond, burst);
      return { allowed: allowed === 1, retryAfterMs };
    },
  };
}

const TAKE_TOKEN_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`;

/** Buckets kept in memory before the full ones (which a new bucket would equal) are dropped. */
const MAX_BUCKETS_IN_MEMORY = 10_000;

/** The same buckets in this process, for the embedded mode (one gateway, no Redis). */
export function inMemoryRateLimiter(now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number; burst: number; perSecond: number }>();
  const dropFullBuckets = (time: number) => {
    for (const [key, bucket] of buckets) {
      if (bucket.tokens + ((time - bucket.at) * bucket.perSecond) / 1000 >= bucket.burst) buckets.delete(key);
    }
  };
  return {
    take: async (key, { perSecond, burst }) => {
      const time = now();
      if (buckets.size >= MAX_BUCKETS_IN_MEMORY && !buckets.has(key)) dropFullBuckets(time);
      const bucket = buckets.get(key) ?? { tokens: burst, at: time, burst, perSecond };
      bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, time - bucket.at) * perSecond) / 1000);
      bucket.at = time;
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true, retryAfterMs: 0 };
      }
      return { allowed: false, retryAfterMs: Math.ceil(((1 - bucket.tokens) * 1000) / perSecond) };
    },
  };
}
