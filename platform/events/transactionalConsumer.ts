import { setTimeout as delay } from 'node:timers/promises';
import { EVENT_CONTRACTS, type EventContract } from '../contracts/events.ts';
import type { PrismaClient } from '../database/database.ts';
import type { Prisma } from '../database/generated/client.ts';
import type { Logger } from '../logger.ts';
import { runOnBehalfOf } from '../observability/requestContext.ts';
import { lockConsumerCursor, readConsumerCursor, recordRefusals, restartConsumerCursor, saveConsumerCursor, type Refusal } from './consumerCursorStore.ts';
import { decodeEvent, type DecodedEvent } from './decodedEvent.ts';
import { compareCursors, StreamCursorError, type BusEvent, type EventBus, type EventSubscription } from './eventBus.ts';

export interface TransactionalConsumerOptions {
  /** The consumer's name, the same on every replica: replicas share one cursor. */
  readonly name: string;
  readonly stream: string;
  /** The event types it applies; others on the stream are passed over. */
  readonly contracts: readonly EventContract<any>[];
  /**
   * Applies events, in stream order, inside the transaction that also moves the cursor past
   * them: each takes effect exactly once. Throwing rolls the whole batch back.
   */
  readonly apply: (tx: Prisma.TransactionClient, events: readonly DecodedEvent[]) => Promise<void>;
  /** Called after a commit that applied events (wakes the service's outbox relay). Should not throw. */
  readonly onCommitted?: () => void;
  readonly logger: Pick<Logger, 'warn' | 'error'>;
  /** How many times an event that fails on its own is tried before it is refused. */
  readonly maxAttempts?: number;
}

// The pause before an event that failed on its own is tried again, doubled per attempt.
const FIRST_RETRY_MS = 100;

/**
 * Applies a stream's events exactly once: the cursor up to which they are applied is stored in
 * the service's own database (event_consumer_cursor), in the transaction that applies them. On
 * start it reads on from the stored cursor, so that a restart, or a crash at any point, loses
 * nothing and applies nothing twice. Replicas may run side by side: the cursor's row lock makes
 * them take turns, and each applies only what lies after the cursor it finds.
 *
 * An event is refused, kept in refused_event with the reason and logged, rather than dropped
 * or left to block the stream, when no contract names its type, its payload breaks its
 * contract, or applying it fails on its own `maxAttempts` times while the database answers.
 * A batch that fails is tried an event at a time, so the others go on. Events at or before the
 * cursor that arrive again (a relay's repeats carry new cursors and are the consumer's to
 * recognise) change nothing.
 */
export class TransactionalConsumer {
  private readonly maxAttempts: number;
  private readonly taken: ReadonlyMap<string, EventContract<any>>;
  private running: Promise<EventSubscription | null> | null = null;
  private readonly stopping = new AbortController();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly bus: EventBus,
    private readonly options: TransactionalConsumerOptions,
  ) {
    this.maxAttempts = options.maxAttempts ?? 3;
    this.taken = new Map(options.contracts.map((contract) => [contract.type, contract]));
    const foreign = options.contracts.filter((contract) => contract.stream !== options.stream);
    if (foreign.length) throw new TypeError(`TransactionalConsumer ${options.name}: ${foreign.map((c) => c.type).join(', ')} travel on another stream than ${options.stream}`);
  }

  /** Starts consuming from the stored cursor; failures to start are logged and retried. */
  start(): void {
    if (this.stopping.signal.aborted) return;
    this.running ??= this.subscribe();
  }

  /** Stops after the batch being applied, if any, has committed or rolled back. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await (await this.running)?.close();
  }

  private async subscribe(): Promise<EventSubscription | null> {
    const { stream, name, logger } = this.options;
    for (let attempt = 1; !this.stopping.signal.aborted; attempt += 1) {
      try {
        const after = await this.resumePoint();
        if (this.stopping.signal.aborted) return null;
        return await this.bus.subscribe(stream, (events) => this.handle(events), {
          after,
          onError: (error) => logger.error({ err: error, consumer: name, stream }, 'event consumer failed; retrying'),
        });
      } catch (error) {
        logger.error({ err: error, consumer: name, stream }, 'event consumer could not start; retrying');
        await this.pause(Math.min(FIRST_RETRY_MS * 2 ** attempt, 5_000));
      }
    }
    return null;
  }

  /** The stored cursor, or the stream's start when it names nothing this stream holds. */
  private async resumePoint(): Promise<string> {
    const { stream, name, logger } = this.options;
    const stored = await readConsumerCursor(this.prisma, name, stream);
    if (stored === null) return '0-0';
    try {
      await this.bus.read(stream, stored, 1);
      return stored;
    } catch (error) {
      if (!(error instanceof StreamCursorError)) throw error;
      if (error.reason === 'expired') {
        logger.error({ consumer: name, stream, cursor: stored }, 'events after the stored cursor were trimmed from the stream before this consumer applied them; going on from the oldest kept');
        return stored;
      }
      // A stream that began again (an in-process bus after a restart, a Redis stream deleted): all of it is new.
      logger.warn({ consumer: name, stream, cursor: stored }, 'the stored cursor is not in the stream; reading it from the start');
      await restartConsumerCursor(this.prisma, name, stream, stored);
      return '0-0';
    }
  }

  private handle(events: readonly BusEvent[]): Promise<void> {
    return runOnBehalfOf(events, async () => {
      try {
        await this.applyInOneTransaction(events);
      } catch (error) {
        if (events.length === 1) return this.applyAlone(events[0]!, error);
        for (const event of events) await runOnBehalfOf([event], () => this.applyAlone(event));
      }
    });
  }

  /** Applies what of `events` lies after the stored cursor, refuses what breaks its contract, and moves the cursor past them. */
  private async applyInOneTransaction(events: readonly BusEvent[]): Promise<void> {
    const { name, stream } = this.options;
    const { applied, refusals } = await this.prisma.$transaction(async (tx) => {
      const stored = await lockConsumerCursor(tx, name, stream);
      const fresh = events.filter((event) => compareCursors(event.cursor, stored) > 0);
      if (fresh.length === 0) return { applied: 0, refusals: [] };
      const decoded: DecodedEvent[] = [];
      const refusals: Refusal[] = [];
      for (const event of fresh) {
        // Another consumer's events (their type has a contract) are passed over; a type no contract names is refused.
        if (!this.taken.has(event.type) && EVENT_CONTRACTS.has(event.type)) continue;
        const decoding = decodeEvent(event, this.taken);
        if (decoding.ok) decoded.push(decoding.event);
        else refusals.push({ cursor: event.cursor, type: event.type, payload: event.payload, reason: decoding.reason, correlationId: event.correlationId });
      }
      await recordRefusals(tx, name, stream, refusals);
      if (decoded.length) await this.options.apply(tx, decoded);
      await saveConsumerCursor(tx, name, stream, fresh.at(-1)!.cursor);
      return { applied: decoded.length, refusals };
    });
    this.logRefusals(refusals);
    if (applied > 0) this.options.onCommitted?.();
  }

  /**
   * Applies one event in a transaction of its own, trying it up to maxAttempts times; an event
   * that still fails while the database answers is refused, so that the stream goes on. Throws
   * when the database does not answer: the bus hands the events over again later.
   */
  private async applyAlone(event: BusEvent, firstError?: unknown): Promise<void> {
    let lastError = firstError;
    for (let attempt = firstError === undefined ? 1 : 2; attempt <= this.maxAttempts; attempt += 1) {
      if (attempt > 1) await this.pause(FIRST_RETRY_MS * 2 ** (attempt - 2));
      try {
        return await this.applyInOneTransaction([event]);
      } catch (error) {
        lastError = error;
      }
    }
    // Stopping, or the database away: not the event's fault. The bus hands it over again.
    if (this.stopping.signal.aborted) throw lastError;
    await this.prisma.$queryRaw`SELECT 1`;
    const { name, stream } = this.options;
    const reason = `applying it failed ${this.maxAttempts} times: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
    const refusal: Refusal = { cursor: event.cursor, type: event.type, payload: event.payload, reason, correlationId: event.correlationId };
    const refused = await this.prisma.$transaction(async (tx) => {
      if (compareCursors(event.cursor, await lockConsumerCursor(tx, name, stream)) <= 0) return false;
      await recordRefusals(tx, name, stream, [refusal]);
      await saveConsumerCursor(tx, name, stream, event.cursor);
      return true;
    });
    if (refused) this.logRefusals([refusal]);
  }

  /** Waits `ms`, or less once stop() is called. */
  private pause(ms: number): Promise<void> {
    return delay(ms, undefined, { signal: this.stopping.signal }).catch(() => {});
  }

  private logRefusals(refusals: readonly Refusal[]): void {
    const { name, stream, logger } = this.options;
    for (const { cursor, type, reason, correlationId } of refusals) logger.error({ consumer: name, stream, cursor, type, reason, correlationId: correlationId ?? undefined }, 'refused an event (kept in refused_event)');
  }
}
