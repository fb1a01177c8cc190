// The whole system for a fault test: the three subgraphs in the test's process on a database of
// the test's own, and gateways as processes of their own (so that one can be SIGKILLed), all on
// the event bus given.
import type { EventBusTarget } from '../../platform/config/runtimeConfig.ts';
import { startSubgraphServer } from '../../platform/graphql/subgraphServer.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { createLogger } from '../../platform/logger.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { inventorySubgraph } from '../../subgraphs/inventory/inventorySubgraph.ts';
import { ordersSubgraph } from '../../subgraphs/orders/ordersSubgraph.ts';
import { reconciliationSubgraph } from '../../subgraphs/reconciliation/reconciliationSubgraph.ts';
import { startServiceProcess, type ChildService } from './childProcesses.ts';
import { OPERATOR, testClients } from './gatewayClients.ts';
import { createTestDatabase, type TestDatabase } from './services.ts';
import { testSubgraphServing, TEST_IDENTITY_SECRET } from './trustedCaller.ts';

const INTERNAL_API_TOKEN = 'fault-tests-internal-token';
/** What the inventory replicas are configured with: acme-wms batches signed with `test-secret`. */
export const INVENTORY_ENV = { WMS_SOURCE_SECRETS: 'acme-wms=test-secret', INTERNAL_API_TOKEN, OUTBOX_POLL_INTERVAL_MS: '50' };

export interface FaultSystem {
  readonly database: TestDatabase;
  readonly infrastructure: Infrastructure;
  readonly inventories: readonly RunningService[];
  /** The operator's API key, for gateway requests and subscriptions. */
  readonly apiKey: string;
  /** A gateway in a process of its own, on the bus and subgraphs of this system. */
  startGateway(): Promise<ChildService>;
  stop(): Promise<void>;
}

/** Seeds the demo catalogue (`skuCount` items over 12 locations) and starts `inventoryReplicas` inventories, orders and reconciliation. */
export async function startFaultSystem({ eventBus, skuCount = 20, inventoryReplicas = 2 }: { eventBus: Extract<EventBusTarget, { kind: 'redis' }>; skuCount?: number; inventoryReplicas?: number }): Promise<FaultSystem> {
  const silent = createLogger('silent');
  const database = await createTestDatabase();
  await seedDemoData(database.db, { skuCount });
  const infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 10 }, eventBus });
  const inventories: RunningService[] = [];
  for (let i = 0; i < inventoryReplicas; i += 1) inventories.push(await startSubgraphServer(inventorySubgraph({ infrastructure, env: INVENTORY_ENV, logger: silent }), testSubgraphServing));
  const orders = await startSubgraphServer(ordersSubgraph({ infrastructure, env: { INTERNAL_API_TOKEN, INVENTORY_API_URL: inventories[0]!.url }, logger: silent }), testSubgraphServing);
  const reconciliation = await startSubgraphServer(reconciliationSubgraph({ infrastructure, env: {}, logger: silent }), testSubgraphServing);
  const clients = testClients();
  const gateways: ChildService[] = [];
  return {
    database,
    infrastructure,
    inventories,
    apiKey: clients.key(OPERATOR.name),
    startGateway: async () => {
      const gateway = await startServiceProcess('gateway/main.ts', 'gateway', {
        GATEWAY_PORT: '0', REDIS_URL: eventBus.url, REDIS_KEY_PREFIX: eventBus.keyPrefix ?? '', GATEWAY_IDENTITY_SECRET: TEST_IDENTITY_SECRET,
        INVENTORY_URL: `${inventories[0]!.url}/graphql`, ORDERS_URL: `${orders.url}/graphql`, RECONCILIATION_URL: `${reconciliation.url}/graphql`,
        ...clients.env,
      });
      gateways.push(gateway);
      return gateway;
    },
    stop: async () => {
      for (const gateway of gateways) await gateway.kill();
      for (const service of [...inventories, orders, reconciliation]) await service.stop();
      await infrastructure.close();
      clients.remove();
      await database.drop();
    },
  };
}
