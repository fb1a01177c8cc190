import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import type { Order, Transition } from '../domain/order.ts';
import type { RequestedLine } from '../domain/placeOrderRequest.ts';
import { insertTransitions } from './orderLedger.ts';

/** An order's placement as it was first asked for. */
export interface PlacementRecord {
  readonly id: string;
  readonly reference: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
}

/** The orders placed under these idempotency keys or with these references. */
export async function placementsByKeyOrReference(
  tx: Prisma.TransactionClient,
  keys: readonly string[],
  references: readonly string[],
): Promise<PlacementRecord[]> {
  return tx.$queryRaw<PlacementRecord[]>`
    SELECT id, reference, idempotency_key AS "idempotencyKey", request_hash AS "requestHash"
      FROM sales_order WHERE idempotency_key = ANY(${[...keys]}::text[]) OR reference = ANY(${[...references]}::text[])`;
}

export interface NewOrder {
  readonly order: Order;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly requestedLines: readonly RequestedLine[];
  readonly created: Transition;
}

/** The statements that record new orders (CREATED, no lines yet) and their first transition, as parts of one statement. */
export function newOrderInserts(orders: readonly NewOrder[]): Prisma.Sql[] {
  const values = orders.map(({ order, idempotencyKey, requestHash, requestedLines, created }) => ({
    id: order.id, reference: order.reference, channel: order.channel, idempotency_key: idempotencyKey, request_hash: requestHash,
    requested_lines: requestedLines, version: order.version, created_at: created.at.toISOString(),
  }));
  return [
    Prisma.sql`
      INSERT INTO sales_order (id, reference, channel, status, idempotency_key, request_hash, requested_lines, version, created_at, updated_at)
      SELECT v.id, v.reference, v.channel, 'CREATED', v.idempotency_key, v.request_hash, v.requested_lines, v.version, v.created_at, v.created_at
        FROM ${recordset(values, 'v', {
          id: 'text', reference: 'text', channel: 'text', idempotency_key: 'text', request_hash: 'text', requested_lines: 'jsonb', version: 'int', created_at: 'timestamptz',
        })}`,
    insertTransitions(orders.map(({ order, created }) => ({ order, transition: created }))),
  ];
}

/** Removes orders whose stock could not be held, with all they had; only those still CREATED (a cancelled one stays). */
export function unplacedOrderDeletes(ids: readonly string[]): Prisma.Sql {
  return Prisma.sql`DELETE FROM sales_order WHERE id = ANY(${[...ids]}::text[]) AND status = 'CREATED'`;
}
