import type { PrismaClient } from '../../../platform/database/database.ts';
import type { Logger } from '../../../platform/logger.ts';
import { claimDueCommands, rescheduleCommands, type StockCommand } from '../data/stockCommandStore.ts';
import { InventoryUnavailableError, type OrderStockClient } from '../inventory/orderStockClient.ts';
import type { OrderFulfilment, ReleaseCommand } from './orderFulfilment.ts';
import type { HoldCommand, OrderPlacement } from './orderPlacement.ts';
import type { InspectCommand, OrderReturns } from './orderReturns.ts';

export interface StockCommandRecoveryOptions {
  /** How long a claimed command is the sweeper's before another may send it, in milliseconds. */
  readonly leaseMs: number;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

// A command that failed again waits twice as long as the time before, up to a minute.
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 60_000;

/**
 * Finishes what a crash, a timeout or an unreachable inventory left between the orders service
 * and inventory: stock commands whose owner's lease ran out are claimed (by one sweeper at a time
 * each), sent again and their answers applied as the mutation that wrote them would have. Safe on
 * any number of replicas.
 */
export class StockCommandRecovery {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly inventory: OrderStockClient,
    private readonly handlers: { readonly placement: OrderPlacement; readonly fulfilment: OrderFulfilment; readonly returns: OrderReturns },
    private readonly options: StockCommandRecoveryOptions,
  ) {}

  /** Sends up to `limit` commands that are due; returns how many it claimed. */
  async recoverDue(limit: number): Promise<number> {
    const due = await claimDueCommands(this.prisma, limit, this.options.leaseMs);
    if (due.length === 0) return 0;
    const ofKind = <Payload>(kind: StockCommand['kind']) => due.filter((command) => command.kind === kind) as StockCommand<Payload>[];
    await Promise.all([
      this.resend(ofKind<HoldCommand>('HOLD'), async (commands) => {
        const results = await this.inventory.hold(commands.map((command) => command.payload.hold));
        await this.handlers.placement.completeHolds(commands.map((command, index) => ({ command, result: results[index]! })));
      }),
      this.resend(ofKind<ReleaseCommand>('RELEASE'), (commands) => this.handlers.fulfilment.sendReleases(commands)),
      this.resend(ofKind<InspectCommand>('INSPECT'), async (commands) => {
        const results = await this.inventory.inspect(commands.map((command) => command.payload.inspection));
        const outcomes = await this.handlers.returns.completeInspections(commands.map((command, index) => ({ command, result: results[index]! })));
        // Their callers were told the inspection would be applied: a refusal now is for an operator to see.
        for (const command of commands) {
          const outcome = outcomes.get(command.id);
          if (outcome && !('order' in outcome)) this.options.logger.warn({ orderId: command.orderId, inspectionId: command.id, code: outcome.code, reason: outcome.message }, 'inventory refused an inspection sent again; nothing was applied');
        }
      }),
    ]);
    return due.length;
  }

  /** Sends commands of one kind; when inventory cannot answer, each waits longer before its next try. */
  private async resend<Payload>(commands: StockCommand<Payload>[], send: (commands: StockCommand<Payload>[]) => Promise<void>): Promise<void> {
    if (commands.length === 0) return;
    try {
      await send(commands);
      this.options.logger.info({ kind: commands[0]!.kind, commands: commands.length, orders: commands.map((command) => command.orderId).slice(0, 10) }, 'stock commands recovered');
    } catch (error) {
      if (!(error instanceof InventoryUnavailableError)) throw error;
      this.options.logger.warn({ err: error, kind: commands[0]!.kind, commands: commands.length }, 'stock commands still not answered; retrying later');
      await rescheduleCommands(this.prisma, commands.map((command) => ({
        id: command.id,
        afterMs: Math.min(FIRST_RETRY_MS * 2 ** (command.attempts - 1), MAX_RETRY_MS),
        error: error.message,
      })));
    }
  }
}
