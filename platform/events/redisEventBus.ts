import { setTimeout } from 'node:timers/promises';
import { prefixedKey, type Redis } from '../redis.ts';
import {
  compareCursors, MAX_BATCH, parseCursor, payloadText, RETRY_PAUSE_MS, StreamCursorError,
  type BusEvent, type EventBus, type EventHandler, type EventSubscription, type OutgoingEvent, type SubscribeOptions,
} from './eventBus.ts';

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

  /** The run_id of the Redis server the connection last reached, asked again at every (re)connection. */
  private runId: Promise<string>;

  constructor(
    private readonly redis: Redis,
    { maxStreamLength = 1_000_000, blockMs = 5_000 }: RedisEventBusOptions = {},
  ) {
    this.maxStreamLength = maxStreamLength;
    this.blockMs = blockMs;
    this.runId = this.askRunId();
    redis.on('ready', () => (this.runId = this.askRunId()));
  }

  /** Redis's run_id: a new one for every start of the server, persistent or not. */
  async storeEpoch(): Promise<string> {
    return this.runId;
  }

  private askRunId(): Promise<string> {
    const asked = this.redis.info('server').then((info) => /^run_id:(\w+)/m.exec(info)?.[1] ?? 'unknown');
    // A failed ask (Redis away) is asked again on the next connection; until then it says so.
    return asked.catch(() => 'unreachable');
  }

  async publish(stream: string, event: OutgoingEvent): Promise<string> {
    return (await this.publishMany(stream, [event]))[0]!;
  }

  async publishMany(stream: string, events: readonly OutgoingEvent[]): Promise<string[]> {
    // In one MULTI, not a plain pipeline: Redis serves a reader blocked on the stream after each
    // command it applies, so a pipeline woke it with the batch's first entry alone, and a fan-out
    // paid for a batch of one before the rest.
    const pipeline = this.redis.multi();
    for (const event of events) {
      const { type, id, correlationId } = event;
      const fields = ['type', type];
      if (id !== undefined) fields.push('id', id);
      if (correlationId !== undefined) fields.push('correlationId', correlationId);
      fields.push('payload', payloadText(event));
      pipeline.xadd(stream, 'MAXLEN', '~', this.maxStreamLength, '*', ...fields);
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, cursor]) => {
      if (error) throw error;
      return cursor as string;
    });
  }

  async subscribe(stream: string, handler: EventHandler, options: SubscribeOptions = {}): Promise<EventSubscription> {
    // Start from the newest entry now rather than XREAD's '$', which would miss whatever is
    // published before the first blocking read reaches Redis.
    let cursor = options.after ?? (await this.redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    const reader = this.redis.duplicate();
    let closed = false;
    const loop = async () => {
      while (!closed) {
        try {
          const batches = await reader.xread('COUNT', MAX_BATCH, 'BLOCK', this.blockMs, 'STREAMS', stream, cursor);
          for (const [, entries] of batches ?? []) {
            if (closed) return;
            await handler(entries.map(([id, fields]) => toEvent(stream, id, fields)));
            cursor = entries[entries.length - 1]![0];
          }
        } catch (error) {
          if (closed) return;
          // Redis away or the handler failed: read the same events again after a pause.
          options.onError?.(error);
          await setTimeout(RETRY_PAUSE_MS);
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

  async read(stream: string, after: string, limit: number): Promise<BusEvent[]> {
    parseCursor(after);
    // One MULTI, so that the retention checked is the one the range was read under.
    const [[, info], [rangeError, entries]] = (await this.redis
      .multi()
      .xinfo('STREAM', prefixedKey(this.redis, stream))
      .xrange(stream, `(${after}`, '+', 'COUNT', limit)
      .exec())! as [[Error | null, unknown[] | undefined], [Error | null, [string, string[]][]]];
    if (rangeError) throw rangeError;
    // No stream yet (XINFO failed): nothing was ever published, nothing trimmed.
    const field = (name: string) => (info ? String(info[info.indexOf(name) + 1]) : '0');
    const trimmed = Number(field('entries-added')) > Number(field('length'));
    // Redis does not say which ids were trimmed, only the oldest it keeps (or, once it keeps none,
    // the newest it made): a cursor before that is refused, also the one right before it, which
    // loses nothing (safe rather than exact).
    const oldestKept = Number(field('length')) > 0 ? field('recorded-first-entry-id') : field('last-generated-id');
    if (trimmed && compareCursors(after, oldestKept) < 0) throw new StreamCursorError('expired', after);
    if (info && compareCursors(after, field('last-generated-id')) > 0) throw new StreamCursorError('unknown', after);
    if (!info && after !== '0-0') throw new StreamCursorError('unknown', after);
    return entries.map(([id, fields]) => toEvent(stream, id, fields));
  }

  async readEndingAt(stream: string, through: string | null, limit: number): Promise<BusEvent[]> {
    if (through !== null) parseCursor(through);
    const entries = await this.redis.xrevrange(stream, through ?? '+', '-', 'COUNT', limit);
    return entries.reverse().map(([id, fields]) => toEvent(stream, id, fields));
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }
}

function toEvent(stream: string, cursor: string, fields: string[]): BusEvent {
  const field = (name: string): string | null => {
    for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1]!;
    return null;
  };
  const text = field('payload') ?? '';
  let payload: unknown = text;
  try {
    payload = JSON.parse(text);
  } catch {
    // Left as text: an entry written by hand must not stop the stream; its consumer refuses it.
  }
  return { stream, cursor, type: field('type') ?? '', id: field('id'), correlationId: field('correlationId'), payload };
}
