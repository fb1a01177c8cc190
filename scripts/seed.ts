// npm run db:seed: loads the demo data into an empty, migrated database (DATABASE_URL, or the
// embedded database in STOCKGRAPH_DATA_DIR when it is unset).
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { connectDatabase } from '../platform/database/database.ts';
import { seedDemoData } from '../prisma/seed.ts';
import { runTask } from './runTask.ts';

runTask(async (env) => {
  const db = await connectDatabase(readRuntimeConfig(env, { allowEmbedded: true }).database);
  try {
    const started = performance.now();
    const seeded = await seedDemoData(db);
    console.log(seeded ? `Seeded demo data in ${Math.round(performance.now() - started)} ms` : 'Database already has items; nothing seeded');
  } finally {
    await db.close();
  }
});
