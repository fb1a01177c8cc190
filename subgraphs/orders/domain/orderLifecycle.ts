import { OrderErrorCode } from './orderErrorCode.ts';
import { andThen, moveTo, refuse, type Change, type ChangeContext, type Order, type OrderLine, type Refusal } from './order.ts';
import { rankOf } from './orderStatus.ts';
import type { InspectionLine, ReturnRequestLine } from './returnInput.ts';

/** Where inventory holds a requested line's stock: one entry per location. */
export interface HeldAllocation {
  readonly requestedLine: number;
  readonly sku: string;
  readonly locationId: string;
  readonly quantity: number;
  readonly reservationId: string | null;
}

/** A reconciliation hold on releasing orders of a SKU at a location. */
export interface ReleaseHold {
  readonly holdId: string;
  readonly sku: string;
  readonly locationId: string;
  readonly reason: string;
}

/** A release refused for holds: the order to store, which remembers that its release waits for them. */
export interface HeldRelease extends Refusal {
  readonly waiting: Order;
}

/**
 * A CREATED order whose stock inventory now holds: its lines (one per requested line and
 * location, in that order) and RESERVED.
 */
export function reserve(order: Order, allocations: readonly HeldAllocation[], context: ChangeContext): Change | Refusal {
  if (order.status !== 'CREATED') return invalidStatus(order, 'take its stock');
  const lines = [...allocations]
    .sort((a, b) => a.requestedLine - b.requestedLine || (a.locationId < b.locationId ? -1 : a.locationId > b.locationId ? 1 : 0))
    .map((allocation, index): OrderLine => ({ ...emptyProgress, ...allocation, lineNumber: index + 1 }));
  return moveTo({ ...order, lines }, 'RESERVED', context);
}

/**
 * Hands a RESERVED order to its warehouse. Refused while a hold stands on one of its lines (the
 * refusal carries the order to store, remembering the request); an order already RELEASED or
 * further along is returned unchanged.
 */
export function release(order: Order, holds: readonly ReleaseHold[], context: ChangeContext): Change | Refusal | HeldRelease {
  switch (order.status) {
    case 'RESERVED': {
      const blocking = holdsOn(order, holds);
      if (blocking.length > 0) {
        const where = blocking.map((hold) => `${hold.sku} at ${hold.locationId}`).join(', ');
        return {
          ...refuse(OrderErrorCode.RECONCILIATION_HOLD, `Order ${order.id} waits for reconciliation holds on ${where}; it is released once they clear`, { holds: blocking }),
          waiting: { ...order, releaseRequested: true },
        };
      }
      return moveTo(order, 'RELEASED', context);
    }
    case 'RELEASED':
    case 'PICKING':
    case 'PACKED':
    case 'SHIPPED':
    case 'DELIVERED':
      return { ok: true, order, transitions: [] };
    case 'CREATED':
    case 'CANCELLED':
    case 'RETURN_REQUESTED':
    case 'RETURN_RECEIVED':
    case 'RESTOCKED':
    case 'SCRAPPED':
      return invalidStatus(order, 'be released');
  }
}

/**
 * An order whose release waited for holds, once `holds` (those that still stand) no longer block
 * it: RELEASED. Null when it is not waiting or still blocked. An order that moved on meanwhile
 * (cancelled, or picked by the warehouse) stops waiting, its status untouched.
 */
export function releaseWhenHoldsClear(order: Order, holds: readonly ReleaseHold[], context: ChangeContext): Change | null {
  if (!order.releaseRequested) return null;
  if (order.status !== 'RESERVED') return { ok: true, order: { ...order, releaseRequested: false }, transitions: [] };
  if (holdsOn(order, holds).length > 0) return null;
  return moveTo(order, 'RELEASED', context);
}

/** Cancels an order none of which has shipped; a CANCELLED one is returned unchanged. */
export function cancel(order: Order, reason: string, context: ChangeContext): Change | Refusal {
  if (reason.trim() === '') return refuse('BAD_USER_INPUT', 'reason must not be blank', { problems: [{ field: 'reason', message: 'must not be blank' }] });
  if (order.status === 'CANCELLED') return { ok: true, order, transitions: [] };
  const shipped = order.lines.reduce((sum, line) => sum + line.shipped + line.delivered, 0);
  if (shipped > 0 || rankOf(order.status) >= rankOf('SHIPPED')) {
    return refuse(OrderErrorCode.ORDER_ALREADY_SHIPPED, `Order ${order.id} has shipped (${order.status}); it can no longer be cancelled`, { status: order.status });
  }
  return moveTo({ ...order, cancelReason: reason }, 'CANCELLED', context);
}

/** Opens a return of shipped units of a SHIPPED or DELIVERED order, every problem reported at once. */
export function requestReturn(order: Order, lines: readonly ReturnRequestLine[], reason: string, context: ChangeContext): Change | Refusal {
  if (order.status !== 'SHIPPED' && order.status !== 'DELIVERED') return invalidStatus(order, 'take a return request');
  const problems = lineProblems(order, lines, (line, asked) => {
    // A delivery the warehouse confirmed without a shipment counts as shipped.
    const returnable = Math.max(line.shipped, line.delivered) - line.returnRequested;
    return asked.quantity > returnable ? `quantity ${asked.quantity} is more than the ${returnable} shipped and not yet asked to return` : null;
  });
  if (problems.length > 0) return refuse(OrderErrorCode.INVALID_RETURN, `The return cannot be requested: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { problems });
  const asked = new Map(lines.map((line) => [line.lineNumber, line.quantity]));
  const returning = {
    ...order,
    returnReason: reason,
    lines: order.lines.map((line) => ({ ...line, returnRequested: line.returnRequested + (asked.get(line.lineNumber) ?? 0) })),
  };
  return moveTo(returning, 'RETURN_REQUESTED', context);
}

/**
 * Why an inspection cannot be recorded (null when it can): the order must be RETURN_RECEIVED,
 * and each line may inspect at most the units received and not yet inspected, less those an
 * inspection still under way takes (`pending`, by line number).
 */
export function inspectionRefusal(order: Order, lines: readonly InspectionLine[], pending: ReadonlyMap<number, number>): Refusal | null {
  if (order.status !== 'RETURN_RECEIVED') return invalidStatus(order, 'record an inspection');
  const problems = lineProblems(order, lines, (line, inspected) => {
    const units = inspected.restocked + inspected.scrapped;
    const open = line.returnReceived - line.restocked - line.scrapped - (pending.get(line.lineNumber) ?? 0);
    return units > open ? `inspects ${units} units, more than the ${Math.max(open, 0)} received and not yet inspected` : null;
  });
  if (problems.length === 0) return null;
  return refuse(OrderErrorCode.INVALID_RETURN, `The inspection cannot be recorded: ${problems.map((p) => `${p.field} ${p.message}`).join('; ')}`, { problems });
}

/** Records an inspection (checked by inspectionRefusal, and done in inventory), and settles the return when nothing is left to inspect. */
export function inspect(order: Order, lines: readonly InspectionLine[], context: ChangeContext): Change {
  const byLine = new Map(lines.map((line) => [line.lineNumber, line]));
  const inspected = {
    ...order,
    lines: order.lines.map((line) => {
      const done = byLine.get(line.lineNumber);
      return done ? { ...line, restocked: line.restocked + done.restocked, scrapped: line.scrapped + done.scrapped } : line;
    }),
  };
  return settleReturn(inspected, context);
}

/**
 * A return whose every unit asked back (or received, when more came) has been inspected ends:
 * RESTOCKED, or SCRAPPED when none was restocked. Otherwise the order is returned as it is.
 */
export function settleReturn(order: Order, context: ChangeContext): Change {
  const unchanged: Change = { ok: true, order, transitions: [] };
  if (order.status !== 'RETURN_REQUESTED' && order.status !== 'RETURN_RECEIVED') return unchanged;
  const inspected = order.lines.reduce((sum, line) => sum + line.restocked + line.scrapped, 0);
  const done = order.lines.every((line) => line.restocked + line.scrapped >= Math.max(line.returnRequested, line.returnReceived));
  if (inspected === 0 || !done) return unchanged;
  const restocked = order.lines.some((line) => line.restocked > 0);
  const received = order.status === 'RETURN_REQUESTED' ? moveTo(order, 'RETURN_RECEIVED', context) : unchanged;
  return andThen(received, (current) => moveTo(current, restocked ? 'RESTOCKED' : 'SCRAPPED', context));
}

/** The holds that stand on one of the order's lines (its SKU at its location). */
function holdsOn(order: Order, holds: readonly ReleaseHold[]): ReleaseHold[] {
  return holds.filter((hold) => order.lines.some((line) => line.sku === hold.sku && line.locationId === hold.locationId));
}

/** Problems of lines that name order lines (shaped as validateReturnRequest and validateInspection check): unknown line numbers, and what `check` finds. */
function lineProblems<Asked extends { readonly lineNumber: number }>(
  order: Order,
  lines: readonly Asked[],
  check: (line: OrderLine, asked: Asked) => string | null,
): { field: string; message: string }[] {
  return lines.flatMap((asked, index) => {
    const field = `lines[${index}]`;
    const line = order.lines.find((candidate) => candidate.lineNumber === asked.lineNumber);
    if (!line) return [{ field: `${field}.lineNumber`, message: `order ${order.id} has no line ${asked.lineNumber}` }];
    const problem = check(line, asked);
    return problem ? [{ field, message: problem }] : [];
  });
}

function invalidStatus(order: Order, what: string): Refusal {
  const state = order.status === 'CREATED' ? 'is still being placed (CREATED)' : `is ${order.status}`;
  return refuse(OrderErrorCode.INVALID_ORDER_STATUS, `Order ${order.id} ${state}: it cannot ${what}`, { status: order.status });
}


const emptyProgress = {
  picked: 0, packed: 0, shipped: 0, delivered: 0, returnRequested: 0, returnReceived: 0, restocked: 0, scrapped: 0,
} as const;
