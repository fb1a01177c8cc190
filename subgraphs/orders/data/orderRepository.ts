import { orderStatusChanged, type PayloadOf } from '../../../platform/contracts/events.ts';
import { fewKeys, type Database, type PrismaClient } from '../../../platform/database/database.ts';
import { Prisma, type Order, type OrderLine, type OrderTransition, type WarehouseConfirmation } from '../../../platform/database/generated/client.ts';
import { UserInputError } from '../../../platform/graphql/errors.ts';
import { newestFirstAfter, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { OPEN_ORDER_STATUSES, type OrderStatus } from '../domain/orderStatus.ts';
import { ORDERS_PRODUCER } from './ordersOutbox.ts';
import { atGrantedLocationSql, visibleOrderSql, visibleOrders } from './orderVisibility.ts';

export type { Order, OrderLine, OrderTransition, WarehouseConfirmation };

/** What the API shows of an order: every field but how it was placed. */
export type OrderRecord = Pick<Order, 'id' | 'reference' | 'channel' | 'status' | 'releaseRequested' | 'cancelReason' | 'returnReason' | 'createdAt' | 'updatedAt'>;
export type OrderLineRecord = OrderLine;

/** An open order of a SKU, tagged with the SKU that led to it. */
export interface OrderOfSku {
  readonly sku: string;
  readonly order: Order;
}

/** Units of a SKU still to ship from a location on open orders. */
export interface LocationDemand {
  readonly sku: string;
  readonly locationId: string;
  readonly units: number;
  readonly orders: number;
}

/** See OrderFilter in schema.graphql. */
export interface OrderFilter {
  readonly status?: readonly OrderStatus[] | null;
  readonly channel?: string | null;
  readonly sku?: string | null;
  readonly locationId?: string | null;
  readonly createdAfter?: Date | null;
}

/** A recorded status change: its `orders.order.statusChanged` payload, and its outbox id. */
export type StatusChangeRecord = PayloadOf<typeof orderStatusChanged> & { readonly id: string };

/**
 * Read access to the orders tables. Every method is one SQL statement, whatever its input size.
 * Those that read orders or what is recorded per location take the caller's grant: a caller
 * granted some locations reads only what orderVisibility.ts lets it see. Lines and transitions
 * are read by order id, for orders read that way first.
 */
export class OrderRepository {
  private readonly prisma: PrismaClient;

  constructor(private readonly db: Database) {
    this.prisma = db.prisma;
  }

  ordersById(ids: readonly string[], grant: LocationGrant): Promise<Order[]> {
    return this.prisma.order.findMany({ where: { id: { in: [...ids] }, ...visibleOrders(grant) } });
  }

  ordersByReference(references: readonly string[], grant: LocationGrant): Promise<Order[]> {
    return this.prisma.order.findMany({ where: { reference: { in: [...references] }, ...visibleOrders(grant) } });
  }

  linesByOrderId(orderIds: readonly string[]): Promise<OrderLine[]> {
    return this.prisma.orderLine.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ orderId: 'asc' }, { lineNumber: 'asc' }],
    });
  }

  transitionsByOrderId(orderIds: readonly string[]): Promise<OrderTransition[]> {
    return this.prisma.orderTransition.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ orderId: 'asc' }, { version: 'asc' }],
    });
  }

  // Through the driver, its plan kept for a few SKUs: planning it cost PostgreSQL more than
  // running it, on every item a federated query asks for its open orders.
  async openOrdersBySku(skus: readonly string[], grant: LocationGrant): Promise<OrderOfSku[]> {
    const statement = Prisma.sql`
      SELECT wanted.sku, o.*
        FROM unnest(${[...skus]}::text[]) AS wanted(sku)
        JOIN sales_order o ON EXISTS (SELECT 1 FROM order_line line WHERE line.order_id = o.id AND line.sku = wanted.sku)
       WHERE o.status::text = ANY(${[...OPEN_ORDER_STATUSES]}::text[])
         AND ${visibleOrderSql(grant, 'o')}
       ORDER BY wanted.sku, o.created_at, o.id`;
    const rows = await this.db.query<Record<string, unknown> & { sku: string }>(statement.text, statement.values, fewKeys(skus));
    return rows.map(({ sku, ...order }) => ({ sku, order: fromRow(order) }));
  }

  /** What open orders still have to ship of these SKUs, per location the grant covers, in location id order. */
  openDemandBySku(skus: readonly string[], grant: LocationGrant): Promise<LocationDemand[]> {
    return this.prisma.$queryRaw<LocationDemand[]>`
      SELECT line.sku, line.location_id AS "locationId",
             sum(greatest(line.quantity - greatest(line.shipped, line.delivered), 0))::int AS units,
             count(DISTINCT o.id) FILTER (WHERE line.quantity > greatest(line.shipped, line.delivered))::int AS orders
        FROM order_line line
        JOIN sales_order o ON o.id = line.order_id
       WHERE line.sku = ANY(${[...skus]}::text[])
         AND o.status::text = ANY(${[...OPEN_ORDER_STATUSES]}::text[])
         AND ${atGrantedLocationSql(grant, 'line.location_id')}
       GROUP BY line.sku, line.location_id
      HAVING sum(greatest(line.quantity - greatest(line.shipped, line.delivered), 0)) > 0
       ORDER BY line.sku, line.location_id`;
  }

  /** Up to `take` orders matching `filter` after `after`, newest first. */
  /** How many orders the caller may see are in each status (in the OrderStatus enum's order); statuses with none left out. */
  async statusCounts(grant: LocationGrant): Promise<{ status: OrderStatus; count: number }[]> {
    const groups = await this.prisma.order.groupBy({ by: ['status'], where: visibleOrders(grant), _count: { _all: true }, orderBy: { status: 'asc' } });
    return groups.map((group) => ({ status: group.status, count: group._count._all }));
  }

  orderPage(filter: OrderFilter, take: number, after: NewestFirstPosition | undefined, grant: LocationGrant): Promise<Order[]> {
    const lineFilter: Prisma.OrderLineWhereInput = {
      ...(filter.sku ? { sku: filter.sku } : {}),
      ...(filter.locationId ? { locationId: filter.locationId } : {}),
    };
    return this.prisma.order.findMany({
      where: {
        AND: [
          filter.status ? { status: { in: [...filter.status] } } : {},
          filter.channel ? { channel: filter.channel } : {},
          filter.createdAfter ? { createdAt: { gte: filter.createdAfter } } : {},
          Object.keys(lineFilter).length ? { lines: { some: lineFilter } } : {},
          visibleOrders(grant),
          newestFirstAfter('createdAt', after),
        ],
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** Up to `take` confirmations that were not applied (of one outcome when given) at locations the grant covers, after `after`, newest first. */
  async unappliedConfirmationPage(
    outcome: 'UNMATCHED' | 'INAPPLICABLE' | null,
    take: number,
    after: NewestFirstPosition | undefined,
    grant: LocationGrant,
  ): Promise<(WarehouseConfirmation & { id: string })[]> {
    const position = after ? confirmationPosition(after.id) : null;
    const rows = await this.prisma.$queryRaw<WarehouseConfirmation[]>`
      SELECT source, event_id AS "eventId", type, order_reference AS "orderReference", order_id AS "orderId", sku, location_id AS "locationId",
             quantity, outcome, reason, occurred_at AS "occurredAt", received_at AS "receivedAt"
        FROM warehouse_confirmation
       WHERE outcome = ANY(${outcome ? [outcome] : ['UNMATCHED', 'INAPPLICABLE']}::text[])
         AND ${atGrantedLocationSql(grant, 'location_id')}
         AND (${after?.at.toISOString() ?? null}::timestamptz IS NULL
              OR (received_at, source, event_id) < (${after?.at.toISOString() ?? null}::timestamptz, ${position?.[0] ?? null}::text, ${position?.[1] ?? null}::text))
       ORDER BY received_at DESC, source DESC, event_id DESC
       LIMIT ${take}`;
    return rows.map((row) => ({ ...row, id: JSON.stringify([row.source, row.eventId]) }));
  }

  /** Recorded status changes (their outbox records) by id, in no particular order. */
  async statusChangesById(ids: readonly bigint[]): Promise<StatusChangeRecord[]> {
    const rows = await this.db.queryTuples<[string, PayloadOf<typeof orderStatusChanged>]>(
      'SELECT id::text, payload FROM event_outbox WHERE id = ANY($1::bigint[]) AND producer = $2 AND type = $3',
      [ids.map(String), ORDERS_PRODUCER, orderStatusChanged.type],
    );
    return rows.map(([id, payload]) => ({ ...payload, id }));
  }
}

/** The source and event id a confirmations cursor names (as unappliedConfirmationPage made its id); BAD_USER_INPUT for any other. */
function confirmationPosition(id: string): [string, string] {
  let position: unknown;
  try {
    position = JSON.parse(id);
  } catch {
    position = null;
  }
  if (!Array.isArray(position) || position.length !== 2 || !position.every((part) => typeof part === 'string')) {
    throw new UserInputError('after is not a cursor of unappliedConfirmations');
  }
  return position as [string, string];
}

/** A sales_order row read by plain SQL, as the Prisma client would have read it. */
function fromRow(row: Record<string, unknown>): Order {
  return {
    id: row.id as string,
    reference: row.reference as string,
    channel: row.channel as string,
    status: row.status as OrderStatus,
    idempotencyKey: row.idempotency_key as string,
    requestHash: row.request_hash as string,
    requestedLines: row.requested_lines as Order['requestedLines'],
    version: row.version as number,
    releaseRequested: row.release_requested as boolean,
    cancelReason: row.cancel_reason as string | null,
    returnReason: row.return_reason as string | null,
    createdAt: row.created_at as Date,
    updatedAt: row.updated_at as Date,
  };
}
