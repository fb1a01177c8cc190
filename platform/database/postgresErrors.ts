/**
 * Whether `error` is PostgreSQL's unique violation (23505), as Prisma reports it from a raw
 * statement through a driver adapter.
 */
export function isUniqueViolation(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, meta } = error as { code?: unknown; meta?: { driverAdapterError?: { cause?: { originalCode?: unknown } } } };
  return code === 'P2002' || meta?.driverAdapterError?.cause?.originalCode === '23505';
}
