// npm start: the whole system in one process. With no DATABASE_URL / REDIS_URL it runs
// embedded (PGlite in STOCKGRAPH_DATA_DIR, an in-process event bus), migrating and seeding the
// demo data on first start, with the shipped ERP simulator standing in for the ERP unless
// ERP_BASE_URL names one; with them set it runs the same services on PostgreSQL and Redis.
// Embedded, it is a demo: anonymous callers may read (ANONYMOUS_SCOPES defaults to the read
// scopes) and a `demo` client with every scope gets a new key, printed, at every start.
import { readEnvironment, variable, type Environment } from '../platform/config/environment.ts';
import type { Database } from '../platform/database/database.ts';
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { readSubgraphConfig } from '../platform/config/subgraphConfig.ts';
import { applyMigrations } from '../platform/database/migrator.ts';
import { openInfrastructure } from '../platform/infrastructure.ts';
import { createLogger } from '../platform/logger.ts';
import { readTracingConfig, startTracing } from '../platform/observability/tracing.ts';
import { runService } from '../platform/runService.ts';
import { readGatewayConfig } from '../gateway/config.ts';
import { READ_SCOPES } from '../gateway/edge/scopes.ts';
import { DEMO_LOCATION_ID, DEMO_SKU, layDownDemoData, sumDemoPromiseFigures } from '../prisma/seed.ts';
import { issueDemoKey } from '../system/demoClient.ts';
import { demoFeedSecrets, type DemoFeedSecrets } from '../system/demoFeeds.ts';
import { startDemoErp, type DemoErp } from '../system/demoErp.ts';
import { seedDemoOrders } from '../system/demoOrders.ts';
import { seedDemoReconciliation } from '../system/demoReconciliation.ts';
import { startSystem } from '../system/startSystem.ts';

runService(async (startEnv) => {
  const runtime = readRuntimeConfig(startEnv, { allowEmbedded: true });
  const embedded = runtime.database.kind === 'embedded';
  const feeds = embedded ? demoFeedSecrets({ ANONYMOUS_SCOPES: READ_SCOPES.join(','), ...withoutEmpty(startEnv) }) : null;
  const env = feeds?.env ?? startEnv;
  const gatewayConfig = readGatewayConfig(env, { allowEmbedded: true });
  const demoKey = embedded ? issueDemoKey(gatewayConfig.edge.clientsFile) : null;
  const demoHeaders: Record<string, string> = demoKey ? { authorization: `Bearer ${demoKey}` } : {};
  const ports = {
    gateway: gatewayConfig.port,
    inventory: readSubgraphConfig('inventory', env, { allowEmbedded: true }).port,
    orders: readSubgraphConfig('orders', env, { allowEmbedded: true }).port,
    reconciliation: readSubgraphConfig('reconciliation', env, { allowEmbedded: true }).port,
  };
  const logger = createLogger(runtime.logLevel);
  // One process serves every service: one service name, told apart on spans by `stockgraph.service`.
  const tracing = startTracing(readTracingConfig(env), { defaultServiceName: 'stockgraph' });
  const infrastructure = await openInfrastructure(runtime);
  const applied = await applyMigrations(infrastructure.db);
  if (applied.length) logger.info({ migrations: applied }, 'database migrated');
  const seeded = await layDownDemoData(infrastructure.db);
  if (seeded) logger.info('demo data seeded');
  if (embedded && seeded) collectGarbage();
  const erp = embedded && !env.ERP_BASE_URL ? await startEmbeddedErp(env, runtime.host, infrastructure.db) : null;
  const system = await startSystem({ infrastructure, host: runtime.host, ports, logger, env: { ...env, ...erp?.env } });
  // Orders and the first reconciliation run are made through the running services, as real ones are.
  if (seeded) {
    // The services answer already: until the seeded levels' promise figures are summed, reads sum
    // their positions.
    await sumDemoPromiseFigures(infrastructure.db);
    logger.info('demo promise figures summed');
    await seedDemoOrders({ gatewayUrl: system.gateway.url, headers: demoHeaders, db: infrastructure.db, logger });
    await seedDemoReconciliation({ gatewayUrl: system.gateway.url, headers: demoHeaders, logger });
  }
  console.log(banner(embedded ? `embedded, data in ${runtime.database.dataDir}` : 'PostgreSQL', system.gateway.url, erp, demoKey));
  if (feeds && (feeds.wmsSecret || feeds.erpImportToken)) console.log(feedsBanner(feeds, system.subgraphs.inventory.url));
  return {
    stop: async () => {
      await system.stop();
      await erp?.simulator.stop();
      await infrastructure.close();
      await tracing.shutdown();
    },
  };
});

/** The simulated ERP of the embedded demo, on ERP_SIMULATOR_PORT (4010); inventory pulls its balances every ERP_PULL_INTERVAL_SECONDS (60 here). */
function startEmbeddedErp(env: Environment, host: string, db: Database): Promise<DemoErp> {
  const { ERP_SIMULATOR_PORT: port, ERP_PULL_INTERVAL_SECONDS: pullIntervalSeconds } = readEnvironment(
    { ERP_SIMULATOR_PORT: variable.port(4010), ERP_PULL_INTERVAL_SECONDS: variable.positiveInt(60) },
    env,
  );
  return startDemoErp(db, { host, port, pullIntervalSeconds });
}

/**
 * A full garbage collection, where node runs with --expose-gc (`npm start` does), once a first
 * start has laid its demo data down. PGlite makes a new database with a second WebAssembly
 * instance of PostgreSQL, whose memory (about 450 MB) is garbage a few hundred milliseconds
 * after the database opens; V8 took it back only at a full collection that came once the
 * services had started, and held it on top of theirs until then. A later start made none.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** The variables that are set to something: an empty one means unset, as readEnvironment reads it. */
function withoutEmpty(env: Environment): Environment {
  return Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
}

function banner(mode: string, gatewayUrl: string, erp: DemoErp | null, demoKey: string | null): string {
  const query = `{ item(sku: "${DEMO_SKU}") { sku description openOrders { id status } stockLevels(locationIds: ["${DEMO_LOCATION_ID}"]) { location { name } onHandWms onHandErp available reconciliation { variance tier } } } }`;
  return `
Stockgraph is running (${mode}).
  GraphQL gateway   ${gatewayUrl}/graphql
  Subscriptions     ${gatewayUrl.replace(/^http/, 'ws')}/graphql   (graphql-ws: stockChanged, availabilityChanged, reservationChanged,
                                                         orderStatusChanged, discrepancyRaised, holdChanged, syncFailed)
  Health            ${gatewayUrl}/healthz   ${gatewayUrl}/readyz
  Dashboard         ${gatewayUrl}/dashboard   (sign in with an API key${demoKey ? ': the demo key below' : ''})
${erp ? `  ERP (simulated)   ${erp.simulator.baseUrl}   admin: ${erp.simulator.baseUrl}/admin/stats\n` : ''}
Try a query that spans all three subgraphs:
  curl -s ${gatewayUrl}/graphql -H 'content-type: application/json' \\
    -d '${JSON.stringify({ query })}'
${demoKey ? `
Anonymous callers may only read. Changes need a key; the demo client's, with every scope (a new one at each start):
  export STOCKGRAPH_KEY=${demoKey}
  curl -s ${gatewayUrl}/graphql -H 'content-type: application/json' -H "authorization: Bearer $STOCKGRAPH_KEY" \\
    -d '${JSON.stringify({ query: `mutation { createReservation(input: { sku: "${DEMO_SKU}", quantity: 1, channel: "WEB", reference: "cart-1", ttlSeconds: 600, idempotencyKey: "try-1" }) { id status expiresAt } }` })}'
` : ''}`;
}

function feedsBanner({ wmsSecret, erpImportToken }: DemoFeedSecrets, inventoryUrl: string): string {
  const exports = [wmsSecret && `WMS_SECRET=${wmsSecret}`, erpImportToken && `ERP_IMPORT_TOKEN=${erpImportToken}`].filter(Boolean).join(' ');
  return `Feed it stock (README, "Feeding it stock"), with secrets made up at this start:
  export ${exports}${erpImportToken ? `
  curl -s ${inventoryUrl}/erp/balances -H "authorization: Bearer $ERP_IMPORT_TOKEN" -H 'content-type: text/csv' --data-binary @examples/erp-balances.csv` : ''}
`;
}
