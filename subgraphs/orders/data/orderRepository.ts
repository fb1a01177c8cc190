import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Order, OrderLine } from '../../../platform/database/generated/client.ts';
import { newestFirstAfter, type NewestFirstPosition } from '../../../platform/graphql/pagination.ts';
import { OPEN_ORDER_STATUSES, type OrderStatus } from '../domain/orderStatus.ts';

export type { Order, OrderLine };

/** An open order of a SKU, tagged with the SKU that led to it. */
export interface OrderOfSku {
  readonly sku: string;
  readonly order: Order;
}

/** Read access to the orders tables. Every method is one SQL statement, whatever its input size. */
export class OrderRepository {
  constructor(private readonly prisma: PrismaClient) {}

  ordersById(ids: readonly string[]): Promise<Order[]> {
    return this.prisma.order.findMany({ where: { id: { in: [...ids] } } });
  }

  linesByOrderId(orderIds: readonly string[]): Promise<OrderLine[]> {
    return this.prisma.orderLine.findMany({
      where: { orderId: { in: [...orderIds] } },
      orderBy: [{ orderId: 'asc' }, { lineNumber: 'asc' }],
    });
  }

  async openOrdersBySku(skus: readonly string[]): Promise<OrderOfSku[]> {
    const rows = await this.prisma.$queryRaw<(Order & { sku: string })[]>`
      SELECT DISTINCT line.sku, o.id, o.reference, o.channel, o.status::text AS status,
             o.created_at AS "createdAt", o.updated_at AS "updatedAt"
        FROM order_line line
        JOIN sales_order o ON o.id = line.order_id
       WHERE line.sku = ANY(${[...skus]}::text[])
         AND o.status::text = ANY(${[...OPEN_ORDER_STATUSES]}::text[])
       ORDER BY line.sku, "createdAt", o.id`;
    return rows.map(({ sku, ...order }) => ({ sku, order }));
  }

  /** Up to `take` orders after `after`, newest first; only those in `statuses` when given. */
  orderPage(statuses: readonly OrderStatus[] | null, take: number, after: NewestFirstPosition | undefined): Promise<Order[]> {
    return this.prisma.order.findMany({
      where: { ...(statuses ? { status: { in: [...statuses] } } : {}), ...newestFirstAfter('createdAt', after) },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }
}
