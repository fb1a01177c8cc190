import { Redis } from 'ioredis';

export { Redis };

/** A Redis connection that fails commands fast while Redis is away, instead of queueing them. */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
}
