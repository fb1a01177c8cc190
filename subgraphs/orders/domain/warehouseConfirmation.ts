import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';
import { andThen, moveTo, type Change, type ChangeContext, type Order, type OrderLine } from './order.ts';
import { settleReturn } from './orderLifecycle.ts';
import { rankOf, type OrderStatus } from './orderStatus.ts';

export type ConfirmationType = 'PICK' | 'PACK' | 'SHIP' | 'DELIVERY' | 'RETURN_RECEIVED' | 'RETURN_RESTOCKED';

/** A warehouse event about one SKU of an order at one location. */
export interface WarehouseConfirmation {
  readonly type: ConfirmationType;
  readonly sku: string;
  readonly locationId: string;
  readonly quantity: number;
  /** RETURN_RESTOCKED: whether the units went to a nettable subinventory (restocked) or not (scrapped). */
  readonly subinventoryNettable: boolean;
}

export type ConfirmationOutcome =
  | { readonly outcome: 'APPLIED'; readonly change: Change }
  | { readonly outcome: 'INAPPLICABLE'; readonly reason: string };

/** Which progress figure of a line a confirmation adds to. */
type Progress = 'picked' | 'packed' | 'shipped' | 'delivered' | 'returnReceived' | 'restocked' | 'scrapped';

/**
 * What a warehouse confirmation does to its order: it adds its units to the progress of the
 * order's lines of its SKU at its location, and moves the order as far as its lines now show,
 * never back. PICKING at the first pick; PACKED, SHIPPED and DELIVERED once every line is packed,
 * shipped or delivered in full (a line further along counts as done with what came before);
 * RETURN_RECEIVED at the first returned units of a shipped order; RESTOCKED or SCRAPPED once the
 * return's every unit is inspected. Units that arrive out of order are counted all the same.
 * INAPPLICABLE, changing nothing, when the order is being placed or cancelled, has no line for the
 * SKU at the location, has shipped nothing of it that could come back (a return), or has no
 * returned units of it received and not yet inspected (a restock).
 */
export function applyConfirmation(order: Order, confirmation: WarehouseConfirmation, context: ChangeContext): ConfirmationOutcome {
  if (order.status === 'CREATED' || order.status === 'CANCELLED') {
    return { outcome: 'INAPPLICABLE', reason: `order ${order.id} is ${order.status}` };
  }
  const lines = order.lines.filter((line) => line.sku === confirmation.sku && line.locationId === confirmation.locationId);
  if (lines.length === 0) {
    return { outcome: 'INAPPLICABLE', reason: `order ${order.id} has no line for ${confirmation.sku} at ${confirmation.locationId}` };
  }
  const progress = progressOf(confirmation);
  if (progress === 'returnReceived' && lines.every((line) => shippedUnits(line) === 0)) {
    return { outcome: 'INAPPLICABLE', reason: `order ${order.id} has shipped no ${confirmation.sku} from ${confirmation.locationId} that could come back` };
  }
  // A restock reports an inspection: of returned units received and not inspected yet (a second
  // report of units inspectReturn already recorded changes nothing).
  if ((progress === 'restocked' || progress === 'scrapped') && lines.every((line) => room(line, progress) <= 0)) {
    return { outcome: 'INAPPLICABLE', reason: `order ${order.id} has no returned ${confirmation.sku} at ${confirmation.locationId} received and not yet inspected` };
  }
  const added = addUnits(order, lines, progress, confirmation.quantity);
  const moved = isReturn(confirmation.type) ? returnStatus(added, context) : moveForward(added, fulfilmentStatus(added), context);
  return { outcome: 'APPLIED', change: moved };
}

function progressOf(confirmation: WarehouseConfirmation): Progress {
  switch (confirmation.type) {
    case 'PICK': return 'picked';
    case 'PACK': return 'packed';
    case 'SHIP': return 'shipped';
    case 'DELIVERY': return 'delivered';
    case 'RETURN_RECEIVED': return 'returnReceived';
    case 'RETURN_RESTOCKED': return confirmation.subinventoryNettable ? 'restocked' : 'scrapped';
    default: throw new UnreachableCaseError(confirmation.type);
  }
}

const isReturn = (type: ConfirmationType) => type === 'RETURN_RECEIVED' || type === 'RETURN_RESTOCKED';

/** How many more units of `progress` a line can take: fill lines in order up to it, the rest to the last. */
function room(line: OrderLine, progress: Progress): number {
  switch (progress) {
    case 'picked':
    case 'packed':
    case 'shipped':
    case 'delivered':
      return line.quantity - line[progress];
    case 'returnReceived':
      return shippedUnits(line) - line.returnReceived;
    case 'restocked':
    case 'scrapped':
      return line.returnReceived - line.restocked - line.scrapped;
    default:
      throw new UnreachableCaseError(progress);
  }
}

/** Units that left the warehouse: a delivery confirmed without a shipment counts as shipped. */
const shippedUnits = (line: OrderLine) => Math.max(line.shipped, line.delivered);

function addUnits(order: Order, lines: readonly OrderLine[], progress: Progress, quantity: number): Order {
  let left = quantity;
  const added = new Map<number, number>();
  lines.forEach((line, index) => {
    const units = index === lines.length - 1 ? left : Math.min(left, Math.max(room(line, progress), 0));
    added.set(line.lineNumber, units);
    left -= units;
  });
  return { ...order, lines: order.lines.map((line) => (added.has(line.lineNumber) ? { ...line, [progress]: line[progress] + added.get(line.lineNumber)! } : line)) };
}

/** The furthest fulfilment status the lines show; a line delivered counts as shipped, shipped as packed, packed as picked. */
function fulfilmentStatus(order: Order): OrderStatus | null {
  const done = order.lines.map((line) => {
    const shipped = Math.max(line.shipped, line.delivered);
    const packed = Math.max(line.packed, shipped);
    return { quantity: line.quantity, delivered: line.delivered, shipped, packed, picked: Math.max(line.picked, packed) };
  });
  const all = (figure: 'delivered' | 'shipped' | 'packed') => done.every((line) => line[figure] >= line.quantity);
  if (all('delivered')) return 'DELIVERED';
  if (all('shipped')) return 'SHIPPED';
  if (all('packed')) return 'PACKED';
  return done.some((line) => line.picked > 0) ? 'PICKING' : null;
}

/** The order moved to `status` when that is further along its fulfilment than where it is; a returning order keeps its status. */
function moveForward(order: Order, status: OrderStatus | null, context: ChangeContext): Change {
  const fulfilling = rankOf(order.status) <= rankOf('DELIVERED');
  if (status === null || !fulfilling || rankOf(status) <= rankOf(order.status)) return { ok: true, order, transitions: [] };
  return moveTo(order, status, context);
}

/** A shipped order whose returned units arrive is RETURN_RECEIVED, then settles once every unit is inspected. */
function returnStatus(order: Order, context: ChangeContext): Change {
  const received = order.status === 'SHIPPED' || order.status === 'DELIVERED' || order.status === 'RETURN_REQUESTED'
    ? moveTo(order, 'RETURN_RECEIVED', context)
    : { ok: true as const, order, transitions: [] };
  return andThen(received, (current) => settleReturn(current, context));
}
