import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';

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

/**
 * How far along its life a status is: an order only moves to a status of a higher rank (CANCELLED
 * is reached from open statuses by a mutation alone, and leads nowhere). RESTOCKED and SCRAPPED
 * are both the end of a return.
 */
export function rankOf(status: OrderStatus): number {
  switch (status) {
    case 'CREATED': return 0;
    case 'RESERVED': return 1;
    case 'RELEASED': return 2;
    case 'PICKING': return 3;
    case 'PACKED': return 4;
    case 'SHIPPED': return 5;
    case 'DELIVERED': return 6;
    case 'RETURN_REQUESTED': return 7;
    case 'RETURN_RECEIVED': return 8;
    case 'RESTOCKED':
    case 'SCRAPPED': return 9;
    case 'CANCELLED': return Number.POSITIVE_INFINITY;
    default: throw new UnreachableCaseError(status);
  }
}
