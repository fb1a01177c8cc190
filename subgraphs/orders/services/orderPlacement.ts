import { randomUUID } from 'node:crypto';
import type { HoldRequestItem, HoldResult } from '../../../platform/contracts/orderStockApi.ts';
import { KeyedBatcher } from '../../../platform/concurrency/keyedBatcher.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import { oneStatement } from '../../../platform/database/oneStatement.ts';
import { isUniqueViolation } from '../../../platform/database/postgresErrors.ts';
import { ungrantedLocations, type LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { requestFingerprint } from '../../../platform/lang/requestFingerprint.ts';
import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';
import type { Logger } from '../../../platform/logger.ts';
import { OrderLedger, type OrderAnswer, type OrderSnapshot } from '../data/orderLedger.ts';
import { earlierPlacements, newOrderInserts, refusedPlacementsOf, unplacedOrderDeletes, type NewOrder, type RefusedPlacement } from '../data/placementStore.ts';
import { commandDeletes, commandInserts, pendingCommands, type StockCommand } from '../data/stockCommandStore.ts';
import { refuse, type Order, type Refusal } from '../domain/order.ts';
import { OrderErrorCode } from '../domain/orderErrorCode.ts';
import { reserve } from '../domain/orderLifecycle.ts';
import { validatePlaceOrderRequest, type PlaceOrderRequest } from '../domain/placeOrderRequest.ts';
import { OrderError } from '../errors.ts';
import { InventoryUnavailableError, type OrderStockClient } from '../inventory/orderStockClient.ts';

/** What a HOLD command carries: the request to inventory, and who placed the order. */
export interface HoldCommand {
  readonly hold: HoldRequestItem;
  readonly caller: string;
}

export interface PlacementSettings {
  /** How long a call that wrote a stock command owns it before the recovery sweeper may send it again, in milliseconds. */
  readonly commandLeaseMs: number;
}

interface PendingPlacement {
  readonly request: PlaceOrderRequest;
  readonly fingerprint: string;
  readonly caller: string;
}

/** What recording a batch's placements decided for each: a new or resumed order waiting for its hold, its order as it is, or a refusal. */
type Recorded = { readonly awaitingHold: string } | { readonly orderId: string } | OrderError;

// A batch that lost a race on an idempotency key or a reference (another replica inserted it
// first) is recorded again, and then finds that order.
const RECORD_ATTEMPTS = 3;

/**
 * placeOrder: the order and its stock, all or nothing, as a saga between two services that share
 * no transaction. (1) The order is recorded CREATED, with a HOLD command, in one transaction.
 * (2) The command is sent to inventory, which holds every line's stock or none, and answers a
 * repeat of the same order as it answered the first. (3) The answer is applied in one
 * transaction: RESERVED with its lines, or, refused, the order is deleted with all it had. A crash
 * or a lost answer between (1) and (3) leaves the command, which the recovery sweeper sends again
 * once its lease runs out: no stock stays held without an order, no order stays without its stock.
 * Concurrent placements are grouped, one transaction and one call to inventory per batch.
 */
export class OrderPlacement {
  private readonly batches: KeyedBatcher<PendingPlacement, OrderAnswer>;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly inventory: OrderStockClient,
    private readonly settings: PlacementSettings,
    /** Called after each commit that changed orders, so that their status changes are published at once. */
    private readonly afterCommit: () => void,
    private readonly logger: Pick<Logger, 'warn' | 'error'>,
  ) {
    // One batch at a time: most of a batch's cost is per statement and per call, so while one
    // runs the next grows, and fewer, larger batches place more per second (491 orders/s with four
    // batches under way at once, 609 with one, side by side in npm run bench orders).
    this.batches = new KeyedBatcher((_, pending) => this.placeBatch(pending));
  }

  /**
   * Places the order and answers with it once its stock is held (RESERVED), or with the order
   * first placed under the request's idempotency key. Throws OrderError: BAD_USER_INPUT (for a
   * caller granted some locations, also a line that names none), FORBIDDEN (a line's location
   * outside `grant`), IDEMPOTENCY_CONFLICT, ORDER_REFERENCE_TAKEN, inventory's refusals (nothing
   * held, no order), INVENTORY_UNAVAILABLE (the order stays CREATED until the sweeper finishes it).
   */
  async place(request: PlaceOrderRequest, caller: string, grant: LocationGrant): Promise<OrderAnswer> {
    const problems = validatePlaceOrderRequest(request, grant);
    if (problems.length) throw OrderError.badInput(problems);
    const outside = ungrantedLocations(grant, request.lines.map((line) => line.locationId));
    if (outside.length) throw OrderError.notGranted(outside);
    const { idempotencyKey: _key, ...meaningful } = request;
    return this.batches.submit('placements', { request, fingerprint: requestFingerprint(meaningful), caller });
  }

  /**
   * Applies inventory's answers to HOLD commands (sent by place() or the sweeper): a HELD order
   * is RESERVED with its lines; a REFUSED one that is still CREATED is deleted. The commands are
   * deleted either way. Answers for orders that moved on meanwhile (a repeat's, or an order
   * cancelled while it was being placed) change nothing. Answers, by id, each order as it now is,
   * or why it was refused and deleted.
   */
  async completeHolds(answered: readonly { readonly command: StockCommand<HoldCommand>; readonly result: HoldResult }[]): Promise<Map<string, OrderSnapshot | Refusal | Error>> {
    const outcomes = new Map<string, OrderSnapshot | Refusal | Error>();
    await this.prisma.$transaction(async (tx) => {
      const ledger = await OrderLedger.open(tx, { ids: answered.map(({ command }) => command.orderId) });
      const unplaced: { orderId: string; refusal: Refusal | null }[] = [];
      const at = new Date();
      for (const { command, result } of answered) {
        const order = ledger.order(command.orderId);
        if (!order) continue;
        const context = { cause: { type: 'MUTATION' as const, id: 'placeOrder' }, actor: command.payload.caller, at };
        if (result.status === 'HELD') {
          const { lines } = command.payload.hold;
          const allocations = result.allocations.map((allocation) => ({ ...allocation, requestedLine: allocation.lineNumber, sku: lines[allocation.lineNumber - 1]!.sku }));
          const change = reserve(order, allocations, context);
          if (change.ok) ledger.apply(change);
          continue;
        }
        if (order.status !== 'CREATED') continue;
        const refusal = holdRefusal(result);
        outcomes.set(order.id, refusal);
        unplaced.push({ orderId: order.id, refusal: refusal instanceof Error ? null : refusal });
      }
      await ledger.write([
        commandDeletes(answered.map(({ command }) => command.id)),
        ...(unplaced.length ? unplacedOrderDeletes(unplaced) : []),
      ]);
      for (const order of ledger.orders()) if (!outcomes.has(order.id)) outcomes.set(order.id, ledger.snapshot(order.id)!);
    });
    this.afterCommit();
    return outcomes;
  }

  private async placeBatch(pending: readonly PendingPlacement[]): Promise<(OrderAnswer | Error)[]> {
    const answers = await this.answerBatch(pending);
    // An order answered by id may have been refused and removed meanwhile (by the sweeper, or a
    // concurrent retry's hold): its refusal is the answer then.
    const ids = answers.filter((answer): answer is string => typeof answer === 'string');
    if (ids.length === 0) return answers;
    const refused = new Map((await refusedPlacementsOf(this.prisma, ids)).map((placement) => [placement.orderId, placement]));
    return answers.map((answer, index) => {
      const refusal = typeof answer === 'string' ? refused.get(answer) : undefined;
      return refusal ? refusedAgain(refusal, pending[index]!.request.idempotencyKey, pending[index]!.fingerprint) : answer;
    });
  }

  private async answerBatch(pending: readonly PendingPlacement[]): Promise<(OrderAnswer | Error)[]> {
    const { recorded, holds } = await this.recordWithRetries(pending);
    if (holds.length === 0) return recorded.map((outcome) => ('awaitingHold' in outcome ? outcome.awaitingHold : settled(outcome)));
    let results: HoldResult[];
    try {
      results = await this.inventory.hold(holds.map((command) => command.payload.hold));
    } catch (error) {
      if (!(error instanceof InventoryUnavailableError)) throw error;
      this.logger.warn({ err: error, orders: holds.length }, 'holding the stock of new orders failed; the recovery sweeper sends the holds again');
      return recorded.map((outcome) => ('awaitingHold' in outcome ? inventoryUnavailable(outcome.awaitingHold, error) : settled(outcome)));
    }
    const completed = await this.completeHolds(holds.map((command, index) => ({ command, result: results[index]! })));
    return recorded.map((outcome) => {
      if (!('awaitingHold' in outcome)) return settled(outcome);
      const answer = completed.get(outcome.awaitingHold);
      if (!answer) return outcome.awaitingHold;
      if (answer instanceof Error || 'order' in answer) return answer;
      return OrderError.of(answer);
    });
  }

  private async recordWithRetries(pending: readonly PendingPlacement[]) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.prisma.$transaction((tx) => this.record(tx, pending));
      } catch (error) {
        if (attempt < RECORD_ATTEMPTS && isUniqueViolation(error)) continue;
        throw error;
      }
    }
  }

  /**
   * Records the batch's new orders (CREATED, with their HOLD commands) and finds those placed
   * before under the same keys: resumed when still waiting for their hold, answered as they are
   * otherwise. Returns what to answer each placement and the holds to send.
   */
  private async record(tx: Prisma.TransactionClient, pending: readonly PendingPlacement[]): Promise<{ recorded: Recorded[]; holds: StockCommand<HoldCommand>[] }> {
    const earlier = await earlierPlacements(tx, pending.map((p) => p.request.idempotencyKey), pending.map((p) => p.request.reference));
    const refused = new Map(earlier.refused.map((placement) => [placement.idempotencyKey, placement]));
    const byKey = new Map(earlier.placed.map((placement) => [placement.idempotencyKey, placement]));
    const byReference = new Map(earlier.placed.map((placement) => [placement.reference, placement]));
    const created: NewOrder[] = [];
    const commands: StockCommand<HoldCommand>[] = [];
    const at = new Date();
    const recorded = pending.map(({ request, fingerprint, caller }): Recorded => {
      const refusal = refused.get(request.idempotencyKey);
      if (refusal) return refusedAgain(refusal, request.idempotencyKey, fingerprint);
      const first = byKey.get(request.idempotencyKey);
      if (first) {
        if (first.requestHash !== fingerprint) {
          return new OrderError(OrderErrorCode.IDEMPOTENCY_CONFLICT, `Idempotency key ${request.idempotencyKey} was first used for a different order`, { orderId: first.id });
        }
        return { awaitingHold: first.id };
      }
      const holder = byReference.get(request.reference);
      if (holder) return new OrderError(OrderErrorCode.ORDER_REFERENCE_TAKEN, `Another order has the reference ${request.reference}`, { orderId: holder.id });
      const order: Order = {
        id: `ORD-${randomUUID()}`, reference: request.reference, channel: request.channel, status: 'CREATED', version: 1,
        releaseRequested: false, cancelReason: null, returnReason: null, lines: [],
      };
      const placement = { id: order.id, reference: order.reference, idempotencyKey: request.idempotencyKey, requestHash: fingerprint };
      byKey.set(request.idempotencyKey, placement);
      byReference.set(request.reference, placement);
      created.push({
        order, idempotencyKey: request.idempotencyKey, requestHash: fingerprint, requestedLines: request.lines,
        created: { version: 1, status: 'CREATED', previousStatus: null, cause: { type: 'MUTATION', id: 'placeOrder' }, actor: caller, at },
      });
      const hold: HoldRequestItem = {
        orderId: order.id, reference: order.reference, channel: order.channel,
        lines: request.lines.map((line, index) => ({ lineNumber: index + 1, ...line })),
      };
      commands.push({ id: order.id, orderId: order.id, kind: 'HOLD', payload: { hold, caller }, attempts: 0 });
      return { awaitingHold: order.id };
    });
    if (created.length) await tx.$executeRaw(oneStatement([...newOrderInserts(created), commandInserts(commands, this.settings.commandLeaseMs)]));
    // Orders placed before and still waiting for their hold are sent it again: inventory answers a repeat as it did the first.
    const newIds = new Set(created.map(({ order }) => order.id));
    const resumed = [...new Set(recorded.flatMap((outcome) => ('awaitingHold' in outcome && !newIds.has(outcome.awaitingHold) ? [outcome.awaitingHold] : [])))];
    const waiting = resumed.length ? await pendingCommands<HoldCommand>(tx, 'HOLD', resumed) : [];
    const stillWaiting = new Set(waiting.map((command) => command.orderId));
    return {
      recorded: recorded.map((outcome) => ('awaitingHold' in outcome && !newIds.has(outcome.awaitingHold) && !stillWaiting.has(outcome.awaitingHold) ? { orderId: outcome.awaitingHold } : outcome)),
      holds: [...commands, ...waiting],
    };
  }
}

/** The answer of an unplaced order: inventory's refusal, with its code, message and details, and the line it names. */
function holdRefusal(result: Extract<HoldResult, { status: 'REFUSED' }>): Refusal | Error {
  const { code, message, lineNumber, details } = result;
  const extensions = { ...details, ...(lineNumber === null ? {} : { line: lineNumber }) };
  switch (code) {
    case 'INSUFFICIENT_STOCK':
    case 'UNKNOWN_SKU':
    case 'UNKNOWN_LOCATION':
    case 'RESERVATION_NOT_FOUND':
    case 'RESERVATION_NOT_ACTIVE':
    case 'RESERVATION_MISMATCH':
      return refuse(OrderErrorCode[code], message, extensions);
    case 'ORDER_STOCK_RELEASED':
      return refuse(OrderErrorCode.INVALID_ORDER_STATUS, `The order was cancelled while its stock was being held: ${message}`, extensions);
    case 'HOLD_CONFLICT':
      // The same order id held with other lines: a fault of this service, which no caller can fix.
      return new Error(`Inventory refused the hold of an order: ${message}`);
    default:
      throw new UnreachableCaseError(code);
  }
}

/** The answer to a retry of a refused placement: its refusal, or IDEMPOTENCY_CONFLICT when the input differs. */
function refusedAgain(placement: RefusedPlacement, idempotencyKey: string, fingerprint: string): OrderError {
  if (placement.requestHash !== fingerprint) {
    return new OrderError(OrderErrorCode.IDEMPOTENCY_CONFLICT, `Idempotency key ${idempotencyKey} was first used for a different order`, { orderId: placement.orderId });
  }
  return OrderError.of(placement.refusal);
}

/** What to answer a placement whose outcome is known without a hold. */
function settled(outcome: Exclude<Recorded, { readonly awaitingHold: string }>): string | Error {
  return outcome instanceof Error ? outcome : outcome.orderId;
}

function inventoryUnavailable(orderId: string, error: InventoryUnavailableError): OrderError {
  return new OrderError(
    OrderErrorCode.INVENTORY_UNAVAILABLE,
    `Order ${orderId} is recorded, but its stock could not be held yet (${error.message}); Stockgraph keeps trying: retry with the same idempotency key to learn the outcome`,
    { orderId },
  );
}
