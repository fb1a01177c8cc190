import { ErrorsAreMissesCache, InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { Logger } from '../../platform/logger.ts';
import type { Redis } from '../../platform/redis.ts';

/**
 * Where automatic persisted queries (APQ) are kept: in Redis, shared by every gateway replica,
 * so that a query registered through one is found through the others; in memory when embedded.
 * A Redis that cannot answer counts as a miss (the client then sends the query again), never as
 * a failed request.
 */
export function persistedQueryCache(redis: Redis | null, logger: Logger): KeyValueCache<string> {
  return redis ? new ErrorsAreMissesCache(new RedisKeyValueCache(redis, 'stockgraph:apq:'), logger) : new InMemoryLRUCache<string>();
}

// Apollo's KeyvAdapter with @keyv/redis would do this over node-redis, a second Redis client
// with its own connections and settings beside the ioredis every other part uses; the interface
// is three methods.
class RedisKeyValueCache implements KeyValueCache<string> {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  async get(key: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    if (options?.ttl) await this.redis.set(this.prefix + key, value, 'EX', options.ttl);
    else await this.redis.set(this.prefix + key, value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.prefix + key)) > 0;
  }
}
