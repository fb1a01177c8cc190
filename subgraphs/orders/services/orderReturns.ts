import { randomUUID } from 'node:crypto';
import type { InspectionRequestItem, InspectionResult } from '../../../platform/contracts/orderStockApi.ts';
import type { PrismaClient } from '../../../platform/database/database.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import { UnreachableCaseError } from '../../../platform/lang/unreachableCaseError.ts';
import type { Logger } from '../../../platform/logger.ts';
import { OrderLedger, type OrderAnswer, type OrderSnapshot } from '../data/orderLedger.ts';
import { commandDeletes, commandInserts, pendingCommands, type StockCommand } from '../data/stockCommandStore.ts';
import { refuse, type ChangeContext, type Order, type Refusal } from '../domain/order.ts';
import { OrderErrorCode } from '../domain/orderErrorCode.ts';
import { inspect, inspectionRefusal, requestReturn } from '../domain/orderLifecycle.ts';
import { validateInspection, validateReturnRequest, type InspectionLine, type ReturnRequestLine } from '../domain/returnInput.ts';
import { OrderError } from '../errors.ts';
import { InventoryUnavailableError, type OrderStockClient } from '../inventory/orderStockClient.ts';
import { orderOf } from './orderFulfilment.ts';
import type { PlacementSettings } from './orderPlacement.ts';

/** What an INSPECT command carries: the request to inventory, the order lines it inspects, and who inspected. */
export interface InspectCommand {
  readonly inspection: InspectionRequestItem;
  readonly lines: readonly InspectionLine[];
  readonly caller: string;
}

const mutation = (name: string, actor: string): ChangeContext => ({ cause: { type: 'MUTATION', id: name }, actor, at: new Date() });

/**
 * Returns: a request opens one; an inspection moves the inspected units out of QA in inventory
 * and records them on the order, as a saga like placement's: the INSPECT command is recorded
 * (its units count as being inspected), sent, and its answer applied; a crash or an unreachable
 * inventory leaves it to the recovery sweeper.
 */
export class OrderReturns {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly inventory: OrderStockClient,
    private readonly settings: PlacementSettings,
    private readonly afterCommit: () => void,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** requestReturn: see its description in schema.graphql. Throws OrderError (ORDER_NOT_FOUND for an order `grant` does not let the caller see). */
  async requestReturn(orderId: string, lines: readonly ReturnRequestLine[], reason: string, caller: string, grant: LocationGrant): Promise<OrderSnapshot> {
    const problems = validateReturnRequest(lines, reason);
    if (problems.length) throw OrderError.badInput(problems);
    const snapshot = await this.prisma.$transaction(async (tx) => {
      const ledger = await OrderLedger.open(tx, { ids: [orderId], grant });
      const change = requestReturn(orderOf(ledger, orderId), lines, reason, mutation('requestReturn', caller));
      if (!change.ok) throw OrderError.of(change);
      ledger.apply(change);
      await ledger.write();
      return ledger.snapshot(orderId)!;
    });
    this.afterCommit();
    return snapshot;
  }

  /** inspectReturn: see its description in schema.graphql. Throws OrderError (ORDER_NOT_FOUND for an order `grant` does not let the caller see). */
  async inspectReturn(orderId: string, lines: readonly InspectionLine[], caller: string, grant: LocationGrant): Promise<OrderAnswer> {
    const problems = validateInspection(lines);
    if (problems.length) throw OrderError.badInput(problems);
    const command = await this.prisma.$transaction(async (tx) => {
      const ledger = await OrderLedger.open(tx, { ids: [orderId], grant });
      const order = orderOf(ledger, orderId);
      const underWay = await pendingCommands<InspectCommand>(tx, 'INSPECT', [orderId]);
      const refusal = inspectionRefusal(order, lines, unitsUnderInspection(underWay));
      if (refusal) throw OrderError.of(refusal);
      const inspectionId = `inspect:${orderId}:${randomUUID()}`;
      const command: StockCommand<InspectCommand> = {
        id: inspectionId, orderId, kind: 'INSPECT', attempts: 0,
        payload: { inspection: { inspectionId, orderId, lines: movesOf(order, lines) }, lines, caller },
      };
      await tx.$executeRaw(commandInserts([command], this.settings.commandLeaseMs));
      return command;
    });
    let result: InspectionResult;
    try {
      [result] = (await this.inventory.inspect([command.payload.inspection])) as [InspectionResult];
    } catch (error) {
      if (!(error instanceof InventoryUnavailableError)) throw error;
      this.logger.warn({ err: error, orderId }, 'moving inspected returns failed; the recovery sweeper sends the inspection again');
      throw new OrderError(OrderErrorCode.INVENTORY_UNAVAILABLE, `The inspection of order ${orderId} is recorded, but inventory could not move the units yet (${error.message}); it is applied once inventory answers: do not send it again`, { orderId, inspectionId: command.id });
    }
    const answer = (await this.completeInspections([{ command, result }])).get(command.id);
    if (answer && !('order' in answer)) throw OrderError.of(answer);
    return answer ?? orderId;
  }

  /**
   * Applies inventory's answers to INSPECT commands (sent by inspectReturn or the sweeper): an
   * applied inspection is recorded on its order (which may settle its return); the commands are
   * deleted either way. Answers, by command id, why each refused one was, or its order as it now is.
   */
  async completeInspections(answered: readonly { readonly command: StockCommand<InspectCommand>; readonly result: InspectionResult }[]): Promise<Map<string, Refusal | OrderSnapshot>> {
    const outcomes = new Map<string, Refusal | OrderSnapshot>();
    await this.prisma.$transaction(async (tx) => {
      const ledger = await OrderLedger.open(tx, { ids: answered.map(({ command }) => command.orderId) });
      for (const { command, result } of answered) {
        const order = ledger.order(command.orderId);
        if (result.status === 'REFUSED') {
          outcomes.set(command.id, inspectionRefused(result));
          continue;
        }
        if (order) ledger.apply(inspect(order, command.payload.lines, mutation('inspectReturn', command.payload.caller)));
      }
      await ledger.write([commandDeletes(answered.map(({ command }) => command.id))]);
      for (const { command } of answered) {
        const snapshot = ledger.snapshot(command.orderId);
        if (!outcomes.has(command.id) && snapshot) outcomes.set(command.id, snapshot);
      }
    });
    this.afterCommit();
    return outcomes;
  }
}

/** The units each order line has under an inspection still under way. */
function unitsUnderInspection(commands: readonly StockCommand<InspectCommand>[]): Map<number, number> {
  const units = new Map<number, number>();
  for (const { payload } of commands) {
    for (const line of payload.lines) units.set(line.lineNumber, (units.get(line.lineNumber) ?? 0) + line.restocked + line.scrapped);
  }
  return units;
}

/** What inventory moves for an inspection: per SKU and location of the lines inspected. */
function movesOf(order: Order, lines: readonly InspectionLine[]): InspectionRequestItem['lines'] {
  const moves = new Map<string, { sku: string; locationId: string; restocked: number; scrapped: number }>();
  for (const inspected of lines) {
    const line = order.lines.find((candidate) => candidate.lineNumber === inspected.lineNumber)!;
    const key = JSON.stringify([line.sku, line.locationId]);
    const move = moves.get(key) ?? { sku: line.sku, locationId: line.locationId, restocked: 0, scrapped: 0 };
    moves.set(key, { ...move, restocked: move.restocked + inspected.restocked, scrapped: move.scrapped + inspected.scrapped });
  }
  return [...moves.values()];
}

function inspectionRefused(result: Extract<InspectionResult, { status: 'REFUSED' }>): Refusal {
  switch (result.code) {
    case 'NOT_IN_QA':
      return refuse(OrderErrorCode.NOT_IN_QA, result.message, result.details);
    case 'UNKNOWN_SKU':
      return refuse(OrderErrorCode.UNKNOWN_SKU, result.message, result.details);
    case 'UNKNOWN_LOCATION':
      return refuse(OrderErrorCode.UNKNOWN_LOCATION, result.message, result.details);
    case 'UNKNOWN_SUBINVENTORY':
      return refuse(OrderErrorCode.UNKNOWN_SUBINVENTORY, result.message, result.details);
    default:
      throw new UnreachableCaseError(result.code);
  }
}
