import type { HOLD_REFUSAL_CODES, INSPECTION_REFUSAL_CODES } from '../../../platform/contracts/orderStockApi.ts';
import { Prisma, type PrismaClient } from '../../../platform/database/generated/client.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import type { AllocationProgress } from '../domain/orders/orderAllocation.ts';

/** Where an order's hold stands: its stock held, refused (nothing held), or given back (or never held, and now never to be). */
export type OrderHoldStatus = 'HELD' | 'REFUSED' | 'RELEASED';

/** Why nothing was held for an order, as the first answer gave it. */
export interface HoldRefusal {
  readonly code: (typeof HOLD_REFUSAL_CODES)[number];
  readonly message: string;
  readonly lineNumber: number | null;
  readonly details: Readonly<Record<string, unknown>>;
}

/** What an order holds at one location for one of its lines, and how far the warehouse has come with it. */
export interface OrderAllocationRecord extends AllocationProgress {
  readonly orderId: string;
  readonly lineNumber: number;
  readonly locationId: string;
  readonly sku: string;
  /** The nettable subinventory whose position carries the allocated quantity (lot ''). */
  readonly subinventory: string;
  readonly reservationId: string | null;
}

export interface OrderHoldRecord {
  readonly orderId: string;
  /** '' for a release that arrived before any hold. */
  readonly reference: string;
  readonly channel: string;
  readonly status: OrderHoldStatus;
  /** The fingerprint of the hold request; '' for a release that arrived before any hold. */
  readonly requestHash: string;
  /** Set when REFUSED, and kept when a REFUSED hold is released. */
  readonly refusal: HoldRefusal | null;
  /** In line then location order; none unless it was HELD. */
  readonly allocations: readonly OrderAllocationRecord[];
}

/** A return inspection answered: applied (refusal null) or refused. */
export interface InspectionAnswerRecord {
  readonly inspectionId: string;
  readonly orderId: string;
  readonly refusal: InspectionRefusal | null;
}

export interface InspectionRefusal {
  readonly code: (typeof INSPECTION_REFUSAL_CODES)[number];
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Increments of an allocation's progress: what the warehouse picked and shipped of it, what a release gave back. */
export interface AllocationProgressChange {
  readonly orderId: string;
  readonly lineNumber: number;
  readonly locationId: string;
  readonly picked: number;
  readonly shipped: number;
  readonly released: number;
}

type Queryable = Prisma.TransactionClient | PrismaClient;

// One statement per call: each hold's allocations come packed as JSON.
const selectHolds = (orderIds: readonly string[], suffix: Prisma.Sql) => Prisma.sql`
  SELECT h.order_id AS "orderId", h.reference, h.channel, h.status::text AS status, h.request_hash AS "requestHash", h.refusal,
         COALESCE((SELECT json_agg(json_build_object(
                            'orderId', a.order_id, 'lineNumber', a.line_number, 'locationId', a.location_id, 'sku', a.sku,
                            'subinventory', a.subinventory, 'quantity', a.quantity, 'picked', a.picked, 'shipped', a.shipped,
                            'released', a.released, 'reservationId', a.reservation_id)
                          ORDER BY a.line_number, a.location_id)
                     FROM order_allocation a WHERE a.order_id = h.order_id), '[]') AS allocations
    FROM order_stock_hold h
   WHERE h.order_id = ANY(${[...new Set(orderIds)]}::text[])
  ${suffix}`;

export function holdsByOrderId(db: Queryable, orderIds: readonly string[]): Promise<OrderHoldRecord[]> {
  return db.$queryRaw<OrderHoldRecord[]>(selectHolds(orderIds, Prisma.empty));
}

/** The holds among `orderIds` that exist, locked until the transaction ends, in order id order (the lock order). */
export function lockHolds(tx: Prisma.TransactionClient, orderIds: readonly string[]): Promise<OrderHoldRecord[]> {
  return tx.$queryRaw<OrderHoldRecord[]>(selectHolds(orderIds, Prisma.sql`ORDER BY h.order_id FOR UPDATE OF h`));
}

/**
 * The statements that insert `holds` and their allocations, to run as parts of one statement
 * (StockLedger.write's `alongside`). Inserted in order id order, so that two transactions that
 * insert some of the same order ids wait for each other instead of deadlocking: the later one
 * then fails on the primary key, and is run again.
 */
export function holdInserts(holds: readonly OrderHoldRecord[], now: Date): Prisma.Sql[] {
  const sorted = [...holds].sort((a, b) => (a.orderId < b.orderId ? -1 : 1));
  const allocations = sorted.flatMap((hold) => hold.allocations);
  const statements = [Prisma.sql`
    INSERT INTO order_stock_hold (order_id, reference, channel, status, request_hash, refusal, created_at, updated_at)
    SELECT v.order_id, v.reference, v.channel, v.status::"OrderHoldStatus", v.request_hash, v.refusal, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
      FROM ${recordset(sorted.map((hold) => ({
        order_id: hold.orderId, reference: hold.reference, channel: hold.channel, status: hold.status, request_hash: hold.requestHash, refusal: hold.refusal,
      })), 'v', { order_id: 'text', reference: 'text', channel: 'text', status: 'text', request_hash: 'text', refusal: 'jsonb' })}
     ORDER BY v.order_id`];
  if (allocations.length) {
    statements.push(Prisma.sql`
      INSERT INTO order_allocation (order_id, line_number, location_id, sku, subinventory, quantity, reservation_id)
      SELECT * FROM ${recordset(allocations.map((a) => ({
        order_id: a.orderId, line_number: a.lineNumber, location_id: a.locationId, sku: a.sku, subinventory: a.subinventory, quantity: a.quantity, reservation_id: a.reservationId,
      })), 'v', { order_id: 'text', line_number: 'int', location_id: 'text', sku: 'text', subinventory: 'text', quantity: 'int', reservation_id: 'text' })}`);
  }
  return statements;
}

/** The statement that stores each hold's status (see holdInserts). */
export function holdStatusUpdates(holds: readonly Pick<OrderHoldRecord, 'orderId' | 'status'>[], now: Date): Prisma.Sql {
  return Prisma.sql`
    UPDATE order_stock_hold AS h SET status = v.status::"OrderHoldStatus", updated_at = ${now.toISOString()}::timestamptz
      FROM ${recordset(holds.map((hold) => ({ order_id: hold.orderId, status: hold.status })), 'v', { order_id: 'text', status: 'text' })}
     WHERE h.order_id = v.order_id`;
}

/**
 * The statement that adds to allocations' picked, shipped and released (see holdInserts). One
 * change per allocation: an allocation named twice would be updated once.
 */
export function allocationProgressUpdates(changes: readonly AllocationProgressChange[]): Prisma.Sql {
  return Prisma.sql`
    UPDATE order_allocation AS a
       SET picked = a.picked + v.picked, shipped = a.shipped + v.shipped, released = a.released + v.released
      FROM ${recordset(changes.map((c) => ({
        order_id: c.orderId, line_number: c.lineNumber, location_id: c.locationId, picked: c.picked, shipped: c.shipped, released: c.released,
      })), 'v', { order_id: 'text', line_number: 'int', location_id: 'text', picked: 'int', shipped: 'int', released: 'int' })}
     WHERE a.order_id = v.order_id AND a.line_number = v.line_number AND a.location_id = v.location_id`;
}

/**
 * The allocations of HELD holds that warehouse movements name (each reference x SKU x location
 * once): by the order's reference, the SKU and the location, in order id then line order. Read under the stock levels' locks: allocations
 * and hold statuses change only under the locks of the levels they are at, so none changes unseen.
 */
export function heldAllocationsFor(
  tx: Prisma.TransactionClient,
  movements: readonly { readonly reference: string; readonly sku: string; readonly locationId: string }[],
): Promise<(OrderAllocationRecord & { readonly reference: string })[]> {
  return tx.$queryRaw<(OrderAllocationRecord & { reference: string })[]>`
    SELECT h.reference, a.order_id AS "orderId", a.line_number AS "lineNumber", a.location_id AS "locationId", a.sku,
           a.subinventory, a.quantity, a.picked, a.shipped, a.released, a.reservation_id AS "reservationId"
      FROM ${recordset(movements.map((m) => ({ reference: m.reference, sku: m.sku, location_id: m.locationId })), 'm', { reference: 'text', sku: 'text', location_id: 'text' })}
      JOIN order_stock_hold h ON h.reference = m.reference AND h.status = 'HELD'
      JOIN order_allocation a ON a.order_id = h.order_id AND a.sku = m.sku AND a.location_id = m.location_id
     ORDER BY a.order_id, a.line_number`;
}

export function inspectionAnswers(db: Queryable, inspectionIds: readonly string[]): Promise<InspectionAnswerRecord[]> {
  return db.$queryRaw<InspectionAnswerRecord[]>`
    SELECT inspection_id AS "inspectionId", order_id AS "orderId", refusal
      FROM order_return_inspection WHERE inspection_id = ANY(${[...new Set(inspectionIds)]}::text[])`;
}

/** The statement that records inspection answers, in inspection id order (see holdInserts for why). */
export function inspectionInserts(answers: readonly InspectionAnswerRecord[], now: Date): Prisma.Sql {
  const sorted = [...answers].sort((a, b) => (a.inspectionId < b.inspectionId ? -1 : 1));
  return Prisma.sql`
    INSERT INTO order_return_inspection (inspection_id, order_id, refusal, answered_at)
    SELECT v.inspection_id, v.order_id, v.refusal, ${now.toISOString()}::timestamptz
      FROM ${recordset(sorted.map((a) => ({ inspection_id: a.inspectionId, order_id: a.orderId, refusal: a.refusal })), 'v', {
        inspection_id: 'text', order_id: 'text', refusal: 'jsonb',
      })}
     ORDER BY v.inspection_id`;
}
