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
 * look like Redis stream ids (`<n>-0`) so that clients cannot tell the two apart; like Redis,
 * a stream keeps about its newest `maxStreamLength` events.
 */
export class InProcessEventBus implements EventBus {
  private readonly streams = new Map<string, StreamLog>();
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly subscriptions = new Set<EventSubscription>();

  constructor(private readonly maxStreamLength = 100_000) {}

  async publish(stream: string, event: OutgoingEvent): Promise<string> {
    return (await this.publishMany(stream, [event]))[0]!;
  }

  async publishMany(stream: string, events: readonly OutgoingEvent[]): Promise<string[]> {
    const log = this.log(stream);
    const cursors = events.map((event) => {
      const cursor = `${log.trimmed + log.events.length + 1}-0`;
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
    let delivered = options.after === undefined ? log.trimmed + log.events.length : eventNumber(options.after);
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
          delivered = eventNumber(batch[batch.length - 1]!.cursor);
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
    const number = eventNumber(after);
    if (number < log.trimmed) throw new StreamCursorError('expired', after);
    if (number > log.trimmed + log.events.length) throw new StreamCursorError('unknown', after);
    const start = number - log.trimmed;
    return log.events.slice(start, start + limit);
  }

  async readEndingAt(stream: string, through: string | null, limit: number): Promise<BusEvent[]> {
    const log = this.log(stream);
    const end = through === null ? log.events.length : Math.min(Math.max(eventNumber(through) - log.trimmed, 0), log.events.length);
    return log.events.slice(Math.max(end - limit, 0), end);
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  private log(stream: string): StreamLog {
    let log = this.streams.get(stream);
    if (!log) this.streams.set(stream, (log = { events: [], trimmed: 0 }));
    return log;
  }
}

/** The event number in an in-process cursor (`<n>-0`). */
function eventNumber(cursor: string): number {
  const [number, sequence] = parseCursor(cursor);
  if (sequence !== 0n || number > BigInt(Number.MAX_SAFE_INTEGER)) throw new StreamCursorError('unknown', cursor);
  return Number(number);
}
