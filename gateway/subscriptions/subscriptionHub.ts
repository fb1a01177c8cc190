import { setTimeout } from 'node:timers/promises';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { decodeEvent, type DecodedEvent } from '../../platform/events/decodedEvent.ts';
import { compareCursors, StreamCursorError, type BusEvent, type EventBus, type EventSubscription } from '../../platform/events/eventBus.ts';
import { REPEAT_WINDOW, RepeatFilter } from '../../platform/events/repeatFilter.ts';
import type { LocationGrant } from '../../platform/lang/locationGrant.ts';
import type { Logger } from '../../platform/logger.ts';
import { SubscriptionLife } from './subscriptionLife.ts';
import { EVENT_IDS_VARIABLE, LOOKUP_RESPONSE_KEY, type EventLookup, type SubscriptionPlan } from './subscriptionPlan.ts';

/**
 * Runs a lookup query through the supergraph, as the gateway runs any query, as the gateway itself
 * granted `locations` (the subscribers'; null for every location).
 */
export type ExecuteLookup = (query: string, variables: Readonly<Record<string, unknown>>, locations: LocationGrant) => Promise<FormattedExecutionResult>;

export interface SubscriptionHubOptions {
  readonly bus: EventBus;
  readonly executeLookup: ExecuteLookup;
  readonly logger: Logger;
  /** Live events a catching-up subscriber may have waiting before it counts as a slow consumer. */
  readonly maxBufferedEvents: number;
  /** How long a lookup is retried while a subgraph is unavailable before its subscribers are ended. */
  readonly lookupRetryMs: number;
}

/** The stable codes of the errors that refuse or end a subscription. */
export const SubscriptionErrorCode = {
  BAD_CURSOR: 'BAD_CURSOR',
  CURSOR_EXPIRED: 'CURSOR_EXPIRED',
  SUBSCRIPTION_LIMIT: 'SUBSCRIPTION_LIMIT',
  UPSTREAM_UNAVAILABLE: 'UPSTREAM_UNAVAILABLE',
} as const;

// Events read per page while a resumed subscriber catches up.
const CATCH_UP_PAGE = 500;

/**
 * Fans the event streams out to this gateway's subscribers: one bus subscription per stream
 * serves them all. Each batch of events that arrives together is resolved once per distinct
 * lookup (subscribers selecting the same fields share it), through the supergraph, so that the
 * entity fetches of the batch's events are batched too. Per subscriber, events arrive in stream
 * order, once: a resumed subscriber first catches up from its cursor while live events wait for
 * it, and nothing at or before the last cursor it received is delivered again. Every event is
 * checked against its contract (one that breaks it is logged and skipped), and a repeat of an
 * event, by (key, sequence), is dropped: what a relay publishes again after a crash never
 * reaches a subscriber, live or resumed. A result carries in `extensions.correlationId` the
 * correlation id of the request (or event) that caused its event, when it had one.
 */
export class SubscriptionHub {
  private readonly readers = new Map<string, StreamReader>();

  constructor(private readonly options: SubscriptionHubOptions) {}

  /**
   * Starts a subscription: its results go to `sink`, serialized once for all the subscribers
   * they are the same for. The returned iterator is the subscription's life: it yields nothing,
   * ends when the consumer returns it, fails with a GraphQLError (codes above) when the
   * subscription cannot go on, and ends with `onSlowConsumer` when the sink falls too far behind.
   */
  async subscribe(plan: SubscriptionPlan, sink: SubscriptionSink, onSlowConsumer: () => void): Promise<AsyncIterableIterator<never>> {
    const reader = this.readerFor(plan.feed.stream);
    await reader.started;
    const subscriber: Subscriber = new Subscriber(
      plan,
      sink,
      new SubscriptionLife(onSlowConsumer, () => reader.subscribers.delete(subscriber)),
      this.options.maxBufferedEvents,
    );
    reader.subscribers.add(subscriber);
    if (plan.after !== undefined) {
      void this.catchUp(subscriber, plan.after).catch((error: unknown) => subscriber.life.fail(subscriptionError(error)));
    }
    return subscriber.life;
  }

  /** How many subscribers this gateway serves now. */
  get subscriberCount(): number {
    return [...this.readers.values()].reduce((count, reader) => count + reader.subscribers.size, 0);
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(readers.map(async (reader) => (await reader.started).close()));
    for (const reader of readers) for (const subscriber of reader.subscribers) void subscriber.life.return();
  }

  private readerFor(stream: string): StreamReader {
    let reader = this.readers.get(stream);
    if (!reader) {
      const subscribers = new Set<Subscriber>();
      const repeats = new RepeatFilter();
      const started = (async () => {
        // The stream's latest events are remembered, so that a repeat of one arriving live is
        // dropped; the reader carries on right after them.
        const recent = await this.options.bus.readEndingAt(stream, null, REPEAT_WINDOW);
        for (const event of this.decode(recent, { quiet: true })) repeats.admit(event);
        return this.options.bus.subscribe(stream, (events) => this.dispatch(subscribers, this.decode(events).filter((event) => repeats.admit(event))), {
          ...(recent.length > 0 && { after: recent.at(-1)!.cursor }),
          onError: (error) => this.options.logger.error({ err: error, stream }, 'reading the stream failed; retrying'),
        });
      })();
      // A reader that failed to start is forgotten, so that the next subscription tries again.
      started.catch(() => this.readers.get(stream) === reader && this.readers.delete(stream));
      this.readers.set(stream, (reader = { subscribers, started }));
    }
    return reader;
  }

  /** The events that meet their contracts; the others are logged (unless `quiet`) and skipped. */
  private decode(events: readonly BusEvent[], { quiet = false } = {}): DecodedEvent[] {
    const decoded: DecodedEvent[] = [];
    for (const event of events) {
      const decoding = decodeEvent(event);
      if (decoding.ok) decoded.push(decoding.event);
      else if (!quiet) this.options.logger.error({ stream: event.stream, cursor: event.cursor, type: event.type, reason: decoding.reason }, 'skipped an event that breaks its contract');
    }
    return decoded;
  }

  /** Delivers a batch of live events to the subscribers that asked for them. */
  private async dispatch(subscribers: ReadonlySet<Subscriber>, events: readonly DecodedEvent[]): Promise<void> {
    if (events.length === 0) return;
    // Subscribers whose lookups are the same share one lookup per batch (their plans differ only in filters).
    const groups = new Map<string, { plan: SubscriptionPlan; events: Set<DecodedEvent>; members: [Subscriber, DecodedEvent[]][] }>();
    for (const subscriber of subscribers) {
      const wanted = events.filter((event) => subscriber.wants(event));
      if (wanted.length === 0) continue;
      const { key } = subscriber.plan.lookup;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { plan: subscriber.plan, events: new Set(), members: [] }));
      for (const event of wanted) group.events.add(event);
      group.members.push([subscriber, wanted]);
    }
    await Promise.all(
      [...groups.values()].map(async (group) => {
        // Set order is insertion order, not stream order, when members wanted different events.
        const batch = events.filter((event) => group.events.has(event));
        const resolved = await this.resolve(group.plan, batch).catch((error: unknown) => {
          for (const [subscriber] of group.members) subscriber.life.fail(subscriptionError(error, subscriber.lastCursor));
          return null;
        });
        if (!resolved) return;
        for (const [subscriber, wanted] of group.members) {
          for (const event of wanted) subscriber.offer(event, resolved.get(event));
        }
      }),
    );
  }

  /**
   * Delivers what a resumed subscriber missed after `after`, then lets its live events through.
   * The events up to `after` are remembered first, so that a repeat of one after it is dropped.
   */
  private async catchUp(subscriber: Subscriber, after: string): Promise<void> {
    const { stream } = subscriber.plan.feed;
    const repeats = new RepeatFilter();
    for (const event of this.decode(await this.options.bus.readEndingAt(stream, after, REPEAT_WINDOW), { quiet: true })) repeats.admit(event);
    let cursor = after;
    for (;;) {
      const page = await this.options.bus.read(stream, cursor, CATCH_UP_PAGE);
      const wanted = this.decode(page, { quiet: true }).filter((event) => repeats.admit(event) && subscriber.wants(event));
      const resolved = wanted.length > 0 ? await this.resolve(subscriber.plan, wanted) : new Map();
      for (const event of wanted) subscriber.deliver(event.cursor, resolved.get(event));
      if (page.length < CATCH_UP_PAGE) break;
      cursor = page[page.length - 1]!.cursor;
    }
    subscriber.goLive(repeats);
  }

  /**
   * The lookup's answer for each event (undefined for one whose object no longer exists).
   * Retries while the answer has no data at all (a subgraph restarting, the supergraph
   * reloading), up to `lookupRetryMs`.
   */
  private async resolve(plan: SubscriptionPlan, events: readonly DecodedEvent[]): Promise<Map<DecodedEvent, ResolvedEvent>> {
    const variables = { ...plan.lookup.variables, [EVENT_IDS_VARIABLE]: events.map((event) => plan.feed.idOf(event)) };
    const deadline = Date.now() + this.options.lookupRetryMs;
    for (let pause = 50; ; pause = Math.min(pause * 2, 1_000)) {
      const result = await this.options.executeLookup(plan.lookup.query, variables, plan.lookup.locations).catch(
        (error: unknown): FormattedExecutionResult => ({ errors: [{ message: error instanceof Error ? error.message : String(error) }] }),
      );
      const objects = result.data?.[LOOKUP_RESPONSE_KEY];
      if (Array.isArray(objects)) return resolvedEvents(plan.lookup, events, objects, result.errors ?? []);
      if (Date.now() >= deadline) {
        throw new GraphQLError(`Could not resolve the subscription's selection: ${result.errors?.map((error) => error.message).join('; ')}`, {
          extensions: { code: SubscriptionErrorCode.UPSTREAM_UNAVAILABLE },
        });
      }
      this.options.logger.warn({ errors: result.errors }, 'subscription lookup failed; retrying');
      await setTimeout(pause);
    }
  }
}

/** This gateway's one reader of a stream, and the subscribers it feeds. */
interface StreamReader {
  readonly subscribers: Set<Subscriber>;
  readonly started: Promise<EventSubscription>;
}

/** Where a subscriber's results go: its socket. */
export interface SubscriptionSink {
  /** Sends one result (as JSON); false when the consumer has too many unsent to take more. */
  send(resultJson: string): boolean;
}

/** One subscription's place in the stream: what it wants, and the last cursor it received. */
class Subscriber {
  lastCursor: string | undefined;
  /** Live events that arrived while the subscriber catches up; null once it is live. */
  private pendingLive: [event: DecodedEvent, resolved: ResolvedEvent | undefined][] | null;

  constructor(
    readonly plan: SubscriptionPlan,
    private readonly sink: SubscriptionSink,
    readonly life: SubscriptionLife,
    /** Live events held while catching up, at most. */
    private readonly maxPendingLive: number,
  ) {
    this.lastCursor = plan.after;
    this.pendingLive = plan.after === undefined ? null : [];
  }

  wants(event: DecodedEvent): boolean {
    return this.plan.feed.contracts.some((contract) => contract.type === event.type) && this.plan.filter(event.payload);
  }

  /** A live event: delivered now, or after the catch-up. */
  offer(event: DecodedEvent, resolved: ResolvedEvent | undefined): void {
    if (!this.pendingLive) return this.deliver(event.cursor, resolved);
    // Bounded like the socket's unsent results: a catch-up that never ends must not grow memory.
    if (this.pendingLive.length >= this.maxPendingLive) return this.life.overflow();
    this.pendingLive.push([event, resolved]);
  }

  deliver(cursor: string, event: ResolvedEvent | undefined): void {
    if (this.lastCursor !== undefined && compareCursors(cursor, this.lastCursor) <= 0) return;
    this.lastCursor = cursor;
    if (!event) return;
    if (this.life.ended) return;
    if (!this.sink.send(event.resultJsonFor(this.plan.responseKey))) this.life.overflow();
  }

  /** Delivers the live events that waited, but for repeats of what the catch-up delivered (`repeats` saw it). */
  goLive(repeats: RepeatFilter): void {
    const pending = this.pendingLive ?? [];
    this.pendingLive = null;
    for (const [event, resolved] of pending) if (repeats.admit(event)) this.deliver(event.cursor, resolved);
  }
}

/**
 * One event's answer from its lookup, with its errors re-rooted at its object. Shaped and
 * serialized once per response key (the root field's alias), then sent to every subscriber.
 */
class ResolvedEvent {
  private readonly results = new Map<string, string>();

  constructor(
    private readonly cursor: string,
    /** The correlation id of what caused the event: sent as the result's `extensions.correlationId`. */
    private readonly correlationId: string | null,
    private readonly object: Record<string, unknown> | null,
    private readonly errors: readonly GraphQLFormattedError[],
    private readonly cursorKeys: readonly string[],
  ) {}

  resultJsonFor(responseKey: string): string {
    let json = this.results.get(responseKey);
    if (json === undefined) {
      const errors = this.errors.map((error) => ({ ...error, path: [responseKey, ...(error.path ?? [])] }));
      let result: FormattedExecutionResult;
      if (this.object) {
        const object = { ...this.object };
        for (const key of this.cursorKeys) if (key in object) object[key] = this.cursor;
        result = { data: { [responseKey]: object }, ...(errors.length > 0 && { errors }) };
      } else {
        result = { data: null, errors };
      }
      if (this.correlationId !== null) result = { ...result, extensions: { correlationId: this.correlationId } };
      this.results.set(responseKey, (json = JSON.stringify(result)));
    }
    return json;
  }
}

/** Splits a lookup's answer per event. */
function resolvedEvents(
  lookup: EventLookup,
  events: readonly DecodedEvent[],
  objects: readonly unknown[],
  errors: readonly GraphQLFormattedError[],
): Map<DecodedEvent, ResolvedEvent> {
  const resolved = new Map<DecodedEvent, ResolvedEvent>();
  events.forEach((event, index) => {
    const object = (objects[index] as Record<string, unknown> | null) ?? null;
    const ownErrors = errors
      .filter((error) => error.path?.[0] === LOOKUP_RESPONSE_KEY && error.path[1] === index)
      .map((error) => ({ ...error, path: error.path!.slice(2) }));
    // Null without an error: the event's object is not (or no longer) recorded; nothing to deliver.
    if (object || ownErrors.length > 0) resolved.set(event, new ResolvedEvent(event.cursor, event.correlationId, object, ownErrors, lookup.cursorKeys));
  });
  return resolved;
}

/** The error that ends a subscription, with a stable code and, where it helps, how to resume. */
function subscriptionError(error: unknown, lastCursor?: string): GraphQLError {
  if (error instanceof StreamCursorError) {
    const expired = error.reason === 'expired' || error.reason === 'restarted';
    const code = expired ? SubscriptionErrorCode.CURSOR_EXPIRED : SubscriptionErrorCode.BAD_CURSOR;
    const advice = expired ? ': query the current state (stock, orders), then subscribe without `after`' : '';
    return new GraphQLError(`${error.message}${advice}`, { extensions: { code } });
  }
  if (error instanceof GraphQLError) {
    if (lastCursor === undefined) return error;
    return new GraphQLError(`${error.message}. Subscribe again with after: "${lastCursor}" to miss nothing`, {
      extensions: { ...error.extensions, lastCursor },
    });
  }
  return new GraphQLError(error instanceof Error ? error.message : String(error), { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
