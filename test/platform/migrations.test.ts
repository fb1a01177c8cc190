import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectDatabase, type Database } from '../../platform/database/database.ts';
import { applyMigrations, MigrationError, MIGRATIONS_DIR, readMigrations } from '../../platform/database/migrator.ts';
import { schemaCreationScript } from '../../prisma/schemaDiff.ts';
import { useCleanup } from '../support/cleanup.ts';
import { createTestDatabase, POSTGRES_ADMIN_URL } from '../support/services.ts';

/** Everything about the public schema that a migration can change, except the migrations table. */
async function catalogOf(db: Database): Promise<unknown> {
  return db.withConnection(async (connection) => {
    const [row] = await connection.query<{ catalog: unknown }>(`
      SELECT json_build_object(
        'columns', (SELECT json_agg(json_build_array(table_name, column_name, data_type, udt_name, is_nullable,
                                                     column_default, character_maximum_length, datetime_precision)
                                    ORDER BY table_name, column_name)
                      FROM information_schema.columns
                     WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'),
        'constraints', (SELECT json_agg(json_build_array(t.relname, c.conname, pg_get_constraintdef(c.oid))
                                        ORDER BY t.relname, c.conname)
                          FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                          JOIN pg_namespace n ON n.oid = t.relnamespace
                         WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'
                           -- PostgreSQL 17 (PGlite) also lists NOT NULL here; columns cover it.
                           AND c.contype <> 'n'),
        'indexes', (SELECT json_agg(json_build_array(indexname, indexdef) ORDER BY indexname)
                      FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'),
        'enums', (SELECT json_agg(json_build_array(t.typname, e.enumlabel) ORDER BY t.typname, e.enumsortorder)
                    FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid)
      ) AS catalog`);
    return row!.catalog;
  });
}

describe('migrations', () => {
  const cleanup = useCleanup();

  /** A database that has taken the migrations before `timestamp` only, as one that has not taken that migration yet has them. */
  const migratedBefore = async (timestamp: string): Promise<Database> => {
    const { db, drop } = await createTestDatabase({ migrate: false });
    cleanup(drop);
    const dir = mkdtempSync(join(tmpdir(), 'stockgraph-migrations-'));
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true, filter: (path) => !/\/\d{14}_/.test(path) || /\/(\d{14})_/.exec(path)![1]! < timestamp });
    await applyMigrations(db, dir);
    return db;
  };

  it('describe the same database as prisma/schema.prisma', async () => {
    // Given one database built by our migrator from prisma/migrations
    const migrated = await createTestDatabase();
    cleanup(migrated.drop);
    // and one built by Prisma's own engine straight from the schema
    const fromSchema = await createTestDatabase({ migrate: false });
    cleanup(fromSchema.drop);
    await fromSchema.db.runScript(await schemaCreationScript(fromSchema.url));
    // then their catalogs are identical
    assert.deepEqual(await catalogOf(migrated.db), await catalogOf(fromSchema.db));
  });

  it('build the same database in embedded PGlite as in PostgreSQL', async () => {
    const postgres = await createTestDatabase();
    cleanup(postgres.drop);
    const dataDir = mkdtempSync(join(tmpdir(), 'stockgraph-pglite-'));
    const embedded = await connectDatabase({ kind: 'embedded', dataDir });
    cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanup(() => embedded.close());

    assert.deepEqual(await applyMigrations(embedded), readMigrations().map((migration) => migration.name));
    assert.deepEqual(await catalogOf(embedded), await catalogOf(postgres.db));
  });

  it('are recorded where prisma migrate deploy looks, and applied once', async () => {
    const { db, drop } = await createTestDatabase({ migrate: false });
    cleanup(drop);

    const first = await applyMigrations(db);
    const again = await applyMigrations(db);

    assert.deepEqual(first, readMigrations().map((migration) => migration.name));
    assert.deepEqual(again, []);
    const records = await db.prisma.$queryRawUnsafe<{ migration_name: string; checksum: string; finished: boolean; steps: number }[]>(
      'SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, applied_steps_count AS steps FROM "_prisma_migrations" ORDER BY migration_name',
    );
    assert.deepEqual(records, readMigrations().map((m) => ({ migration_name: m.name, checksum: m.checksum, finished: true, steps: 1 })));
  });

  it('are applied exactly once when several services start at the same moment', async () => {
    const { url, db, drop } = await createTestDatabase({ migrate: false });
    cleanup(drop);
    const others = await Promise.all([1, 2, 3].map(() => connectDatabase({ kind: 'postgres', url, poolSize: 2 })));
    cleanup(() => Promise.all(others.map((other) => other.close())));

    const results = await Promise.all([db, ...others].map((each) => applyMigrations(each)));

    assert.equal(results.flat().length, readMigrations().length);
    assert.equal(results.filter((applied) => applied.length > 0).length, 1);
  });

  it('refuse to go on when an applied migration has been edited', async () => {
    const { db, drop } = await createTestDatabase();
    cleanup(drop);
    await db.prisma.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET checksum = 'edited'`);

    await assert.rejects(applyMigrations(db), (error: unknown) => error instanceof MigrationError && /was changed after it was applied/.test(error.message));
  });

  it('hand a level\'s last cycle count over to its positions, and keep a snapshot on the level', async () => {
    const db = await migratedBefore('20261126090000');
    // SKU-1's level was last counted by a cycle count (of STOCK), SKU-2's by a location snapshot
    // (a cycle count of the same sequence that came later was superseded by it).
    await db.runScript(`
      INSERT INTO location (id, name, kind) VALUES ('DC-01', 'Atlanta', 'DISTRIBUTION_CENTER');
      INSERT INTO subinventory (location_id, code, nettable) VALUES ('DC-01', 'STOCK', true), ('DC-01', 'QA', false);
      INSERT INTO item (sku, description, unit_of_measure) VALUES ('SKU-1', 'one', 'EA'), ('SKU-2', 'two', 'EA');
      INSERT INTO stock_level (sku, location_id, last_count_source, last_count_sequence) VALUES
        ('SKU-1', 'DC-01', 'acme-wms', 7), ('SKU-2', 'DC-01', 'acme-wms', 9);
      INSERT INTO stock_position (sku, location_id, subinventory, on_hand_wms)
        SELECT sku, 'DC-01', code, 5 FROM (VALUES ('SKU-1'), ('SKU-2')) AS item(sku) CROSS JOIN (VALUES ('STOCK'), ('QA')) AS sub(code);
      INSERT INTO inventory_event (source, event_id, sequence, type, location_id, sku, outcome, occurred_at) VALUES
        ('acme-wms', 'count', 7, 'CYCLE_COUNT', 'DC-01', 'SKU-1', 'APPLIED', now()),
        ('acme-wms', 'snapshot', 9, 'LOCATION_SNAPSHOT', 'DC-01', NULL, 'APPLIED', now()),
        ('acme-wms', 'late-count', 9, 'CYCLE_COUNT', 'DC-01', 'SKU-2', 'SUPERSEDED', now());`);

    await applyMigrations(db);

    const levels = await db.query<{ sku: string; source: string | null; sequence: string | null }>(`
      SELECT sku, last_snapshot_source AS source, last_snapshot_sequence::text AS sequence FROM stock_level ORDER BY sku`);
    assert.deepEqual(levels, [{ sku: 'SKU-1', source: null, sequence: null }, { sku: 'SKU-2', source: 'acme-wms', sequence: '9' }]);
    const counts = await db.query<{ sku: string; subinventory: string; counted: string | null }>(`
      SELECT sku, subinventory, last_count_source || '#' || last_count_sequence AS counted FROM stock_position ORDER BY sku, subinventory`);
    assert.deepEqual(counts, [
      { sku: 'SKU-1', subinventory: 'QA', counted: 'acme-wms#7' },
      { sku: 'SKU-1', subinventory: 'STOCK', counted: 'acme-wms#7' },
      { sku: 'SKU-2', subinventory: 'QA', counted: null },
      { sku: 'SKU-2', subinventory: 'STOCK', counted: null },
    ]);
  });

  it('keep the damaged units the position column held as on hand of DAMAGED, and drop the column', async () => {
    const db = await migratedBefore('20261209010000');
    // DC-01 has a DAMAGED subinventory, holding 3 of SKU-1 already; DC-02 has none; DC-03's is (wrongly) nettable.
    await db.runScript(`
      INSERT INTO location (id, name, kind) VALUES ('DC-01', 'Atlanta', 'DISTRIBUTION_CENTER'), ('DC-02', 'Chicago', 'DISTRIBUTION_CENTER'), ('DC-03', 'Dallas', 'DISTRIBUTION_CENTER');
      INSERT INTO subinventory (location_id, code, nettable) VALUES
        ('DC-01', 'STOCK', true), ('DC-01', 'DAMAGED', false), ('DC-02', 'STOCK', true), ('DC-03', 'STOCK', true), ('DC-03', 'DAMAGED', true);
      INSERT INTO item (sku, description, unit_of_measure) VALUES ('SKU-1', 'one', 'EA'), ('SKU-2', 'two', 'EA');
      INSERT INTO stock_level (sku, location_id, figures_valid_until) VALUES
        ('SKU-1', 'DC-01', 'infinity'), ('SKU-2', 'DC-02', 'infinity'), ('SKU-1', 'DC-03', 'infinity');
      INSERT INTO stock_position (sku, location_id, subinventory, on_hand_wms, damaged) VALUES
        ('SKU-1', 'DC-01', 'STOCK', 10, 2), ('SKU-1', 'DC-01', 'DAMAGED', 3, 1), ('SKU-2', 'DC-02', 'STOCK', 5, 4), ('SKU-1', 'DC-03', 'DAMAGED', 2, 0);`);

    await applyMigrations(db);

    const positions = await db.query<{ sku: string; locationId: string; subinventory: string; onHand: number }>(`
      SELECT sku, location_id AS "locationId", subinventory, on_hand_wms AS "onHand" FROM stock_position ORDER BY sku, location_id, subinventory`);
    assert.deepEqual(positions, [
      { sku: 'SKU-1', locationId: 'DC-01', subinventory: 'DAMAGED', onHand: 6 },
      { sku: 'SKU-1', locationId: 'DC-01', subinventory: 'STOCK', onHand: 10 },
      { sku: 'SKU-1', locationId: 'DC-03', subinventory: 'DAMAGED', onHand: 2 },
      { sku: 'SKU-2', locationId: 'DC-02', subinventory: 'DAMAGED', onHand: 4 },
      { sku: 'SKU-2', locationId: 'DC-02', subinventory: 'STOCK', onHand: 5 },
    ]);
    assert.deepEqual(await db.query(`SELECT nettable FROM subinventory WHERE location_id = 'DC-02' AND code = 'DAMAGED'`), [{ nettable: false }]);
    assert.deepEqual(await db.query(`SELECT location_id AS "locationId" FROM stock_level WHERE figures_valid_until <= now() ORDER BY 1`), [{ locationId: 'DC-03' }],
      'the level whose DAMAGED was nettable is summed again');
    assert.deepEqual(await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'stock_position' AND column_name = 'damaged'`), []);
  });

  it('give each level the sources stamped on its buckets, but the ERP, at their newest stamps, and its promise figures with them', async () => {
    const db = await migratedBefore('20261209030000');
    // SKU-1's level: acme-wms changed two buckets (allocated last), Stockgraph its reservations, the ERP its on hand; SKU-2's: nothing yet.
    await db.runScript(`
      INSERT INTO location (id, name, kind) VALUES ('DC-01', 'Atlanta', 'DISTRIBUTION_CENTER');
      INSERT INTO item (sku, description, unit_of_measure) VALUES ('SKU-1', 'one', 'EA'), ('SKU-2', 'two', 'EA');
      INSERT INTO stock_level (sku, location_id, bucket_changes, available) VALUES
        ('SKU-1', 'DC-01', '{"onHandWms": {"source": "acme-wms", "at": "2026-12-01T08:00:00.000Z"},
                            "allocated": {"source": "acme-wms", "at": "2026-12-01T09:30:00.250Z"},
                            "reserved": {"source": "stockgraph", "at": "2026-12-01T09:00:00.000Z"},
                            "onHandErp": {"source": "erp", "at": "2026-12-01T10:00:00.000Z"}}', 7),
        ('SKU-2', 'DC-01', '{}', 0);`);

    await applyMigrations(db);

    const levels = await db.query<{ sku: string; reports: unknown; figures: string }>(
      `SELECT sku, source_reports AS reports, promise_figures_json AS figures FROM stock_level ORDER BY sku`);
    const sku1Reports = { 'acme-wms': Date.parse('2026-12-01T09:30:00.250Z'), stockgraph: Date.parse('2026-12-01T09:00:00.000Z') };
    assert.deepEqual(levels.map(({ sku, reports }) => ({ sku, reports })), [{ sku: 'SKU-1', reports: sku1Reports }, { sku: 'SKU-2', reports: {} }]);
    assert.deepEqual(levels.map(({ figures }) => (JSON.parse(figures) as unknown[])[5]), [sku1Reports, {}], 'the sources close the promise figures');
  });

  it('leave nothing behind when one fails half-way', async () => {
    const { db, drop } = await createTestDatabase({ migrate: false });
    cleanup(drop);
    const dir = mkdtempSync(join(tmpdir(), 'stockgraph-migrations-'));
    cleanup(() => rmSync(dir, { recursive: true, force: true }));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    mkdirSync(join(dir, '29991231000000_broken'));
    writeFileSync(join(dir, '29991231000000_broken', 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');

    await assert.rejects(applyMigrations(db, dir), (error: unknown) => error instanceof MigrationError && /29991231000000_broken failed/.test(error.message));

    const [state] = await db.prisma.$queryRawUnsafe<{ table: string | null; recorded: number }[]>(
      `SELECT to_regclass('half_done')::text AS table, (SELECT count(*)::int FROM "_prisma_migrations" WHERE migration_name LIKE '%broken') AS recorded`,
    );
    assert.deepEqual(state, { table: null, recorded: 0 });
    assert.deepEqual(await applyMigrations(db), [], 'the good migrations before it stay applied');
  });
});

describe('npm run db:migrate', () => {
  /** Runs the script as `npm run db:migrate` does, against `databaseUrl`; resolves with its exit code and what it printed. */
  const migrate = (databaseUrl: string) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], { env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.once('exit', (code) => resolve({ code, stderr }));
    });

  it('says in one line how to create a database that does not exist, and exits 1', async () => {
    const missing = `stockgraph_test_missing_${process.pid}`;
    const admin = new URL(POSTGRES_ADMIN_URL);
    admin.pathname = `/${missing}`;

    const { code, stderr } = await migrate(admin.href);

    assert.equal(code, 1);
    assert.equal(stderr, `stockgraph: database "${missing}" does not exist: create it (createdb ${missing}, or CREATE DATABASE "${missing}" as a user allowed to), then try again\n`);
  });
});
