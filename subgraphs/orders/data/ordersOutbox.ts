import { orderStatusChanged } from '../../../platform/contracts/events.ts';
import { outboxRecord, type OutboxRecord } from '../../../platform/events/outbox.ts';
import type { Order, Transition } from '../domain/order.ts';

/** The producer name of the orders service's outbox records; its relay publishes them. */
export const ORDERS_PRODUCER = 'orders';

/** The `orders.order.statusChanged` outbox record of one transition of `order` (as the transition left it). */
export function statusChangeRecord(order: Pick<Order, 'id' | 'reference' | 'channel' | 'lines'>, transition: Transition): OutboxRecord {
  return outboxRecord(orderStatusChanged, {
    orderId: order.id,
    reference: order.reference,
    channel: order.channel,
    status: transition.status,
    previousStatus: transition.previousStatus,
    version: transition.version,
    cause: transition.cause,
    actor: transition.actor,
    at: transition.at.toISOString(),
    // What the gateway's subscriptions need to deliver the change to partners of those locations only.
    locationIds: [...new Set(order.lines.map((line) => line.locationId))].sort(),
  });
}
