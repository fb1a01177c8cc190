import type { EventBusTarget, RuntimeConfig } from './config/runtimeConfig.ts';
import { connectDatabase, type Database, type DatabaseOptions } from './database/database.ts';
import type { EventBus } from './events/eventBus.ts';
import { InProcessEventBus } from './events/inProcessEventBus.ts';
import { RedisEventBus } from './events/redisEventBus.ts';
import type { ReadinessCheck } from './http/serviceHttpServer.ts';
import { connectRedis, type Redis } from './redis.ts';

/** The database and event bus a service runs on, with the checks that tell they are reachable. */
export interface Infrastructure extends EventBusConnection {
  readonly db: Database;
}

/** An event bus with the check that tells it is reachable. */
export interface EventBusConnection {
  readonly bus: EventBus;
  /** The Redis connection when running on Redis; null when embedded. */
  readonly redis: Redis | null;
  readonly readinessChecks: readonly ReadinessCheck[];
  close(): Promise<void>;
}

export function openEventBus(target: EventBusTarget): EventBusConnection {
  if (target.kind === 'in-process') {
    const bus = new InProcessEventBus();
    return { bus, redis: null, readinessChecks: [], close: () => bus.close() };
  }
  const redis = connectRedis(target.url, target.keyPrefix);
  const bus = new RedisEventBus(redis);
  return {
    bus,
    redis,
    readinessChecks: [['redis', async () => void (await redis.ping())]],
    close: async () => {
      await bus.close();
      redis.disconnect();
    },
  };
}

export async function openInfrastructure(
  config: Pick<RuntimeConfig, 'database' | 'eventBus'>,
  databaseOptions: DatabaseOptions = {},
): Promise<Infrastructure> {
  const db = await connectDatabase(config.database, databaseOptions);
  const { bus, redis, readinessChecks, close } = openEventBus(config.eventBus);
  return {
    db,
    bus,
    redis,
    readinessChecks: [['database', () => db.ping()], ...readinessChecks],
    close: async () => {
      await close();
      await db.close();
    },
  };
}
