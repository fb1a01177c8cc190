// npm start: the whole system in one process. With no DATABASE_URL / REDIS_URL it runs
// embedded (PGlite in STOCKGRAPH_DATA_DIR, an in-process event bus), migrating and seeding the
// demo data on first start; with them set it runs the same services on PostgreSQL and Redis.
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { readSubgraphConfig } from '../platform/config/subgraphConfig.ts';
import { applyMigrations } from '../platform/database/migrator.ts';
import { openInfrastructure } from '../platform/infrastructure.ts';
import { createLogger } from '../platform/logger.ts';
import { runService } from '../platform/runService.ts';
import { readGatewayConfig } from '../gateway/config.ts';
import { DEMO_LOCATION_ID, DEMO_SKU, seedDemoData } from '../prisma/seed.ts';
import { seedDemoOrders } from '../system/demoOrders.ts';
import { startSystem } from '../system/startSystem.ts';

runService(async (env) => {
  const runtime = readRuntimeConfig(env, { allowEmbedded: true });
  const ports = {
    gateway: readGatewayConfig(env, { allowEmbedded: true }).port,
    inventory: readSubgraphConfig('inventory', env, { allowEmbedded: true }).port,
    orders: readSubgraphConfig('orders', env, { allowEmbedded: true }).port,
    reconciliation: readSubgraphConfig('reconciliation', env, { allowEmbedded: true }).port,
  };
  const logger = createLogger(runtime.logLevel);
  const infrastructure = await openInfrastructure(runtime);
  const applied = await applyMigrations(infrastructure.db);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');
  const seeded = await seedDemoData(infrastructure.db);
  if (seeded) logger.info('demo data seeded');
  const system = await startSystem({ infrastructure, host: runtime.host, ports, logger, env });
  // Orders are made through the running services, as real ones are.
  if (seeded) await seedDemoOrders({ gatewayUrl: system.gateway.url, db: infrastructure.db, logger });
  console.log(banner(runtime.database.kind === 'embedded' ? `embedded, data in ${runtime.database.dataDir}` : 'PostgreSQL', system.gateway.url));
  return {
    stop: async () => {
      await system.stop();
      await infrastructure.close();
    },
  };
});

function banner(mode: string, gatewayUrl: string): string {
  const query = `{ item(sku: "${DEMO_SKU}") { sku description openOrders { id status } stockLevels(locationIds: ["${DEMO_LOCATION_ID}"]) { location { name } onHandWms onHandErp available reconciliation { variance tier } } } }`;
  return `
Stockgraph is running (${mode}).
  GraphQL gateway   ${gatewayUrl}/graphql
  Subscriptions     ${gatewayUrl.replace(/^http/, 'ws')}/graphql   (graphql-ws: stockChanged, availabilityChanged, orderStatusChanged)
  Health            ${gatewayUrl}/healthz   ${gatewayUrl}/readyz

Try a query that spans all three subgraphs:
  curl -s ${gatewayUrl}/graphql -H 'content-type: application/json' \\
    -d '${JSON.stringify({ query })}'
`;
}
