// The whole system for the tests that go through the gateway: its four services in this process,
// as startSystem runs them, on a database and a Redis namespace of their own.
import type { Environment } from '../../platform/config/environment.ts';
import { openInfrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { testClients } from '../support/gatewayClients.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from '../support/services.ts';

export interface TestSystem {
  readonly database: TestDatabase;
  readonly system: RunningSystem;
  /** The one client the gateway knows: send `clients.headers()`. */
  readonly clients: ReturnType<typeof testClients>;
  /** Stops the services and removes what the system was given. */
  stop(): Promise<void>;
}

/**
 * Starts the system on a new database seeded with 5 demo SKUs, runs only on demand; `env` adds
 * to (or overrides) every service's variables. `label` names its Redis namespace.
 */
export async function startTestSystem(label: string, env: Environment = {}): Promise<TestSystem> {
  const started: (() => unknown)[] = [];
  const stop = async () => {
    while (started.length) await started.pop()!();
  };
  try {
    const database = await createTestDatabase();
    started.push(() => database.drop());
    await seedDemoData(database.db, { skuCount: 5 });
    const clients = testClients();
    started.push(() => clients.remove());
    const redis = redisNamespace(label);
    started.push(() => redis.clear());
    const infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus });
    started.push(() => infrastructure.close());
    const system = await startSystem({
      infrastructure,
      host: '127.0.0.1',
      ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 },
      logger: createLogger('silent'),
      env: { ...clients.env, RECONCILIATION_INTERVAL_SECONDS: '0', ...env },
    });
    started.push(() => system.stop());
    return { database, system, clients, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
