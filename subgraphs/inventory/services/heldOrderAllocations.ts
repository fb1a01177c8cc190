import type { Prisma } from '../../../platform/database/generated/client.ts';
import { allocationProgressUpdates, heldAllocationsFor, type AllocationProgressChange, type OrderAllocationRecord } from '../data/orderStockStore.ts';
import type { StockChange } from '../data/stockLedger.ts';
import type { ItemEvent } from '../domain/events/canonicalEvent.ts';
import { planOrderPick, planOrderShip } from '../domain/orders/orderAllocation.ts';

/** A movement's stock changes as its order's allocations make them, and what it does to those allocations once applied. */
export interface OrderMovement {
  readonly changes: readonly StockChange[];
  /** Counts the movement in its allocations' progress; call once its changes have applied. */
  record(): void;
}

/** An allocation whose picked and shipped follow the batch's movements as they apply. */
type TrackedAllocation = Omit<OrderAllocationRecord, 'picked' | 'shipped'> & { picked: number; shipped: number };

const movementKey = (reference: string, sku: string, locationId: string) => `${reference}\u0000${sku}\u0000${locationId}`;

const isOrderMovement = (event: ItemEvent): event is ItemEvent & { orderReference: string } =>
  event.orderReference !== null && (event.type === 'PICK' || event.type === 'SHIP');

/**
 * The allocations of HELD orders that a batch's picks and ships name by the order's reference,
 * as the batch's events, applied in order, move them: a pick allocates only what its order's
 * allocations no longer cover, and picks and ships count toward the allocations, so that a
 * release gives back what the warehouse has not shipped. Movements that name no HELD order's
 * allocation of their SKU at their location change stock as any other.
 */
export class HeldOrderAllocations {
  private readonly progress = new Map<string, AllocationProgressChange>();

  private constructor(private readonly byMovement: ReadonlyMap<string, TrackedAllocation[]>) {}

  /**
   * Reads the allocations `events` name; to call once their stock levels are locked (allocations
   * change only under those locks). No statement when no event is a pick or ship naming an order.
   */
  static async read(tx: Prisma.TransactionClient, events: readonly ItemEvent[]): Promise<HeldOrderAllocations> {
    const named = new Map(events.filter(isOrderMovement).map((e) => [movementKey(e.orderReference, e.sku, e.locationId), { reference: e.orderReference, sku: e.sku, locationId: e.locationId }]));
    const byMovement = new Map<string, TrackedAllocation[]>();
    if (named.size === 0) return new HeldOrderAllocations(byMovement);
    for (const { reference, ...allocation } of await heldAllocationsFor(tx, [...named.values()])) {
      const key = movementKey(reference, allocation.sku, allocation.locationId);
      if (!byMovement.has(key)) byMovement.set(key, []);
      byMovement.get(key)!.push({ ...allocation });
    }
    return new HeldOrderAllocations(byMovement);
  }

  /** The event as its order's allocations make it; null when it names none (its changes stand as they are). */
  movementOf(event: ItemEvent, changes: readonly StockChange[]): OrderMovement | null {
    if (!isOrderMovement(event)) return null;
    const allocations = this.byMovement.get(movementKey(event.orderReference, event.sku, event.locationId));
    if (!allocations) return null;
    if (event.type === 'PICK') {
      const { allocatedIncrease, picked } = planOrderPick(event.quantity, allocations);
      const covered = changes
        .map((change) => ({ ...change, effects: change.effects.map((effect) => (effect.bucket === 'allocated' ? { ...effect, quantity: allocatedIncrease } : effect)).filter((effect) => effect.quantity !== 0) }))
        .filter((change) => change.effects.length > 0);
      return { changes: covered, record: () => this.count(allocations, picked, 'picked') };
    }
    const { shipped } = planOrderShip(event.quantity, allocations);
    return { changes, record: () => this.count(allocations, shipped, 'shipped') };
  }

  /** The statement that stores what the recorded movements did to their allocations (for StockLedger.write); null when nothing. */
  progressUpdate(): Prisma.Sql | null {
    return this.progress.size ? allocationProgressUpdates([...this.progress.values()]) : null;
  }

  private count(allocations: TrackedAllocation[], quantities: readonly number[], field: 'picked' | 'shipped'): void {
    allocations.forEach((allocation, i) => {
      const quantity = quantities[i]!;
      if (quantity === 0) return;
      allocation[field] += quantity;
      const key = `${allocation.orderId}\u0000${allocation.lineNumber}\u0000${allocation.locationId}`;
      const change = this.progress.get(key) ?? { orderId: allocation.orderId, lineNumber: allocation.lineNumber, locationId: allocation.locationId, picked: 0, shipped: 0, released: 0 };
      this.progress.set(key, { ...change, [field]: change[field] + quantity });
    });
  }
}
