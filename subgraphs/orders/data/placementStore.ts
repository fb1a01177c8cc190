import { Prisma } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import type { Order, Refusal, Transition } from '../domain/order.ts';
import type { RequestedLine } from '../domain/placeOrderRequest.ts';
import { insertTransitions } from './orderLedger.ts';

/** An order's placement as it was first asked for. */
export interface PlacementRecord {
  readonly id: string;
  readonly reference: string;
  readonly idempotencyKey: string;
  readonly requestHash: string;
}

/**
 * The orders placed under these idempotency keys or with these references, and the refused
 * placements under these keys: in one read, since every placement batch asks for both.
 */
export async function earlierPlacements(
  tx: Prisma.TransactionClient,
  keys: readonly string[],
  references: readonly string[],
): Promise<{ placed: PlacementRecord[]; refused: RefusedPlacement[] }> {
  const rows = await tx.$queryRaw<(PlacementRecord & { refusal: Omit<Refusal, 'ok'> | null })[]>`
    SELECT id, reference, idempotency_key AS "idempotencyKey", request_hash AS "requestHash", NULL::jsonb AS refusal
      FROM sales_order WHERE idempotency_key = ANY(${[...keys]}::text[]) OR reference = ANY(${[...references]}::text[])
    UNION ALL
    SELECT order_id, reference, idempotency_key, request_hash, jsonb_build_object('code', code, 'message', message, 'details', details)
      FROM order_placement_refusal WHERE idempotency_key = ANY(${[...keys]}::text[])`;
  return {
    placed: rows.filter((row) => row.refusal === null).map(({ refusal: _none, ...placement }) => placement),
    refused: rows.flatMap(({ refusal, id, idempotencyKey, requestHash }) => (refusal ? [{ idempotencyKey, requestHash, orderId: id, refusal: { ok: false as const, ...refusal } }] : [])),
  };
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

/** A placement inventory refused: what its retries are answered with. */
export interface RefusedPlacement {
  readonly idempotencyKey: string;
  readonly requestHash: string;
  readonly orderId: string;
  readonly refusal: Refusal;
}

/** The refused placements of these order ids. */
export async function refusedPlacementsOf(db: Prisma.TransactionClient, orderIds: readonly string[]): Promise<RefusedPlacement[]> {
  const rows = await db.$queryRaw<{ idempotencyKey: string; requestHash: string; orderId: string; code: Refusal['code']; message: string; details: Record<string, unknown> }[]>`
    SELECT idempotency_key AS "idempotencyKey", request_hash AS "requestHash", order_id AS "orderId", code, message, details
      FROM order_placement_refusal WHERE order_id = ANY(${[...orderIds]}::text[])`;
  return rows.map(({ code, message, details, ...placement }) => ({ ...placement, refusal: { ok: false, code, message, details } }));
}

/**
 * The statements that remove orders whose stock could not be held, with all they had, and keep
 * each one's refusal (when it has one a caller can act on) under its idempotency key; only orders
 * still CREATED (a cancelled one stays).
 */
export function unplacedOrderDeletes(unplaced: readonly { readonly orderId: string; readonly refusal: Refusal | null }[]): Prisma.Sql[] {
  const values = unplaced.flatMap(({ orderId, refusal }) => (refusal ? [{ order_id: orderId, code: refusal.code, message: refusal.message, details: refusal.details }] : []));
  const ids = unplaced.map(({ orderId }) => orderId);
  return [
    // Every part of the statement reads the orders as they were before it: this one still finds those the next deletes.
    Prisma.sql`
      INSERT INTO order_placement_refusal (idempotency_key, request_hash, order_id, reference, code, message, details)
      SELECT o.idempotency_key, o.request_hash, o.id, o.reference, v.code, v.message, v.details
        FROM ${recordset(values, 'v', { order_id: 'text', code: 'text', message: 'text', details: 'jsonb' })}
        JOIN sales_order o ON o.id = v.order_id AND o.status = 'CREATED'`,
    Prisma.sql`DELETE FROM sales_order WHERE id = ANY(${ids}::text[]) AND status = 'CREATED'`,
  ];
}
