import { Redis } from 'ioredis';
import type { BusEvent, EventBus, EventHandler, EventSubscription } from './eventBus.ts';

export interface RedisEventBusOptions {
  /** Approximate number of events each stream keeps; older ones are trimmed. */
  maxStreamLength?: number;
  /** How long one blocking read waits before looking again, in milliseconds. */
  blockMs?: number;
}

/**
 * The production bus on Redis Streams. Publishing shares one connection; each subscription
 * reads on a connection of its own, because a blocking XREAD holds its connection.
 */
export class RedisEventBus implements EventBus {
  private readonly subscriptions = new Set<EventSubscription>();
  private readonly maxStreamLength: number;
  private readonly blockMs: number;

  constructor(
    private readonly redis: Redis,
    { maxStreamLength = 1_000_000, blockMs = 5_000 }: RedisEventBusOptions = {},
  ) {
    this.maxStreamLength = maxStreamLength;
    this.blockMs = blockMs;
  }

  async publish(stream: string, type: string, payload: unknown): Promise<string> {
    const cursor = await this.redis.xadd(
      stream, 'MAXLEN', '~', this.maxStreamLength, '*', 'type', type, 'payload', JSON.stringify(payload),
    );
    return cursor!;
  }

  async publishMany(stream: string, events: readonly { type: string; payload: unknown }[]): Promise<string[]> {
    const pipeline = this.redis.pipeline();
    for (const event of events) {
      pipeline.xadd(stream, 'MAXLEN', '~', this.maxStreamLength, '*', 'type', event.type, 'payload', JSON.stringify(event.payload));
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, cursor]) => {
      if (error) throw error;
      return cursor as string;
    });
  }

  async subscribe(stream: string, handler: EventHandler, options: { after?: string } = {}): Promise<EventSubscription> {
    // Start from the newest entry now rather than XREAD's '$', which would miss whatever is
    // published before the first blocking read reaches Redis.
    let cursor = options.after ?? (await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    const reader = this.redis.duplicate();
    let closed = false;
    const loop = async () => {
      while (!closed) {
        const batches = await reader.xread('COUNT', 500, 'BLOCK', this.blockMs, 'STREAMS', stream, cursor).catch((error: unknown) => {
          if (closed) return null;
          throw error;
        });
        for (const [, entries] of batches ?? []) {
          for (const [id, fields] of entries) {
            if (closed) return;
            await handler(toEvent(stream, id, fields));
            cursor = id;
          }
        }
      }
    };
    const done = loop();
    const subscription: EventSubscription = {
      close: async () => {
        closed = true;
        this.subscriptions.delete(subscription);
        reader.disconnect();
        await done.catch(() => {});
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }
}

function toEvent(stream: string, cursor: string, fields: string[]): BusEvent {
  const field = (name: string) => fields[fields.indexOf(name) + 1] ?? '';
  return { stream, cursor, type: field('type'), payload: JSON.parse(field('payload')) };
}
