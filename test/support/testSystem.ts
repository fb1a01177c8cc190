// The whole system for the tests that go through the gateway: its four services in this process,
// as startSystem runs them, on a database and a Redis namespace of their own.
import type { Environment } from '../../platform/config/environment.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger, type Logger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { startSystem, type RunningSystem } from '../../system/startSystem.ts';
import { OPERATOR, testClients, type TestClient } from './gatewayClients.ts';
import { createTestDatabase, redisNamespace, type TestDatabase } from './services.ts';

export interface TestSystem {
  readonly database: TestDatabase;
  readonly infrastructure: Infrastructure;
  readonly system: RunningSystem;
  /** The clients the gateway knows (the operator alone unless TestSystemOptions.clients): send `clients.headers(name)`. */
  readonly clients: ReturnType<typeof testClients>;
  /** Stops the services and removes what the system was given. */
  stop(): Promise<void>;
}

export interface TestSystemOptions {
  /** Adds to (or overrides) every service's variables. */
  readonly env?: Environment;
  /** Demo SKUs seeded; 5 by default. */
  readonly skuCount?: number;
  /** Where the services log; silent by default. */
  readonly logger?: Logger;
  /** The clients in the gateway's clients file; OPERATOR alone by default. */
  readonly clients?: readonly TestClient[];
  /** Called with the SQL of every statement the services send: for statement counts. */
  readonly onQuery?: (sql: string) => void;
}

/**
 * Starts the system on a new database seeded with demo SKUs, reconciliation runs only on demand.
 * `label` names its Redis namespace.
 */
export async function startTestSystem(
  label: string,
  { env = {}, skuCount = 5, logger = createLogger('silent'), clients: testClientList = [OPERATOR], onQuery }: TestSystemOptions = {},
): Promise<TestSystem> {
  const started: (() => unknown)[] = [];
  const stop = async () => {
    while (started.length) await started.pop()!();
  };
  try {
    const database = await createTestDatabase();
    started.push(() => database.drop());
    await seedDemoData(database.db, { skuCount });
    const clients = testClients(testClientList);
    started.push(() => clients.remove());
    const redis = redisNamespace(label);
    started.push(() => redis.clear());
    const infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus: redis.eventBus }, { onQuery });
    started.push(() => infrastructure.close());
    const system = await startSystem({
      infrastructure,
      host: '127.0.0.1',
      ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 },
      logger,
      env: { ...clients.env, RECONCILIATION_INTERVAL_SECONDS: '0', ...env },
    });
    started.push(() => system.stop());
    return { database, infrastructure, system, clients, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
