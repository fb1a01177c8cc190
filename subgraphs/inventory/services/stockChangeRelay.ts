import type { PrismaClient } from '../../../platform/database/database.ts';
import type { EventBus } from '../../../platform/events/eventBus.ts';
import { STREAMS } from '../../../platform/events/streams.ts';
import type { StockLevelBuckets } from '../domain/stockLevelSummary.ts';

/** The stream every stock change is published to, in order per item x location. */
export const STOCK_CHANGES_STREAM = STREAMS.stockChanges;
export const STOCK_LEVEL_CHANGED = 'inventory.stockLevel.changed';

/** The payload of an `inventory.stockLevel.changed` event. */
export interface StockLevelChanged {
  readonly outboxId: string;
  readonly sku: string;
  readonly locationId: string;
  /** The stock level's sequence after the change: consecutive per item x location, from 1. */
  readonly sequence: number;
  readonly cause: { readonly type: string; readonly id: string };
  readonly before: StockLevelBuckets;
  readonly after: StockLevelBuckets;
  readonly availableBefore: number;
  readonly availableAfter: number;
  readonly occurredAt: string;
}

// Any fixed number: only relays take this lock, so that one replica publishes at a time and a
// stock level's changes leave in the order they were made.
const RELAY_LOCK_ID = 4_815_162_342;

interface OutboxRow {
  id: bigint;
  sku: string;
  locationId: string;
  sequence: bigint;
  causeType: string;
  causeId: string;
  before: StockLevelBuckets;
  after: StockLevelBuckets;
  availableBefore: number;
  availableAfter: number;
  occurredAt: Date;
}

export interface StockChangeRelayOptions {
  /** Outbox rows published per transaction. */
  batchSize?: number;
  /** How often an idle relay looks for work it was not woken for, in milliseconds. */
  pollIntervalMs?: number;
}

/**
 * Publishes the stock-change outbox to the event bus and marks what it published. Rows are
 * marked in the transaction that read them, after the bus accepted them: a crash in between
 * publishes them again on restart (at least once), never loses or reorders them; consumers
 * drop repeats by (sku, locationId, sequence).
 */
export class StockChangeRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly bus: EventBus,
    { batchSize = 500, pollIntervalMs = 250 }: StockChangeRelayOptions = {},
  ) {
    this.batchSize = batchSize;
    this.pollIntervalMs = pollIntervalMs;
  }

  /** Publishes one batch; returns how many changes it published (0 when another relay holds the lock). */
  async relayOnce(): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${RELAY_LOCK_ID}::bigint) AS locked`;
      if (!lock?.locked) return 0;
      const rows = await tx.$queryRaw<OutboxRow[]>`
        SELECT id, sku, location_id AS "locationId", sequence, cause_type AS "causeType", cause_id AS "causeId",
               before, after, available_before AS "availableBefore", available_after AS "availableAfter",
               occurred_at AS "occurredAt"
          FROM stock_change_outbox
         WHERE published_at IS NULL
         -- Ordered as the (published_at, id) index is, so that the unpublished tail is read from
         -- it; ordering by id alone lets the planner walk the primary key past every published row.
         ORDER BY published_at, id
         LIMIT ${this.batchSize}`;
      if (rows.length === 0) return 0;
      await this.bus.publishMany(STOCK_CHANGES_STREAM, rows.map((row) => ({ type: STOCK_LEVEL_CHANGED, payload: toEvent(row) })));
      await tx.$executeRaw`UPDATE stock_change_outbox SET published_at = now() WHERE id = ANY(${rows.map((row) => row.id.toString())}::bigint[])`;
      return rows.length;
    }, { timeout: 30_000 });
  }

  /** Relays continuously until stop(); wake() after committing a change publishes it at once. */
  start(onError: (error: unknown) => void): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const published = await this.relayOnce().catch((error: unknown) => (onError(error), 0));
        if (published === 0 && this.running) await this.idle();
      }
    })();
  }

  wake(): void {
    this.pendingWake = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  private idle(): Promise<void> {
    if (this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.pollIntervalMs);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        self.pendingWake = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

function toEvent(row: OutboxRow): StockLevelChanged {
  return {
    outboxId: row.id.toString(),
    sku: row.sku,
    locationId: row.locationId,
    sequence: Number(row.sequence),
    cause: { type: row.causeType, id: row.causeId },
    before: row.before,
    after: row.after,
    availableBefore: row.availableBefore,
    availableAfter: row.availableAfter,
    occurredAt: row.occurredAt.toISOString(),
  };
}
