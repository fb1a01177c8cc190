import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Database, SqlConnection } from './database.ts';

export const MIGRATIONS_DIR = new URL('../../prisma/migrations/', import.meta.url).pathname;

// The advisory lock id and the table are Prisma Migrate's own, so that this migrator and
// `prisma migrate deploy` exclude each other and each sees what the other applied.
const PRISMA_MIGRATE_LOCK_ID = 72707369;
const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum" VARCHAR(64) NOT NULL,
    "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL,
    "logs" TEXT,
    "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count" INTEGER NOT NULL DEFAULT 0
  )`;

export interface Migration {
  readonly name: string;
  readonly sql: string;
  /** SHA-256 of the file, as Prisma Migrate records it. */
  readonly checksum: string;
}

/** The migrations in `dir`, in the order Prisma applies them (folder names start with a timestamp). */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies the migrations not yet recorded in `_prisma_migrations`, each in one transaction with
 * its record, holding Prisma Migrate's advisory lock throughout so that concurrent starters wait
 * for each other. Returns the names applied. Refuses to go on when an applied migration's file
 * has changed or an earlier attempt did not finish.
 */
export async function applyMigrations(db: Database, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = readMigrations(dir);
  return db.withConnection(async (connection) => {
    await connection.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK_ID})`);
    try {
      const pending = await pendingMigrations(connection, migrations);
      for (const migration of pending) await applyMigration(connection, migration);
      return pending.map((migration) => migration.name);
    } finally {
      await connection.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_LOCK_ID})`);
    }
  });
}

async function pendingMigrations(connection: SqlConnection, migrations: Migration[]): Promise<Migration[]> {
  await connection.exec(CREATE_MIGRATIONS_TABLE);
  const applied = await connection.query<{ migration_name: string; checksum: string; finished_at: Date | null }>(
    'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
  );
  const appliedByName = new Map(applied.map((row) => [row.migration_name, row]));
  return migrations.filter((migration) => {
    const record = appliedByName.get(migration.name);
    if (!record) return true;
    if (!record.finished_at) throw new MigrationError(`Migration ${migration.name} did not finish earlier; resolve it before migrating again.`);
    if (record.checksum !== migration.checksum) throw new MigrationError(`Migration ${migration.name} was changed after it was applied.`);
    return false;
  });
}

async function applyMigration(connection: SqlConnection, migration: Migration): Promise<void> {
  // The record commits with the migration, so a crash leaves either both or neither.
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const record = `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
    VALUES (${literal(randomUUID())}, ${literal(migration.checksum)}, now(), ${literal(migration.name)}, 1)`;
  try {
    await connection.exec(`BEGIN;\n${migration.sql}\n;\n${record};\nCOMMIT;`);
  } catch (error) {
    await connection.exec('ROLLBACK');
    throw new MigrationError(`Migration ${migration.name} failed: ${(error as Error).message}`);
  }
}
