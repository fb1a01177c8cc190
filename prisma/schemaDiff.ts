// Diffs a database against prisma/schema.prisma with Prisma's own migration engine.
// Prisma 7's CLI needs a native schema engine that cannot be downloaded everywhere, so this
// runs the Prisma 6.19 CLI (installed as `prisma6`), whose WebAssembly engine reaches the
// database through a driver adapter. Development tooling: the services never load it.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const require = createRequire(import.meta.url);
const SCHEMA_PATH = new URL('./schema.prisma', import.meta.url).pathname;
const PRISMA6_CLI = require.resolve('prisma6/build/index.js');
const ADAPTER_PG = require.resolve('prisma6-adapter-pg');

/**
 * The SQL that builds the Prisma schema's database from nothing, as `prisma migrate diff
 * --from-empty --to-schema-datamodel` writes it. The engine insists on a reachable PostgreSQL
 * at `databaseUrl` but changes nothing there.
 */
export async function schemaCreationScript(databaseUrl: string): Promise<string> {
  const workDir = mkdtempSync(join(tmpdir(), 'stockgraph-schema-diff-'));
  try {
    // Prisma 6 wants the URL in the datasource block, where Prisma 7 forbids it.
    const schema = readFileSync(SCHEMA_PATH, 'utf8').replace(
      /provider = "postgresql"/,
      `provider = "postgresql"\n  url = ${JSON.stringify(databaseUrl)}`,
    );
    writeFileSync(join(workDir, 'schema.prisma'), schema);
    writeFileSync(
      join(workDir, 'prisma.config.mjs'),
      `import { PrismaPg } from ${JSON.stringify(ADAPTER_PG)};
export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: 'schema.prisma',
  adapter: async () => new PrismaPg({ connectionString: ${JSON.stringify(databaseUrl)} }),
};\n`,
    );
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [PRISMA6_CLI, 'migrate', 'diff', '--config', 'prisma.config.mjs', '--from-empty', '--to-schema-datamodel', 'schema.prisma', '--script'],
      {
        cwd: workDir,
        env: {
          ...process.env,
          // Nothing to download: the diff runs on the WebAssembly engine and no client is generated.
          PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false',
          PRISMA_QUERY_ENGINE_LIBRARY: '/bin/false',
          CHECKPOINT_DISABLE: '1',
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
        },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return stdout.replace(/^Loaded Prisma config.*\n/m, '').trim();
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
