import type { OrderErrorCode } from './orderErrorCode.ts';
import type { OrderStatus } from './orderStatus.ts';

/** The part of an order held at one location, with the warehouse's progress on it. */
export interface OrderLine {
  readonly lineNumber: number;
  /** The placeOrder line (1-based) it comes from. */
  readonly requestedLine: number;
  readonly sku: string;
  readonly locationId: string;
  readonly quantity: number;
  readonly reservationId: string | null;
  readonly picked: number;
  readonly packed: number;
  readonly shipped: number;
  readonly delivered: number;
  readonly returnRequested: number;
  readonly returnReceived: number;
  readonly restocked: number;
  readonly scrapped: number;
}

/** An order as its rules see it: what a change may read and returns anew. */
export interface Order {
  readonly id: string;
  readonly reference: string;
  readonly channel: string;
  readonly status: OrderStatus;
  /** The number of its last transition. */
  readonly version: number;
  /** releaseOrder was refused for a hold: release once no hold stands on its lines. */
  readonly releaseRequested: boolean;
  readonly cancelReason: string | null;
  readonly returnReason: string | null;
  readonly lines: readonly OrderLine[];
}

export type TransitionCauseType = 'MUTATION' | 'WAREHOUSE_EVENT' | 'HOLD_CLEARED';

/** Who moved an order, why and when: a mutation by its caller, a warehouse confirmation, a hold clearing. */
export interface ChangeContext {
  readonly cause: { readonly type: TransitionCauseType; readonly id: string };
  readonly actor: string;
  readonly at: Date;
}

/** One move of an order's status. */
export interface Transition extends ChangeContext {
  readonly version: number;
  readonly status: OrderStatus;
  readonly previousStatus: OrderStatus | null;
}

/** What a change did: the order as it is now, and its transitions (none when its status stayed). */
export interface Change {
  readonly ok: true;
  readonly order: Order;
  readonly transitions: readonly Transition[];
}

/** Why the rules refuse a change; nothing changed. */
export interface Refusal {
  readonly ok: false;
  readonly code: OrderErrorCode | 'BAD_USER_INPUT';
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export const refuse = (code: Refusal['code'], message: string, details: Readonly<Record<string, unknown>> = {}): Refusal =>
  ({ ok: false, code, message, details });

/**
 * `order` with its status set to `status`, and the transition that records it; unchanged when it
 * is there already. An order that leaves RESERVED no longer waits to be released.
 */
export function moveTo(order: Order, status: OrderStatus, context: ChangeContext): Change {
  if (order.status === status) return { ok: true, order, transitions: [] };
  const version = order.version + 1;
  return {
    ok: true,
    order: { ...order, status, version, releaseRequested: order.releaseRequested && status === 'RESERVED' },
    transitions: [{ version, status, previousStatus: order.status, ...context }],
  };
}

/** Two changes of one order, one after the other. */
export function andThen(first: Change, next: (order: Order) => Change): Change {
  const second = next(first.order);
  return { ok: true, order: second.order, transitions: [...first.transitions, ...second.transitions] };
}
