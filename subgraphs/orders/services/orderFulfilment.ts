import type { PrismaClient } from '../../../platform/database/database.ts';
import type { LocationGrant } from '../../../platform/lang/locationGrant.ts';
import type { Prisma } from '../../../platform/database/generated/client.ts';
import type { Logger } from '../../../platform/logger.ts';
import { OrderLedger, type OrderSnapshot } from '../data/orderLedger.ts';
import { ordersWaitingOn, standingHoldsOn, type SkuAtLocation } from '../data/releaseHoldStore.ts';
import { commandInserts, deleteCommands, type StockCommand } from '../data/stockCommandStore.ts';
import type { ChangeContext, Order, Refusal } from '../domain/order.ts';
import { OrderErrorCode } from '../domain/orderErrorCode.ts';
import { cancel, release, releaseWhenHoldsClear } from '../domain/orderLifecycle.ts';
import { OrderError } from '../errors.ts';
import { InventoryUnavailableError, type OrderStockClient } from '../inventory/orderStockClient.ts';
import type { PlacementSettings } from './orderPlacement.ts';

/** What a RELEASE command carries: the order whose stock goes back. */
export interface ReleaseCommand {
  readonly orderId: string;
}

const mutation = (name: string, actor: string): ChangeContext => ({ cause: { type: 'MUTATION', id: name }, actor, at: new Date() });

/**
 * Releasing orders to their warehouse (holds permitting, now or once the holds clear) and
 * cancelling them. A cancellation commits CANCELLED with a RELEASE command in one transaction,
 * then asks inventory to give the stock back; a crash or an unreachable inventory leaves the
 * command to the recovery sweeper, so the stock is given back at least once (inventory gives it
 * back once however often it is asked).
 */
export class OrderFulfilment {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly inventory: OrderStockClient,
    private readonly settings: PlacementSettings,
    private readonly afterCommit: () => void,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** releaseOrder: see its description in schema.graphql. Throws OrderError (ORDER_NOT_FOUND for an order `grant` does not let the caller see). */
  async release(orderId: string, caller: string, grant: LocationGrant): Promise<OrderSnapshot> {
    const answer = await this.prisma.$transaction(async (tx): Promise<Refusal | OrderSnapshot> => {
      const ledger = await OrderLedger.open(tx, { ids: [orderId], grant });
      const order = orderOf(ledger, orderId);
      const outcome = release(order, await standingHoldsOn(tx, order.lines), mutation('releaseOrder', caller));
      if (outcome.ok) ledger.apply(outcome);
      else if ('waiting' in outcome) ledger.apply({ ok: true, order: outcome.waiting, transitions: [] });
      await ledger.write();
      return outcome.ok ? ledger.snapshot(orderId)! : outcome;
    });
    this.afterCommit();
    if ('ok' in answer) throw OrderError.of(answer);
    return answer;
  }

  /** cancelOrder: see its description in schema.graphql. Throws OrderError (ORDER_NOT_FOUND for an order `grant` does not let the caller see). */
  async cancel(orderId: string, reason: string, caller: string, grant: LocationGrant): Promise<OrderSnapshot> {
    const { command, snapshot } = await this.prisma.$transaction(async (tx) => {
      const ledger = await OrderLedger.open(tx, { ids: [orderId], grant });
      const change = cancel(orderOf(ledger, orderId), reason, mutation('cancelOrder', caller));
      if (!change.ok) throw OrderError.of(change);
      if (change.transitions.length === 0) return { command: null, snapshot: ledger.snapshot(orderId)! };
      ledger.apply(change);
      const command: StockCommand<ReleaseCommand> = { id: `release:${orderId}`, orderId, kind: 'RELEASE', payload: { orderId }, attempts: 0 };
      await ledger.write([commandInserts([command], this.settings.commandLeaseMs)]);
      return { command, snapshot: ledger.snapshot(orderId)! };
    });
    this.afterCommit();
    // The order is cancelled whatever inventory answers: the sweeper asks again if it cannot now.
    if (command) await this.sendReleases([command]).catch((error: unknown) => {
      if (!(error instanceof InventoryUnavailableError)) throw error;
    });
    return snapshot;
  }

  /** Asks inventory to give the stock of cancelled orders back, and forgets the commands it answered. */
  async sendReleases(commands: readonly StockCommand<ReleaseCommand>[]): Promise<void> {
    try {
      await this.inventory.release(commands.map((command) => command.payload.orderId));
    } catch (error) {
      if (!(error instanceof InventoryUnavailableError)) throw error;
      this.logger.warn({ err: error, orders: commands.length }, 'giving back the stock of cancelled orders failed; the recovery sweeper asks again');
      throw error;
    }
    await deleteCommands(this.prisma, commands.map((command) => command.id));
  }

  /**
   * In the caller's transaction: releases the orders whose release waited for holds that have
   * now cleared on these SKUs and locations (each release caused by the hold cleared on one of the
   * order's lines), unless another hold still stands on one of their lines. Returns how many it
   * released.
   */
  async releaseWaitingOrders(tx: Prisma.TransactionClient, cleared: readonly (SkuAtLocation & { holdId: string })[], at: Date): Promise<number> {
    const waiting = await ordersWaitingOn(tx, cleared);
    if (waiting.length === 0) return 0;
    const ledger = await OrderLedger.open(tx, { ids: waiting });
    const orders = ledger.orders();
    const standing = await standingHoldsOn(tx, orders.flatMap((order) => order.lines));
    let released = 0;
    for (const order of orders) {
      const hold = cleared.find((pair) => order.lines.some((line) => line.sku === pair.sku && line.locationId === pair.locationId))!;
      const change = releaseWhenHoldsClear(order, standing, { cause: { type: 'HOLD_CLEARED', id: hold.holdId }, actor: 'stockgraph', at });
      if (!change) continue;
      ledger.apply(change);
      released += change.transitions.length;
    }
    await ledger.write();
    return released;
  }
}

/** The opened order, or ORDER_NOT_FOUND (also for one the ledger did not open: see OrderLedger.open's grant). */
export function orderOf(ledger: OrderLedger, orderId: string): Order {
  const order = ledger.order(orderId);
  if (!order) throw new OrderError(OrderErrorCode.ORDER_NOT_FOUND, `No order ${orderId}`);
  return order;
}
