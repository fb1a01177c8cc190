/**
 * PostgreSQL's SQLSTATE of `error`, as Prisma reports it from a statement through a driver
 * adapter (`@prisma/adapter-pg`, `pglite-prisma-adapter`); undefined when it carries none (a
 * lost connection, a pool timeout).
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  // Wrapped by Prisma (a query), or the adapter's own error as it is (a transaction's commit or rollback).
  const { meta, name, cause } = error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } }; name?: unknown; cause?: { originalCode?: unknown } };
  const code = meta?.driverAdapterError?.cause?.originalCode ?? (name === 'DriverAdapterError' ? cause?.originalCode : undefined);
  return typeof code === 'string' ? code : undefined;
}

/** The database's own words for `error`, when it refused a statement; undefined otherwise. */
export function databaseMessageOf(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const message = (error as { meta?: { driverAdapterError?: { cause?: { originalMessage?: unknown } } } }).meta?.driverAdapterError?.cause?.originalMessage;
  return typeof message === 'string' ? message : undefined;
}

/** Whether `error` is PostgreSQL's unique violation (23505). */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'P2002' || sqlStateOf(error) === '23505';
}

/**
 * Whether PostgreSQL refused the data of a statement (SQLSTATE class 22, data exception: a
 * value out of range, bad text; class 23, integrity constraint violation): sending the same
 * data again fails the same way. A lost connection, a deadlock or a serialization failure is
 * not: it may succeed when retried.
 */
export function isDataRefusal(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

// Prisma's own codes for a database it could not reach or keep (P1001 cannot reach, P1002
// timed out, P1008 operation timed out, P1017 connection closed, P2024 no pooled connection).
const UNREACHABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
// SQLSTATE classes of a failure that says nothing of the statement: connection exception (08),
// transaction rollback (40: serialization failure, deadlock), insufficient resources (53),
// operator intervention (57: the backend terminated, the server shutting down).
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '40', '53', '57']);

/**
 * Whether `error` is the database failing, not the request: a lost or killed connection, a
 * deadlock, a server shutting down. The same request may succeed when sent again.
 */
export function isTransientDatabaseFailure(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const state = sqlStateOf(error);
  if (state !== undefined) return TRANSIENT_SQLSTATE_CLASSES.has(state.slice(0, 2));
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && UNREACHABLE_PRISMA_CODES.has(code)) return true;
  // node-postgres says so in words: a connection that dropped mid-query, or a pooled one used after it did.
  return typeof message === 'string' && /Connection terminated|connection error and is not queryable|ECONNRESET|ECONNREFUSED|server closed the connection/i.test(message);
}
