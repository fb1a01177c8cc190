/** Every status an order can be in; see OrderStatus in schema.graphql for the transitions. */
export const ORDER_STATUSES = [
  'CREATED', 'RESERVED', 'RELEASED', 'PICKING', 'PACKED', 'SHIPPED', 'DELIVERED',
  'CANCELLED', 'RETURN_REQUESTED', 'RETURN_RECEIVED', 'RESTOCKED', 'SCRAPPED',
] as const;

export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** Statuses in which an order still holds or awaits stock. */
export const OPEN_ORDER_STATUSES: readonly OrderStatus[] = ['CREATED', 'RESERVED', 'RELEASED', 'PICKING', 'PACKED'];

export function isOpen(status: OrderStatus): boolean {
  return OPEN_ORDER_STATUSES.includes(status);
}
