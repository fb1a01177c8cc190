// npm run db:migrate: applies prisma/migrations to DATABASE_URL, or to the embedded database
// in STOCKGRAPH_DATA_DIR when DATABASE_URL is unset.
import { readRuntimeConfig } from '../platform/config/runtimeConfig.ts';
import { connectDatabase } from '../platform/database/database.ts';
import { applyMigrations } from '../platform/database/migrator.ts';
import { runTask } from './runTask.ts';

runTask(async (env) => {
  const db = await connectDatabase(readRuntimeConfig(env, { allowEmbedded: true }).database);
  try {
    const applied = await applyMigrations(db);
    console.log(applied.length ? `Applied ${applied.join(', ')}` : 'Database is up to date');
  } finally {
    await db.close();
  }
});
