/**
 * A durable, ordered log of events per stream, read from a cursor: Redis Streams in
 * production, an in-process log when embedded. Events are named `<area>.<entity>.<pastTense>`.
 */
export interface EventBus {
  /** Appends an event and returns its cursor, which orders it within the stream. */
  publish(stream: string, type: string, payload: unknown): Promise<string>;
  /** Appends events in the order given, in one round trip; returns their cursors. */
  publishMany(stream: string, events: readonly { type: string; payload: unknown }[]): Promise<string[]>;
  /**
   * Delivers every event after the cursor `after`, or when it is omitted every event published
   * once the returned promise has resolved; in stream order, one at a time (the next once
   * `handler` settles).
   */
  subscribe(stream: string, handler: EventHandler, options?: { after?: string }): Promise<EventSubscription>;
  close(): Promise<void>;
}

export interface BusEvent {
  readonly stream: string;
  readonly cursor: string;
  readonly type: string;
  readonly payload: unknown;
}

export type EventHandler = (event: BusEvent) => void | Promise<void>;

export interface EventSubscription {
  close(): Promise<void>;
}
