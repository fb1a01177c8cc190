import { Redis } from 'ioredis';

export { Redis };

/**
 * A Redis connection that fails commands fast while Redis is away, instead of queueing them.
 * `keyPrefix` namespaces every key, so that several deployments (or test runs) share a Redis.
 */
export function connectRedis(url: string, keyPrefix = ''): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false, keyPrefix });
}

/**
 * `key` as Redis stores it under the connection's keyPrefix, for the commands whose keys ioredis
 * does not prefix itself (XGROUP and XINFO take the key after a subcommand).
 */
export function prefixedKey(redis: Redis, key: string): string {
  return `${redis.options.keyPrefix ?? ''}${key}`;
}

/** Deletes every key whose name starts with `prefix` (whatever the connection's own keyPrefix), a page at a time. */
export async function deleteKeysUnder(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
