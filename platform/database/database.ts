import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from './generated/client.ts';
import type { DatabaseTarget } from '../config/runtimeConfig.ts';
import { preparedStatementNames } from './preparedStatementNames.ts';
import { activeSpan, inSpan, SpanKind } from '../observability/tracing.ts';

export { PrismaClient };

/** One driver connection, for what Prisma does not do: multi-statement scripts, session locks. */
export interface SqlConnection {
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs a multi-statement SQL script (a migration, a bulk load) in one round trip. */
  exec(sql: string): Promise<void>;
}

/** A connected database: Prisma for queries, and the raw driver for scripts and bulk work. */
export interface Database {
  readonly kind: DatabaseTarget['kind'];
  readonly prisma: PrismaClient;
  /** Runs `work` on one connection held for its duration (session state stays with it). */
  withConnection<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T>;
  runScript(sql: string): Promise<void>;
  /**
   * One parameterised statement straight through the driver, for hot read paths where
   * Prisma's own cost would dominate: its per-row decoding (thousands of rows per request), or
   * its building of a small read, next to a plan kept (ReadOptions.reusePlan).
   */
  query<Row>(sql: string, params?: unknown[], options?: ReadOptions): Promise<Row[]>;
  /** As `query`, each row an array of its values in select order: no object per row, for reads of thousands. */
  queryTuples<Row extends readonly unknown[]>(sql: string, params?: unknown[], options?: ReadOptions): Promise<Row[]>;
  /** Resolves when the database answers; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface ReadOptions {
  /**
   * Prepare the statement once per connection and plan it once there, without its parameters'
   * values (plan_cache_mode force_generic_plan), instead of planning it for them at every run.
   * For a read of a few keys, where planning costs more than running: a stock level's joins
   * took PostgreSQL four times as long to plan as to run for one SKU (pgbench, one random SKU's
   * levels: 2,930 reads/s planned each time, 11,390/s on a kept plan). (PostgreSQL's own choice,
   * plan_cache_mode auto, kept planning them: a plan for one key looks cheaper than one made
   * blind.) Not for a read of many keys, nor for one whose best plan depends on its values (a
   * LIMIT, a range): a plan made without the values assumes about ten keys.
   */
  readonly reusePlan?: boolean;
}

/**
 * The options of a read of `keys` (SKUs, stock levels...): its plan kept when they are few. A
 * kept plan is made for about ten keys; a read of many more is planned for them each time.
 */
export function fewKeys(keys: readonly unknown[]): ReadOptions {
  return { reusePlan: keys.length <= FEW_KEYS };
}
const FEW_KEYS = 50;

export interface DatabaseOptions {
  /**
   * Called with the SQL of every statement the services send, through Prisma or the driver
   * (`query`, `queryTuples`): for statement counts and tracing.
   */
  readonly onQuery?: (sql: string) => void;
}

export async function connectDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Promise<Database> {
  switch (target.kind) {
    case 'postgres':
      return connectPostgres(target.url, target.poolSize, options);
    case 'embedded':
      return connectEmbedded(target.dataDir, options);
  }
}

// Prisma gives up on a transaction that waits 2 s for a connection; under a burst (many
// reservations released at once) queueing a little longer is better than failing the request.
const transactionOptions = { maxWait: 10_000, timeout: 15_000 }; // 10 s, 15 s

function createPrisma(adapter: PrismaPg | PrismaPGlite, { onQuery }: DatabaseOptions): PrismaClient {
  if (!onQuery) return tracedTransactions(new PrismaClient({ adapter, transactionOptions }));
  const prisma = new PrismaClient({ adapter, transactionOptions, log: [{ emit: 'event', level: 'query' }] });
  prisma.$on('query', (event) => onQuery(event.query));
  // Query events only change the type of $on, which callers of Database do not use.
  return tracedTransactions(prisma as unknown as PrismaClient);
}

/**
 * Every transaction run within a trace in a `db.transaction` span, a child of the span that runs
 * it. The services call `$transaction` themselves, so it is wrapped here, once; Prisma's own
 * tracing needs @prisma/instrumentation, which Stockgraph does not install. A transaction outside
 * any trace (a relay's poll, a sweeper's round) gets none: it would start a trace of its own
 * several times a second.
 */
function tracedTransactions(prisma: PrismaClient): PrismaClient {
  const transaction = prisma.$transaction.bind(prisma) as (...args: unknown[]) => Promise<unknown>;
  const attributes = { 'db.system.name': 'postgresql' };
  prisma.$transaction = ((...args: unknown[]) => (activeSpan()
    ? inSpan('db.transaction', { kind: SpanKind.CLIENT, attributes }, () => transaction(...args))
    : transaction(...args))) as PrismaClient['$transaction'];
  return prisma;
}

async function connectPostgres(url: string, poolSize: number, options: DatabaseOptions): Promise<Database> {
  // Prepared statements are planned for their parameters at every run, as unnamed ones are: a
  // generic plan, made once without them, can be far worse (a LIMIT or a range it cannot see
  // turned the outbox relay's index scan into a full scan). The exception, reads of a few keys
  // that keep their plans (ReadOptions.reusePlan), have connections of their own, made as
  // they are needed, where each is planned once. JIT compilation is off: it starts on the
  // planner's cost estimate, and a bulk read estimated past its threshold spent longer compiling
  // (tens of milliseconds) than running. An `options` parameter in the URL replaces these.
  const pool = connectionPool(url, poolSize, 'force_custom_plan');
  const planKeepingPool = connectionPool(url, Math.max(2, Math.ceil(poolSize / 2)), 'force_generic_plan');
  const keptStatementName = preparedStatementNames('kept');
  /** Where a driver read goes: one that keeps its plan is prepared by name on the plan-keeping pool. */
  const driverRead = (sql: string, params: unknown[] | undefined, reusePlan: boolean) => ({
    pool: reusePlan ? planKeepingPool : pool,
    config: { text: sql, values: params, name: reusePlan ? keptStatementName({ sql }) : undefined },
  });
  const prisma = createPrisma(new PrismaPg(pool, { statementNameGenerator: preparedStatementNames('prisma') }), options);
  return {
    kind: 'postgres',
    prisma,
    withConnection: async (work) => {
      const client = await pool.connect();
      try {
        return await work({
          query: async (sql, params) => (await client.query(sql, params)).rows,
          exec: async (sql) => {
            await client.query(sql);
          },
        });
      } finally {
        client.release();
      }
    },
    runScript: async (sql) => {
      await pool.query(sql);
    },
    query: async (sql, params, { reusePlan = false } = {}) => {
      options.onQuery?.(sql);
      const read = driverRead(sql, params, reusePlan);
      return (await read.pool.query(read.config)).rows;
    },
    queryTuples: async <Row extends readonly unknown[]>(sql: string, params?: unknown[], { reusePlan = false }: ReadOptions = {}) => {
      options.onQuery?.(sql);
      const read = driverRead(sql, params, reusePlan);
      return (await read.pool.query<Row & unknown[]>({ ...read.config, rowMode: 'array' })).rows;
    },
    ping: async () => {
      await pool.query('SELECT 1');
    },
    close: async () => {
      await prisma.$disconnect();
      await Promise.all([pool.end(), planKeepingPool.end()]);
    },
  };
}

function connectionPool(url: string, max: number, planCacheMode: 'force_custom_plan' | 'force_generic_plan'): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, options: `-c plan_cache_mode=${planCacheMode} -c jit=off` });
  // A client that loses its connection emits 'error': on the pool while idle, on itself while
  // checked out (between a transaction's statements, say). Without a listener either would
  // crash the process; with one, the query under way, or the next, fails and the pool replaces
  // the client.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

// PostgreSQL zeroes its shared buffers as it starts, so in PGlite's WebAssembly memory all of
// them are resident from the first moment: the default 128MB was a third of the embedded
// system's footprint. The files are read through the operating system's page cache, which keeps
// the demo data's tables hot without them; scans of every position ran no slower with 16MB.
const EMBEDDED_SHARED_BUFFERS = '16MB';

async function connectEmbedded(dataDir: string, options: DatabaseOptions): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, { startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`] });
  const prisma = createPrisma(new PrismaPGlite(pglite), options);
  return {
    kind: 'embedded',
    prisma,
    // PGlite is one connection, so every caller already holds "the" session.
    withConnection: (work) =>
      work({
        query: async <Row>(sql: string, params?: unknown[]) => (await pglite.query<Row>(sql, params)).rows,
        exec: async (sql) => {
          await pglite.exec(sql);
        },
      }),
    runScript: async (sql) => {
      await pglite.exec(sql);
    },
    query: async <Row>(sql: string, params?: unknown[]) => {
      options.onQuery?.(sql);
      return (await pglite.query<Row>(sql, params)).rows;
    },
    queryTuples: async <Row extends readonly unknown[]>(sql: string, params?: unknown[]) => {
      options.onQuery?.(sql);
      return (await pglite.query<Row>(sql, params, { rowMode: 'array' })).rows;
    },
    ping: async () => {
      await pglite.query('SELECT 1');
    },
    close: async () => {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
