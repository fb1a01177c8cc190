import { Prisma, type PrismaClient } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';

export type StockCommandKind = 'HOLD' | 'RELEASE' | 'INSPECT';

/** A request to inventory about an order's stock, as it waits in order_stock_command. */
export interface StockCommand<Payload = unknown> {
  readonly id: string;
  readonly orderId: string;
  readonly kind: StockCommandKind;
  readonly payload: Payload;
  readonly attempts: number;
}

/** The statement that records `commands`, owned by their writer for `leaseMs` (StockLedger-style `alongside`). */
export function commandInserts(commands: readonly Omit<StockCommand, 'attempts'>[], leaseMs: number): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO order_stock_command (id, order_id, kind, payload, lease_until)
    SELECT v.id, v.order_id, v.kind::"OrderStockCommandKind", v.payload, now() + ${leaseMs} * interval '1 millisecond'
      FROM ${recordset(commands.map((c) => ({ id: c.id, order_id: c.orderId, kind: c.kind, payload: c.payload })), 'v', { id: 'text', order_id: 'text', kind: 'text', payload: 'jsonb' })}`;
}

/** The statement that deletes answered commands. */
export function commandDeletes(ids: readonly string[]): Prisma.Sql {
  return Prisma.sql`DELETE FROM order_stock_command WHERE id = ANY(${[...ids]}::text[])`;
}

export async function deleteCommands(db: Prisma.TransactionClient | PrismaClient, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await db.$executeRaw(commandDeletes(ids));
}

/**
 * Up to `limit` commands whose owner's lease has run out (a crash, a call that failed), oldest
 * first, now owned by the caller for `leaseMs`; commands another sweeper is claiming are skipped.
 */
export async function claimDueCommands(prisma: PrismaClient, limit: number, leaseMs: number): Promise<StockCommand[]> {
  return prisma.$queryRaw<StockCommand[]>`
    WITH due AS (
      SELECT id FROM order_stock_command WHERE lease_until <= now() ORDER BY lease_until, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
    UPDATE order_stock_command c
       SET lease_until = now() + ${leaseMs} * interval '1 millisecond', attempts = c.attempts + 1
      FROM due WHERE c.id = due.id
    RETURNING c.id, c.order_id AS "orderId", c.kind::text AS kind, c.payload, c.attempts`;
}

/** Records why sending commands failed; each is due again after its own wait. */
export async function rescheduleCommands(prisma: PrismaClient, failures: readonly { id: string; afterMs: number; error: string }[]): Promise<void> {
  if (failures.length === 0) return;
  await prisma.$executeRaw`
    UPDATE order_stock_command c SET lease_until = now() + v.after_ms * interval '1 millisecond', last_error = v.error
      FROM ${recordset(failures.map((f) => ({ id: f.id, after_ms: f.afterMs, error: f.error })), 'v', { id: 'text', after_ms: 'int', error: 'text' })}
     WHERE c.id = v.id`;
}

/** The commands of `kind` waiting for these orders. */
export async function pendingCommands<Payload>(db: Prisma.TransactionClient, kind: StockCommandKind, orderIds: readonly string[]): Promise<StockCommand<Payload>[]> {
  return db.$queryRaw<StockCommand<Payload>[]>`
    SELECT id, order_id AS "orderId", kind::text AS kind, payload, attempts
      FROM order_stock_command WHERE kind = ${kind}::"OrderStockCommandKind" AND order_id = ANY(${[...orderIds]}::text[])
     ORDER BY created_at, id`;
}
