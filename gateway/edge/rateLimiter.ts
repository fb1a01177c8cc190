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

/** A replica takes at most this share of a bucket's burst from Redis at once (see redisRateLimiter). */
const LEASE_SHARE_OF_BURST = 0.1;
const MAX_LEASE = 20;
/** How long a replica may spend a lease before what is left of it is dropped. */
const LEASE_LIFETIME_MS = 1_000;

/**
 * One bucket per key in Redis, shared by every gateway replica, timed by the Redis server's
 * clock so that replicas' clocks never disagree about refills. A replica takes tokens a lease at
 * a time (a tenth of the burst, at most 20) and spends them locally for up to a second, when
 * what is left of them is dropped: one script call serves a lease's requests, and no replica
 * ever lets through a token the bucket did not give (a client whose requests move between
 * replicas may meet a refusal a little early, by at most a lease per replica). A bucket of a
 * burst under 20 is asked for every request.
 */
export function redisRateLimiter(redis: Redis, keyPrefix = 'stockgraph:rate:', now: () => number = Date.now): RateLimiter {
  redis.defineCommand('stockgraphTakeTokens', { numberOfKeys: 1, lua: TAKE_TOKENS_SCRIPT });
  const takeTokens = (redis as Redis & { stockgraphTakeTokens(key: string, perSecond: number, burst: number, wanted: number): Promise<[number, number]> }).stockgraphTakeTokens.bind(redis);
  const leases = new Map<string, { tokens: number; until: number }>();
  return {
    take: async (key, { perSecond, burst }) => {
      const lease = leases.get(key);
      if (lease && lease.tokens >= 1 && now() < lease.until) {
        lease.tokens -= 1;
        return { allowed: true, retryAfterMs: 0 };
      }
      const wanted = Math.max(1, Math.min(MAX_LEASE, Math.floor(burst * LEASE_SHARE_OF_BURST)));
      const [granted, retryAfterMs] = await takeTokens(`${keyPrefix}${key}`, perSecond, burst, wanted);
      if (granted === 0) return { allowed: false, retryAfterMs };
      if (granted > 1) leases.set(key, { tokens: granted - 1, until: now() + LEASE_LIFETIME_MS });
      else leases.delete(key);
      return { allowed: true, retryAfterMs: 0 };
    },
  };
}

/** Takes up to ARGV[3] whole tokens; answers how many it took and, when none, the milliseconds until one. */
const TAKE_TOKENS_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local granted = math.min(wanted, math.floor(tokens))
local wait = 0
if granted >= 1 then
  tokens = tokens - granted
else
  granted = 0
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {granted, wait}
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
