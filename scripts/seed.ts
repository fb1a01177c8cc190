// npm run db:seed: loads the demo data into an empty, migrated database (DATABASE_URL, or the
// embedded database in STOCKGRAPH_DATA_DIR when it is unset). Orders are placed through the
// services, as real ones are: they run in this process, on free ports, until the orders are made.
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { openInfrastructure } from '../platform/infrastructure.ts';
import { createLogger } from '../platform/logger.ts';
import { seedDemoData } from '../prisma/seed.ts';
import { seedDemoOrders } from '../system/demoOrders.ts';
import { startSystem } from '../system/startSystem.ts';
import { runTask } from './runTask.ts';

runTask(async (env) => {
  const runtime = readRuntimeConfig(env, { allowEmbedded: true });
  const infrastructure = await openInfrastructure(runtime);
  try {
    const started = performance.now();
    if (!(await seedDemoData(infrastructure.db))) {
      console.log('Database already has items; nothing seeded');
      return;
    }
    const logger = createLogger('warn');
    const system = await startSystem({ infrastructure, host: '127.0.0.1', ports: { gateway: 0, inventory: 0, orders: 0, reconciliation: 0 }, logger, env });
    try {
      await seedDemoOrders({ gatewayUrl: system.gateway.url, db: infrastructure.db, logger });
    } finally {
      await system.stop();
    }
    console.log(`Seeded demo data in ${Math.round(performance.now() - started)} ms`);
  } finally {
    await infrastructure.close();
  }
});
