// Prisma CLI configuration. The CLI's migrate commands need a schema engine binary that
// cannot be downloaded on every machine, so Stockgraph applies prisma/migrations itself
// (platform/database/migrator.ts); `prisma generate` and, where the engine is available,
// `prisma migrate deploy` read this file.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/stockgraph' },
});
