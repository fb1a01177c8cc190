import type { RuntimeConfig } from './config/runtimeConfig.ts';
import { connectDatabase, type Database, type DatabaseOptions } from './database/database.ts';
import type { EventBus } from './events/eventBus.ts';
import { InProcessEventBus } from './events/inProcessEventBus.ts';
import { RedisEventBus } from './events/redisEventBus.ts';
import type { ReadinessCheck } from './http/serviceHttpServer.ts';
import { connectRedis, type Redis } from './redis.ts';

/** The database and event bus a service runs on, with the checks that tell they are reachable. */
export interface Infrastructure {
  readonly db: Database;
  readonly bus: EventBus;
  /** The Redis connection when running on Redis; null when embedded. */
  readonly redis: Redis | null;
  readonly readinessChecks: readonly ReadinessCheck[];
  close(): Promise<void>;
}

export async function openInfrastructure(
  config: Pick<RuntimeConfig, 'database' | 'eventBus'>,
  databaseOptions: DatabaseOptions = {},
): Promise<Infrastructure> {
  const db = await connectDatabase(config.database, databaseOptions);
  const readinessChecks: ReadinessCheck[] = [['database', () => db.ping()]];
  if (config.eventBus.kind === 'in-process') {
    const bus = new InProcessEventBus();
    return { db, bus, redis: null, readinessChecks, close: async () => (await bus.close(), await db.close()) };
  }
  const redis = connectRedis(config.eventBus.url, config.eventBus.keyPrefix);
  const bus = new RedisEventBus(redis);
  readinessChecks.push(['redis', async () => void (await redis.ping())]);
  return {
    db,
    bus,
    redis,
    readinessChecks,
    close: async () => {
      await bus.close();
      redis.disconnect();
      await db.close();
    },
  };
}
