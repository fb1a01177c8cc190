import { EventEmitter } from 'node:events';
import type { BusEvent, EventBus, EventHandler, EventSubscription } from './eventBus.ts';

/**
 * The embedded bus: streams kept in memory, so every service must share this process. Cursors
 * look like Redis stream ids (`<n>-0`) so that clients cannot tell the two apart.
 */
export class InProcessEventBus implements EventBus {
  private readonly streams = new Map<string, BusEvent[]>();
  private readonly appended = new EventEmitter().setMaxListeners(0);
  private readonly subscriptions = new Set<EventSubscription>();

  async publish(stream: string, type: string, payload: unknown): Promise<string> {
    const log = this.log(stream);
    const event: BusEvent = { stream, cursor: `${log.length + 1}-0`, type, payload };
    log.push(event);
    this.appended.emit(stream);
    return event.cursor;
  }

  async publishMany(stream: string, events: readonly { type: string; payload: unknown }[]): Promise<string[]> {
    const cursors: string[] = [];
    for (const event of events) cursors.push(await this.publish(stream, event.type, event.payload));
    return cursors;
  }

  async subscribe(stream: string, handler: EventHandler, options: { after?: string } = {}): Promise<EventSubscription> {
    const log = this.log(stream);
    let delivered = options.after === undefined ? log.length : sequenceOf(options.after);
    let draining = false;
    let closed = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      while (!closed && delivered < log.length) await handler(log[delivered++]!);
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

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  private log(stream: string): BusEvent[] {
    let log = this.streams.get(stream);
    if (!log) this.streams.set(stream, (log = []));
    return log;
  }
}

function sequenceOf(cursor: string): number {
  const sequence = Number(cursor.split('-')[0]);
  if (!Number.isSafeInteger(sequence) || sequence < 0) throw new TypeError(`Expected a cursor like "12-0", got "${cursor}"`);
  return sequence;
}
