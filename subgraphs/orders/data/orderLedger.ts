import { Prisma } from '../../../platform/database/generated/client.ts';
import { oneStatement } from '../../../platform/database/oneStatement.ts';
import { recordset } from '../../../platform/database/recordset.ts';
import { outboxInsert, type OutboxRecord } from '../../../platform/events/outbox.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { Change, Order, OrderLine, Transition, TransitionCauseType } from '../domain/order.ts';
import type { OrderStatus } from '../domain/orderStatus.ts';
import type { OrderLineRecord, OrderRecord } from './orderRepository.ts';
import { ORDERS_PRODUCER, statusChangeRecord } from './ordersOutbox.ts';
import { visibleOrderSql } from './orderVisibility.ts';

interface OrderRow extends Omit<Order, 'lines'> {
  readonly lines: OrderLine[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** A CREATED order's first transition, not yet published: it is, once the order leaves CREATED. */
  readonly unpublished: { version: number; status: OrderStatus; causeType: TransitionCauseType; causeId: string; actor: string; at: string } | null;
}

/** An order as the API shows it, and its lines. */
export interface OrderSnapshot {
  readonly order: OrderRecord;
  readonly lines: readonly OrderLineRecord[];
}

/** What a mutation answers: the order as it now is, or its id when it is not at hand (to be read). */
export type OrderAnswer = OrderSnapshot | string;

/**
 * Orders locked for the caller's transaction, with their lines: open() locks them (in id order, so
 * that concurrent callers cannot deadlock) and reads them; the rules' changes are then applied in
 * memory, where the next change reads what the last one left; write() stores the orders, their
 * lines and transitions, and one `orders.order.statusChanged` outbox record per transition, in one
 * statement. An order's transitions are published once it has left CREATED (its placement
 * succeeded or it was cancelled): a placement that fails leaves nothing a subscriber saw.
 */
export class OrderLedger {
  private readonly changed = new Map<string, Order>();
  private readonly transitions: { readonly order: Order; readonly transition: Transition }[] = [];

  private constructor(
    private readonly tx: Prisma.TransactionClient,
    private readonly byId: Map<string, Order>,
    /** Each order's lines as stored: write() inserts the lines that are new and updates the ones that changed, no others. */
    private readonly storedLinesById: Map<string, readonly OrderLine[]>,
    private readonly unpublishedById: Map<string, Transition>,
    /** When each order was created and last written. */
    private readonly timesById: Map<string, { readonly createdAt: Date; updatedAt: Date }>,
  ) {}

  /**
   * Locks the orders with these ids or references (those that exist, and that a caller granted
   * `grant` may see: a mutation on its behalf opens none of the others, which are then not found;
   * every order when omitted, for the service's own work).
   */
  static async open(
    tx: Prisma.TransactionClient,
    { ids = [], references = [], grant = null }: { ids?: readonly string[]; references?: readonly string[]; grant?: LocationGrant },
  ): Promise<OrderLedger> {
    const rows = ids.length + references.length === 0 ? [] : await tx.$queryRaw<OrderRow[]>`
      SELECT o.id, o.reference, o.channel, o.status::text AS status, o.version, o.release_requested AS "releaseRequested",
             o.cancel_reason AS "cancelReason", o.return_reason AS "returnReason", o.created_at AS "createdAt", o.updated_at AS "updatedAt",
             COALESCE((SELECT json_agg(json_build_object(
                         'lineNumber', l.line_number, 'requestedLine', l.requested_line, 'sku', l.sku, 'locationId', l.location_id,
                         'quantity', l.quantity, 'reservationId', l.reservation_id, 'picked', l.picked, 'packed', l.packed,
                         'shipped', l.shipped, 'delivered', l.delivered, 'returnRequested', l.return_requested,
                         'returnReceived', l.return_received, 'restocked', l.restocked, 'scrapped', l.scrapped) ORDER BY l.line_number)
                         FROM order_line l WHERE l.order_id = o.id), '[]') AS lines,
             (SELECT json_build_object('version', t.version, 'status', t.status, 'causeType', t.cause_type, 'causeId', t.cause_id,
                                       'actor', t.actor, 'at', t.at)
                FROM order_transition t WHERE o.status = 'CREATED' AND t.order_id = o.id AND t.version = 1) AS unpublished
        FROM sales_order o
       WHERE (o.id = ANY(${[...ids]}::text[]) OR o.reference = ANY(${[...references]}::text[]))
         AND ${visibleOrderSql(grant, 'o')}
       ORDER BY o.id
         FOR UPDATE OF o`;
    const byId = new Map<string, Order>();
    const unpublished = new Map<string, Transition>();
    const times = new Map<string, { createdAt: Date; updatedAt: Date }>();
    for (const { unpublished: first, createdAt, updatedAt, ...order } of rows) {
      byId.set(order.id, order);
      times.set(order.id, { createdAt, updatedAt });
      if (first) {
        unpublished.set(order.id, {
          version: first.version, status: first.status, previousStatus: null,
          cause: { type: first.causeType, id: first.causeId }, actor: first.actor, at: new Date(first.at),
        });
      }
    }
    return new OrderLedger(tx, byId, new Map([...byId].map(([id, order]) => [id, order.lines])), unpublished, times);
  }

  /** The order as it stands with the changes applied so far; undefined when it was not opened (or does not exist). */
  order(id: string): Order | undefined {
    return this.byId.get(id);
  }

  /** The order with this reference, as it stands; undefined when none was opened. */
  orderByReference(reference: string): Order | undefined {
    for (const order of this.byId.values()) if (order.reference === reference) return order;
    return undefined;
  }

  orders(): Order[] {
    return [...this.byId.values()];
  }

  /**
   * The order as the API shows it, as it stands (after write(), as stored): what a mutation
   * answers with, without reading it again.
   */
  snapshot(id: string): OrderSnapshot | undefined {
    const order = this.byId.get(id);
    if (!order) return undefined;
    const { lines, version: _version, ...fields } = order;
    return { order: { ...fields, ...this.timesById.get(id)! }, lines: lines.map((line) => ({ ...line, orderId: id })) };
  }

  /** Takes a change of an opened order; write() stores it. */
  apply(change: Change): Order {
    const { order } = change;
    if (!this.byId.has(order.id)) throw new TypeError(`OrderLedger: order ${order.id} was not opened`);
    this.byId.set(order.id, order);
    this.changed.set(order.id, order);
    for (const transition of change.transitions) this.transitions.push({ order, transition });
    return order;
  }

  /**
   * Stores what was applied in one statement; `alongside` are the caller's own data-modifying
   * statements (no WITH of their own), run as further parts of it.
   */
  async write(alongside: readonly Prisma.Sql[] = [], now = new Date()): Promise<void> {
    if (this.changed.size === 0 && alongside.length === 0) return;
    const orders = [...this.changed.values()];
    const lines = orders.flatMap((order) => {
      const stored = new Map(this.storedLinesById.get(order.id)!.map((line) => [line.lineNumber, line]));
      return order.lines.map((line) => ({ orderId: order.id, line, stored: stored.get(line.lineNumber) }));
    });
    const added = lines.filter(({ stored }) => stored === undefined);
    const progressed = lines.filter(({ line, stored }) => stored !== undefined && !sameProgress(line, stored));
    await this.tx.$executeRaw(oneStatement([
      updateOrders(orders, now),
      ...(added.length ? [insertLines(added)] : []),
      ...(progressed.length ? [updateLineProgress(progressed)] : []),
      insertTransitions(this.transitions),
      ...alongside,
      outboxInsert(ORDERS_PRODUCER, this.published(), now),
    ]));
    for (const order of orders) {
      this.timesById.get(order.id)!.updatedAt = now;
      this.storedLinesById.set(order.id, order.lines);
    }
    this.changed.clear();
    this.transitions.length = 0;
  }

  /** The status-change records to publish: every transition of an order that is no longer CREATED, its first among them. */
  private published(): OutboxRecord[] {
    const records: OutboxRecord[] = [];
    for (const { order, transition } of this.transitions) {
      if (this.byId.get(order.id)!.status === 'CREATED') continue;
      const first = this.unpublishedById.get(order.id);
      if (first) {
        records.push(statusChangeRecord(order, first));
        this.unpublishedById.delete(order.id);
      }
      records.push(statusChangeRecord(order, transition));
    }
    return records;
  }
}

function updateOrders(orders: readonly Order[], now: Date): Prisma.Sql {
  const values = orders.map((order) => ({
    id: order.id, status: order.status, version: order.version, release_requested: order.releaseRequested,
    cancel_reason: order.cancelReason, return_reason: order.returnReason,
  }));
  return Prisma.sql`
    UPDATE sales_order AS o
       SET status = v.status::"OrderStatus", version = v.version, release_requested = v.release_requested,
           cancel_reason = v.cancel_reason, return_reason = v.return_reason, updated_at = ${now.toISOString()}::timestamptz
      FROM ${recordset(values, 'v', { id: 'text', status: 'text', version: 'int', release_requested: 'boolean', cancel_reason: 'text', return_reason: 'text' })}
     WHERE o.id = v.id`;
}

/** The counts the warehouse and returns move, by column; a line's other fields are set when it is placed. */
function progressValues(line: OrderLine) {
  return {
    picked: line.picked, packed: line.packed, shipped: line.shipped, delivered: line.delivered, return_requested: line.returnRequested,
    return_received: line.returnReceived, restocked: line.restocked, scrapped: line.scrapped,
  };
}

const PROGRESS_TYPES = {
  picked: 'int', packed: 'int', shipped: 'int', delivered: 'int', return_requested: 'int', return_received: 'int', restocked: 'int', scrapped: 'int',
} as const satisfies Record<keyof ReturnType<typeof progressValues>, 'int'>;

function sameProgress(line: OrderLine, stored: OrderLine): boolean {
  const [now, before] = [progressValues(line), progressValues(stored)];
  return (Object.keys(now) as (keyof typeof now)[]).every((column) => now[column] === before[column]);
}

function insertLines(lines: readonly { readonly orderId: string; readonly line: OrderLine }[]): Prisma.Sql {
  const values = lines.map(({ orderId, line }) => ({
    order_id: orderId, line_number: line.lineNumber, requested_line: line.requestedLine, sku: line.sku, location_id: line.locationId,
    quantity: line.quantity, reservation_id: line.reservationId, ...progressValues(line),
  }));
  return Prisma.sql`
    INSERT INTO order_line (order_id, line_number, requested_line, sku, location_id, quantity, reservation_id, picked, packed,
                            shipped, delivered, return_requested, return_received, restocked, scrapped)
    SELECT order_id, line_number, requested_line, sku, location_id, quantity, reservation_id, picked, packed,
           shipped, delivered, return_requested, return_received, restocked, scrapped
      FROM ${recordset(values, 'v', {
        order_id: 'text', line_number: 'int', requested_line: 'int', sku: 'text', location_id: 'text', quantity: 'int', reservation_id: 'text', ...PROGRESS_TYPES,
      })}`;
}

// A plain UPDATE of the lines that moved: an upsert of every line of each order would lock, and
// so rewrite, the ones that did not.
function updateLineProgress(lines: readonly { readonly orderId: string; readonly line: OrderLine }[]): Prisma.Sql {
  const values = lines.map(({ orderId, line }) => ({ order_id: orderId, line_number: line.lineNumber, ...progressValues(line) }));
  return Prisma.sql`
    UPDATE order_line AS l
       SET picked = v.picked, packed = v.packed, shipped = v.shipped, delivered = v.delivered, return_requested = v.return_requested,
           return_received = v.return_received, restocked = v.restocked, scrapped = v.scrapped
      FROM ${recordset(values, 'v', { order_id: 'text', line_number: 'int', ...PROGRESS_TYPES })}
     WHERE l.order_id = v.order_id AND l.line_number = v.line_number`;
}

/** The statement that records transitions, for OrderLedger.write and for orders being placed. */
export function insertTransitions(transitions: readonly { readonly order: Pick<Order, 'id'>; readonly transition: Transition }[]): Prisma.Sql {
  const values = transitions.map(({ order, transition }) => ({
    order_id: order.id, version: transition.version, status: transition.status, previous_status: transition.previousStatus,
    cause_type: transition.cause.type, cause_id: transition.cause.id, actor: transition.actor, at: transition.at.toISOString(),
  }));
  return Prisma.sql`
    INSERT INTO order_transition (order_id, version, status, previous_status, cause_type, cause_id, actor, at)
    SELECT v.order_id, v.version, v.status::"OrderStatus", v.previous_status::"OrderStatus", v.cause_type, v.cause_id, v.actor, v.at
      FROM ${recordset(values, 'v', { order_id: 'text', version: 'int', status: 'text', previous_status: 'text', cause_type: 'text', cause_id: 'text', actor: 'text', at: 'timestamptz' })}`;
}
