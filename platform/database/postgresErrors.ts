/**
 * PostgreSQL's SQLSTATE of `error`, as Prisma reports it from a statement through a driver
 * adapter (`@prisma/adapter-pg`, `pglite-prisma-adapter`); undefined when it carries none (a
 * lost connection, a pool timeout).
 */
export function sqlStateOf(error: unknown): string | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const code = (error as { meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } }).meta?.driverAdapterError?.cause?.originalCode;
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
