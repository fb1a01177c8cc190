// Where the tests find the real PostgreSQL and Redis they run against.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connectDatabase, type Database, type DatabaseOptions } from '../../platform/database/database.ts';
import { applyMigrations } from '../../platform/database/migrator.ts';
import { deleteKeysUnder } from '../../platform/redis.ts';

export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  readonly url: string;
  readonly db: Database;
  /** Closes the connection and drops the database. */
  drop(): Promise<void>;
}

/** A new, empty PostgreSQL database of its own; migrated unless `migrate` is false. */
export async function createTestDatabase({ migrate = true, ...options }: DatabaseOptions & { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `stockgraph_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = Object.assign(new URL(POSTGRES_ADMIN_URL), { pathname: `/${name}` }).toString();
  const db = await connectDatabase({ kind: 'postgres', url, poolSize: 10 }, options);
  if (migrate) await applyMigrations(db);
  return {
    url,
    db,
    drop: async () => {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A unique prefix for Redis keys, so that concurrent test runs never share a stream. */
export const uniqueKey = (label: string) => `stockgraph-test:${label}:${randomBytes(6).toString('hex')}`;

/**
 * A Redis namespace of the test's own: services given `eventBus` (or `keyPrefix`) keep every key
 * under a unique prefix, so that no stream is shared with another test or an earlier run, and
 * clear() removes them all.
 */
export function redisNamespace(label: string) {
  const keyPrefix = `${uniqueKey(label)}:`;
  return {
    keyPrefix,
    eventBus: { kind: 'redis', url: REDIS_URL, keyPrefix } as const,
    clear: () => deleteKeysUnder(REDIS_URL, keyPrefix),
  };
}
