import type { PrismaClient } from '../database/database.ts';
import { inSpan, linkTo, SpanKind } from '../observability/tracing.ts';
import { MAX_PUBLISH_BATCH, type EventBus, type OutgoingEvent } from './eventBus.ts';

// The first key of the relays' advisory locks (the second is the producer's hash): any fixed
// number no other lock of Stockgraph's uses.
const RELAY_LOCK_NAMESPACE = 48_151_623;

interface OutboxRow {
  id: bigint;
  stream: string;
  type: string;
  /** As JSON text: published as stored, never parsed here. */
  payload: string;
  correlation_id: string | null;
  traceparent: string | null;
}

export interface OutboxRelayOptions {
  /** Outbox records published per transaction; at most MAX_PUBLISH_BATCH. */
  batchSize?: number;
  /** How often an idle relay looks for work it was not woken for, in milliseconds. */
  pollIntervalMs?: number;
  /** Pending rows a relay deletes between its vacuums of the pending list (see VACUUM_AFTER_DELETED). */
  vacuumAfterDeleted?: number;
}

/**
 * Every published record leaves a dead row in event_outbox_pending until the table is vacuumed,
 * and each read of the pending list walks past their index entries again. Autovacuum may come
 * late to a table this small and this busy, or not at all where it is off (as on the benchmark
 * machine): 205,000 dead rows after a two-minute burst of warehouse confirmations made each read
 * 15 ms, and the confirmations flowed at half the rate they did with the list vacuumed every
 * 5 s. So a relay vacuums the list itself after deleting this many rows: a few milliseconds for
 * the table's few pages.
 */
const VACUUM_AFTER_DELETED = 20_000;

/**
 * Publishes one producer's outbox (event_outbox rows it wrote, listed in event_outbox_pending
 * until published) to the event bus. Records leave the pending list in the transaction that read
 * them, after the bus accepted them: a crash in between publishes them again on restart (at least once, right after the
 * first copies), never loses or reorders them; consumers drop repeats by (key, sequence).
 * One relay per producer publishes at a time (an advisory lock), in record order, so that a
 * key's events leave in the order they were written.
 *
 * The bus acknowledging a record is not the end of it: a Redis without persistence that dies
 * takes along what it acknowledged and no consumer had read yet. So when a relay finds that the
 * bus's store restarted since it last held the lock (EventBus.storeEpoch), it publishes the
 * producer's last MAX_PUBLISH_BATCH published records again, whichever replica sent them, before
 * anything new; the consumers and the gateway drop the copies they had already seen by (key,
 * sequence).
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private pendingWake = false;
  /** The bus store's epoch when this relay last held the lock; null before it first did. */
  private epochSeen: string | null = null;
  private readonly vacuumAfterDeleted: number;
  private deletedSinceVacuum = 0;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly bus: EventBus,
    private readonly producer: string,
    { batchSize = MAX_PUBLISH_BATCH, pollIntervalMs = 250, vacuumAfterDeleted = VACUUM_AFTER_DELETED }: OutboxRelayOptions = {},
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_PUBLISH_BATCH) {
      throw new TypeError(`OutboxRelay: batchSize must be a whole number from 1 to ${MAX_PUBLISH_BATCH} (consumers bound repeats by it), got ${batchSize}`);
    }
    this.batchSize = batchSize;
    this.pollIntervalMs = pollIntervalMs;
    this.vacuumAfterDeleted = vacuumAfterDeleted;
  }

  /** Publishes one batch; returns how many records it published (0 when another relay holds the lock). */
  async relayOnce(): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      // Bitmap scans are off for the read below: a published record's pending row leaves its
      // index entry behind until vacuum, and only a plain index scan flags such entries dead for
      // the scans after it. Under a burst a bitmap scan visited every one of them, each time:
      // 124,000 entries and 80 ms per read for no record, against 0.8 ms once flagged.
      const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
        SELECT pg_try_advisory_xact_lock(${RELAY_LOCK_NAMESPACE}::int, hashtext(${this.producer})) AS locked,
               set_config('enable_bitmapscan', 'off', true)`;
      if (!lock?.locked) return 0;
      const rows = await tx.$queryRaw<OutboxRow[]>`
        SELECT o.id, o.stream, o.type, o.payload::text AS payload, o.correlation_id, o.traceparent
          FROM event_outbox_pending p JOIN event_outbox o ON o.id = p.id
         WHERE p.producer = ${this.producer}
         ORDER BY p.producer, p.id
         LIMIT ${this.batchSize}`;
      // Cached by the bus: no round trip unless the store was just reached again.
      const epoch = await this.bus.storeEpoch();
      if (this.epochSeen !== null && epoch !== this.epochSeen) await this.publish(await this.lastPublished(tx));
      this.epochSeen = epoch;
      if (rows.length === 0) return 0;
      await this.publish(rows);
      await tx.$executeRaw`DELETE FROM event_outbox_pending WHERE producer = ${this.producer} AND id = ANY(${rows.map((row) => row.id.toString())}::bigint[])`;
      return rows.length;
    }, { timeout: 30_000 });
  }

  /**
   * Vacuums the pending list once this relay has deleted vacuumAfterDeleted rows since it last
   * did (VACUUM_AFTER_DELETED says why); skipped, not waited for, while another relay vacuums it.
   */
  private async vacuumWhenDue(deleted: number): Promise<void> {
    this.deletedSinceVacuum += deleted;
    if (this.deletedSinceVacuum < this.vacuumAfterDeleted) return;
    this.deletedSinceVacuum = 0;
    await this.prisma.$executeRaw`VACUUM (SKIP_LOCKED) event_outbox_pending`;
  }

  /** The producer's last MAX_PUBLISH_BATCH published records, oldest first. */
  private async lastPublished(tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]): Promise<OutboxRow[]> {
    const rows = await tx.$queryRaw<OutboxRow[]>`
      SELECT o.id, o.stream, o.type, o.payload::text AS payload, o.correlation_id, o.traceparent
        FROM event_outbox o
       WHERE o.producer = ${this.producer}
         AND NOT EXISTS (SELECT 1 FROM event_outbox_pending p WHERE p.producer = o.producer AND p.id = o.id)
       ORDER BY o.id DESC
       LIMIT ${MAX_PUBLISH_BATCH}`;
    return rows.reverse();
  }

  /**
   * Sends `rows` in an `outbox.publish` span linked to the span that wrote each of them (its
   * traceparent): a batch serves many requests, so it is linked to their traces, not a child of one.
   */
  private publish(rows: readonly OutboxRow[]): Promise<void> {
    const links = rows.flatMap((row) => linkTo(row.traceparent) ?? []);
    const attributes = { 'messaging.operation.type': 'send', 'messaging.batch.message_count': rows.length, 'stockgraph.producer': this.producer };
    return inSpan('outbox.publish', { kind: SpanKind.PRODUCER, attributes, links }, async () => {
      // A key's events travel on one stream, so keeping each stream's order keeps every key's;
      // the streams are independent, so they are sent at once (and all settle before a failure
      // rolls the batch back: nothing of it is still under way when the next batch goes).
      const sent = await Promise.allSettled([...byStream(rows)].map(([stream, records]) => this.bus.publishMany(stream, records.map(outgoingEvent))));
      const failed = sent.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  /** Relays continuously until stop(); wake() after committing a change publishes it at once. */
  start(onError: (error: unknown) => void): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const published = await this.relayOnce().catch((error: unknown) => (onError(error), 0));
        await this.vacuumWhenDue(published).catch(onError);
        // A short batch took all there was: what commits after it wakes the relay (or the poll finds it).
        if (published < this.batchSize && this.running) await this.idle();
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

function outgoingEvent(row: OutboxRow): OutgoingEvent {
  const event = { type: row.type, id: row.id.toString(), payloadJson: row.payload };
  return row.correlation_id === null ? event : { ...event, correlationId: row.correlation_id };
}

/** The rows of each stream, in their order. */
function byStream(rows: readonly OutboxRow[]): Map<string, OutboxRow[]> {
  const streams = new Map<string, OutboxRow[]>();
  for (const row of rows) {
    const records = streams.get(row.stream);
    if (records) records.push(row);
    else streams.set(row.stream, [row]);
  }
  return streams;
}
