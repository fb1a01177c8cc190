import { EventEmitter } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import {
  parseCursor,
  payloadText,
  StreamCursorError,
  type BusEvent,
  type EventBus,
  type EventHandler,
  type EventSubscription,
  type OutgoingEvent,
  type SubscribeOptions,
  MAX_BATCH,
  RETRY_PAUSE_MS,
} from './eventBus.ts';

/** A stream's retained events: `events[0]` is the stream's event number `trimmed + 1`. */
interface StreamLog {
  events: BusEvent[];
  trimmed: number;
}

/**
 * The embedded bus: streams kept in memory, so every service must share this process. Cursors
 * look like Redis stream ids, `<epoch>-<n>`: the bus's start time in milliseconds, then the
 * event's number in its stream. A bus started later numbers from 1 again, under a later epoch,
 * so that a cursor kept from before a restart is never taken for a place in the new streams:
 * reading after it is CURSOR_EXPIRED (its events died with the process), and a subscription
 * after it gets every event of the new run. Like Redis, a stream keeps about its newest
 * `maxStreamLength` events.
 */
export class InProcessEventBus implements EventBus {
  private readonly streams = new Map<string, StreamLog>();
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly subscriptions = new Set<EventSubscription>();
  private readonly epoch: bigint;

  constructor(
    private readonly maxStreamLength = 100_000,
    epochMs = Date.now(),
  ) {
    this.epoch = BigInt(epochMs);
  }

  async publish(stream: string, event: OutgoingEvent): Promise<string> {
    return (await this.publishMany(stream, [event]))[0]!;
  }

  async publishMany(stream: string, events: readonly OutgoingEvent[]): Promise<string[]> {
    const log = this.log(stream);
    const cursors = events.map((event) => {
      const cursor = `${this.epoch}-${log.trimmed + log.events.length + 1}`;
      // A copy through JSON, as Redis would carry it: no consumer shares the publisher's objects.
      log.events.push({ stream, cursor, type: event.type, id: event.id ?? null, correlationId: event.correlationId ?? null, payload: JSON.parse(payloadText(event)) });
      return cursor;
    });
    // Trim in steps of a tenth, as Redis's approximate MAXLEN does, rather than on every append.
    const excess = log.events.length - this.maxStreamLength;
    if (excess > this.maxStreamLength / 10) {
      log.events.splice(0, excess);
      log.trimmed += excess;
    }
    this.appended.emit(stream);
    return cursors;
  }

  async subscribe(stream: string, handler: EventHandler, options: SubscribeOptions = {}): Promise<EventSubscription> {
    const log = this.log(stream);
    let delivered = options.after === undefined ? log.trimmed + log.events.length : this.eventNumber(options.after, 0);
    let draining = false;
    let closed = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      while (!closed && delivered < log.trimmed + log.events.length) {
        const start = Math.max(delivered - log.trimmed, 0);
        const batch = log.events.slice(start, start + MAX_BATCH);
        try {
          await handler(batch);
          delivered = this.eventNumber(batch[batch.length - 1]!.cursor, 0);
        } catch (error) {
          options.onError?.(error);
          await setTimeout(RETRY_PAUSE_MS);
        }
      }
      draining = false;
    };
    const onAppend = () => void drain();
    this.appended.on(stream, onAppend);
    void drain();
    const subscription: EventSubscription = {
      close: async () => {
        closed = true;
        this.appended.off(stream, onAppend);
        this.subscriptions.delete(subscription);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async read(stream: string, after: string, limit: number): Promise<BusEvent[]> {
    const log = this.log(stream);
    const number = this.eventNumber(after, 'refused');
    if (number < log.trimmed) throw new StreamCursorError('expired', after);
    if (number > log.trimmed + log.events.length) throw new StreamCursorError('unknown', after);
    const start = number - log.trimmed;
    return log.events.slice(start, start + limit);
  }

  async readEndingAt(stream: string, through: string | null, limit: number): Promise<BusEvent[]> {
    const log = this.log(stream);
    const end = through === null ? log.events.length : Math.min(Math.max(this.eventNumber(through, 0) - log.trimmed, 0), log.events.length);
    return log.events.slice(Math.max(end - limit, 0), end);
  }

  /** The bus lives as long as this process: its epoch never changes. */
  async storeEpoch(): Promise<string> {
    return String(this.epoch);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  /**
   * The event number in one of this bus's cursors; for a cursor of an earlier run, `earlier`: the
   * number to take it as (0: before every event of this run), or 'refused' to refuse it.
   */
  private eventNumber(cursor: string, earlier: number | 'refused'): number {
    const [epoch, number] = parseCursor(cursor);
    // `0-0`, before a stream's first event, is before this run's first event too.
    if (epoch === 0n && number === 0n) return 0;
    if (epoch < this.epoch) {
      if (earlier === 'refused') throw new StreamCursorError('restarted', cursor);
      return earlier;
    }
    if (epoch > this.epoch || number > BigInt(Number.MAX_SAFE_INTEGER)) throw new StreamCursorError('unknown', cursor);
    return Number(number);
  }

  private log(stream: string): StreamLog {
    let log = this.streams.get(stream);
    if (!log) this.streams.set(stream, (log = { events: [], trimmed: 0 }));
    return log;
  }
}
