/** How long a subscription waits after a failed read or handler before trying again. */
export const RETRY_PAUSE_MS = 500;
/** The most events a subscription's handler gets at once: as many as one Redis read hands over. */
export const MAX_BATCH = 1_000;
/**
 * The most events a publisher (an outbox relay) sends in one batch. A batch published again
 * after a crash, before it was marked published, lands right after its first copies (one
 * publisher per stream), so a repeat is never further than this from what it repeats.
 */
export const MAX_PUBLISH_BATCH = 1_000;

/**
 * A durable, ordered log of events per stream, read from a cursor: Redis Streams in
 * production, an in-process log when embedded. Events are named `<area>.<entity>.<pastTense>`.
 * A stream keeps its newest events only (a retention window); reading from a cursor older than
 * that fails with a StreamCursorError rather than skipping what was trimmed.
 */
export interface EventBus {
  /** Appends an event and returns its cursor, which orders it within the stream. */
  publish(stream: string, event: OutgoingEvent): Promise<string>;
  /** Appends events in the order given, in one round trip; returns their cursors. */
  publishMany(stream: string, events: readonly OutgoingEvent[]): Promise<string[]>;
  /**
   * Delivers every event after the cursor `after`, or when it is omitted every event published
   * once the returned promise has resolved; in stream order, in batches of what is available
   * (the next batch once `handler` settles), so that a consumer can do its work per batch. A
   * handler that throws, or a bus that cannot be read, gets the same events again after a pause.
   */
  subscribe(stream: string, handler: EventHandler, options?: SubscribeOptions): Promise<EventSubscription>;
  /** Up to `limit` events after the cursor `after`, oldest first; none when it is the newest. */
  read(stream: string, after: string, limit: number): Promise<BusEvent[]>;
  /**
   * Up to `limit` events ending with the one at the cursor `through` (with the newest when null),
   * oldest first: what a consumer that got as far as there may have seen. Fewer, without an
   * error, where the stream retains fewer.
   */
  readEndingAt(stream: string, through: string | null, limit: number): Promise<BusEvent[]>;
  /**
   * Names the life of the store that holds the streams: it changes when the store restarted
   * (Redis's run_id), after which entries it acknowledged may be gone (a Redis without
   * persistence loses them all). The outbox relays publish their latest records again then.
   */
  storeEpoch(): Promise<string>;
  close(): Promise<void>;
}

/**
 * An event to publish: its type, the producer's id for it (its outbox record), the correlation id
 * of the request or event that caused it, and its payload:
 * a value carried as JSON, or `payloadJson`, JSON text sent as it is (an outbox record's, which
 * a relay need not parse only to serialize again).
 */
export type OutgoingEvent = { readonly type: string; readonly id?: string; readonly correlationId?: string } & ({ readonly payload: unknown } | { readonly payloadJson: string });

/** The event's payload as the JSON text the bus carries. */
export function payloadText(event: OutgoingEvent): string {
  return 'payloadJson' in event ? event.payloadJson : JSON.stringify(event.payload);
}

export interface BusEvent {
  readonly stream: string;
  readonly cursor: string;
  readonly type: string;
  /** The producer's id for the event, when it gave one. */
  readonly id: string | null;
  /** The correlation id of the request or event that caused it, when the producer knew one. */
  readonly correlationId: string | null;
  /** The payload as published; the raw text when it was not JSON (a contract check refuses it). */
  readonly payload: unknown;
}

export type EventHandler = (events: readonly BusEvent[]) => void | Promise<void>;

export interface SubscribeOptions {
  readonly after?: string;
  /** Told of each failed read or handler before the retry. */
  readonly onError?: (error: unknown) => void;
}

export interface EventSubscription {
  close(): Promise<void>;
}

/** A cursor that cannot be read from: not a cursor, trimmed away, or from another stream. */
export class StreamCursorError extends Error {
  constructor(
    /** `restarted`: issued by an embedded (in-process) bus of an earlier run, whose events are gone. */
    readonly reason: 'malformed' | 'expired' | 'restarted' | 'unknown',
    readonly cursor: string,
  ) {
    super(
      reason === 'malformed'
        ? `"${cursor}" is not a stream cursor (expected "<milliseconds>-<sequence>")`
        : reason === 'expired'
          ? `Cursor ${cursor} is older than the stream retains: events after it were trimmed`
          : reason === 'restarted'
            ? `Cursor ${cursor} is from before the embedded event bus restarted: the events after it are gone`
            : `Cursor ${cursor} is ahead of the stream: it was not issued by this deployment`,
    );
    this.name = 'StreamCursorError';
  }
}

const CURSOR = /^(\d{1,20})-(\d{1,20})$/;

/** Parses a cursor (`<milliseconds>-<sequence>`, as Redis stream ids are). */
export function parseCursor(cursor: string): readonly [bigint, bigint] {
  const [time, sequence] = cursorDigits(cursor);
  return [BigInt(time), BigInt(sequence)];
}

/** Negative when `a` comes before `b` in a stream, positive after, 0 for the same position. */
export function compareCursors(a: string, b: string): number {
  if (a === b) return 0;
  // Called per delivery per subscriber: plain numbers suffice until a part outgrows 2^53.
  const [aTime, aSequence] = cursorDigits(a).map(Number) as [number, number];
  const [bTime, bSequence] = cursorDigits(b).map(Number) as [number, number];
  if (Number.isSafeInteger(aTime + aSequence + bTime + bSequence)) return aTime - bTime || aSequence - bSequence;
  const [aExactTime, aExactSequence] = parseCursor(a);
  const [bExactTime, bExactSequence] = parseCursor(b);
  if (aExactTime !== bExactTime) return aExactTime < bExactTime ? -1 : 1;
  return aExactSequence === bExactSequence ? 0 : aExactSequence < bExactSequence ? -1 : 1;
}

/** A cursor's time and sequence digits; throws StreamCursorError for anything else. */
function cursorDigits(cursor: string): readonly [string, string] {
  const match = CURSOR.exec(cursor);
  if (!match) throw new StreamCursorError('malformed', cursor);
  return [match[1]!, match[2]!];
}
