import { setTimeout } from 'node:timers/promises';
import { GraphQLError, type FormattedExecutionResult, type GraphQLFormattedError } from 'graphql';
import { decodeEvent, type DecodedEvent } from '../../platform/events/decodedEvent.ts';
import { compareCursors, StreamCursorError, type BusEvent, type EventBus, type EventSubscription } from '../../platform/events/eventBus.ts';
import { REPEAT_WINDOW, RepeatFilter } from '../../platform/events/repeatFilter.ts';
import type { LocationGrant } from '../../platform/lang/locationGrant.ts';
import type { Logger } from '../../platform/logger.ts';
import { SubscriptionLife } from './subscriptionLife.ts';
import type { SubscriptionFeed } from './subscriptionFeeds.ts';
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
// Live batches whose lookups may run at once: a batch read while the ones before it are still being
// looked up is looked up too, so that a burst read in several batches does not wait on each
// round trip through the supergraph in turn. Deliveries still go in stream order.
const LOOKUPS_IN_FLIGHT = 4;

/**
 * Fans the event streams out to this gateway's subscribers: one bus subscription per stream
 * serves them all. Subscribers are grouped twice. A lookup group holds those whose lookups are
 * the same (selection, its variables, the grant it runs with: EventLookup.key): each batch of
 * events that arrives together is resolved once per group, through the supergraph, so that the
 * entity fetches of the batch's events are batched too; the next few batches are looked up
 * meanwhile (LOOKUPS_IN_FLIGHT), and each is delivered after the one before it. Within a group, an audience holds those
 * that receive exactly the same results (the same field, arguments and response key): the batch
 * is filtered once per audience, each result serialized once, and every member is handed the same
 * results to send. Per subscriber, events arrive in stream order, once: a resumed subscriber
 * first catches up from its cursor while live events wait for it, and nothing at or before the
 * last cursor it received is delivered again. Every event is checked against its contract (one
 * that breaks it is logged and skipped), and a repeat of an event, by (key, sequence), is
 * dropped: what a relay publishes again after a crash never reaches a subscriber, live or
 * resumed. A result carries in `extensions.correlationId` the correlation id of the request (or
 * event) that caused its event, when it had one.
 */
export class SubscriptionHub {
  private readonly readers = new Map<string, StreamReader>();
  private subscribers = 0;

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
    const life = new SubscriptionLife(onSlowConsumer, () => {
      this.subscribers -= 1;
      leave();
    });
    const subscriber = new Subscriber(plan, sink, life, this.options.maxBufferedEvents);
    const leave = join(reader.groups, subscriber);
    this.subscribers += 1;
    if (plan.after !== undefined) {
      void this.catchUp(subscriber, plan.after).catch((error: unknown) => subscriber.life.fail(subscriptionError(error)));
    }
    return subscriber.life;
  }

  /** How many subscribers this gateway serves now. */
  get subscriberCount(): number {
    return this.subscribers;
  }

  async close(): Promise<void> {
    const readers = [...this.readers.values()];
    this.readers.clear();
    // The batches read before the stream's reader closed are still delivered (or fail) first.
    await Promise.all(
      readers.map(async (reader) => {
        await (await reader.started).close();
        await reader.pipeline.settled();
      }),
    );
    const subscribers = readers.flatMap((reader) => [...reader.groups.values()].flatMap((group) => [...group.audiences.values()].flatMap((audience) => [...audience.members])));
    for (const subscriber of subscribers) void subscriber.life.return();
  }

  private readerFor(stream: string): StreamReader {
    let reader = this.readers.get(stream);
    if (!reader) {
      const groups = new Map<string, LookupGroup>();
      const repeats = new RepeatFilter();
      const pipeline = new DispatchPipeline(LOOKUPS_IN_FLIGHT, (error) => this.options.logger.error({ err: error, stream }, 'delivering a batch failed'));
      const started = (async () => {
        // The stream's latest events are remembered, so that a repeat of one arriving live is
        // dropped; the reader carries on right after them.
        const recent = await this.options.bus.readEndingAt(stream, null, REPEAT_WINDOW);
        for (const event of this.decode(recent, { quiet: true })) repeats.admit(event);
        return this.options.bus.subscribe(stream, (events) => pipeline.add((delivered) => this.dispatch(groups, this.decode(events).filter((event) => repeats.admit(event)), delivered)), {
          ...(recent.length > 0 && { after: recent.at(-1)!.cursor }),
          onError: (error) => this.options.logger.error({ err: error, stream }, 'reading the stream failed; retrying'),
        });
      })();
      // A reader that failed to start is forgotten, so that the next subscription tries again.
      started.catch(() => this.readers.get(stream) === reader && this.readers.delete(stream));
      this.readers.set(stream, (reader = { groups, started, pipeline }));
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

  /**
   * Delivers a batch of live events to the subscribers that asked for them: one lookup per group,
   * started at once, its results delivered once `before` (the batch before's delivery) is done.
   */
  private async dispatch(groups: ReadonlyMap<string, LookupGroup>, events: readonly DecodedEvent[], before: Promise<void>): Promise<void> {
    if (events.length === 0) return before;
    await Promise.all([...groups.values()].map((group) => this.dispatchToGroup(group, events, before)));
  }

  private async dispatchToGroup(group: LookupGroup, events: readonly DecodedEvent[], before: Promise<void>): Promise<void> {
    const wantedBy = new Map<Audience, DecodedEvent[]>();
    for (const event of events) {
      for (const audience of audiencesThatMayWant(group, event)) {
        if (!wants(audience.plan, event)) continue;
        const wanted = wantedBy.get(audience);
        if (wanted) wanted.push(event);
        else wantedBy.set(audience, [event]);
      }
    }
    if (wantedBy.size === 0) return before;
    // The members are taken now: one who joins while the lookup runs missed the batch's reading.
    const deliveries = [...wantedBy].map(([audience, wanted]) => ({ audience, wanted, members: [...audience.members] }));
    const wantedByAny = new Set([...wantedBy.values()].flat());
    const resolving = this.resolve(group.plan, events.filter((event) => wantedByAny.has(event))).then(
      (resolved) => ({ resolved }),
      (error: unknown) => ({ error }),
    );
    await before;
    const answer = await resolving;
    if ('error' in answer) {
      for (const { members } of deliveries) for (const subscriber of members) subscriber.life.fail(subscriptionError(answer.error, subscriber.lastCursor));
      return;
    }
    const { resolved } = answer;
    for (const { audience, wanted, members } of deliveries) {
      const batch = new AudienceBatch(wanted, resolved, audience.plan.responseKey);
      for (const subscriber of members) subscriber.offer(batch);
    }
  }

  /**
   * Delivers what a resumed subscriber missed after `after`, then lets its live events through.
   * The events up to `after` are remembered first, so that a repeat of one after it is dropped.
   */
  private async catchUp(subscriber: Subscriber, after: string): Promise<void> {
    const { plan } = subscriber;
    const { stream } = plan.feed;
    const repeats = new RepeatFilter();
    for (const event of this.decode(await this.options.bus.readEndingAt(stream, after, REPEAT_WINDOW), { quiet: true })) repeats.admit(event);
    let cursor = after;
    for (;;) {
      const page = await this.options.bus.read(stream, cursor, CATCH_UP_PAGE);
      const wanted = this.decode(page, { quiet: true }).filter((event) => repeats.admit(event) && wants(plan, event));
      if (wanted.length > 0) subscriber.deliver(new AudienceBatch(wanted, await this.resolve(plan, wanted), plan.responseKey));
      if (page.length < CATCH_UP_PAGE) break;
      cursor = page[page.length - 1]!.cursor;
    }
    subscriber.goLive(repeats);
  }

  /**
   * The lookup's answer for each event (none for one whose object no longer exists).
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

/**
 * The dispatches of the batches a stream's reader hands over, one after another, up to `depth` at
 * once: each is handed the delivery of the batch before, to deliver its own after it. `add`
 * resolves once there is room for the next, so that the reader reads no further ahead than that.
 * A dispatch should not fail (a failed lookup ends its subscribers); one that does is reported to
 * `onError`, and the batches after it are delivered all the same.
 */
class DispatchPipeline {
  private readonly running: Promise<void>[] = [];
  private lastDelivered: Promise<void> = Promise.resolve();

  constructor(
    private readonly depth: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  async add(dispatch: (before: Promise<void>) => Promise<void>): Promise<void> {
    const delivered = (this.lastDelivered = dispatch(this.lastDelivered).catch(this.onError));
    this.running.push(delivered);
    // Deliveries finish in order, so the oldest is the next to make room.
    if (this.running.length >= this.depth) await this.running.shift();
  }

  /** Resolves once every batch added so far has been delivered. */
  settled(): Promise<void> {
    return this.lastDelivered;
  }
}

/** This gateway's one reader of a stream, and the subscribers it feeds, by lookup key. */
interface StreamReader {
  readonly groups: Map<string, LookupGroup>;
  readonly started: Promise<EventSubscription>;
  readonly pipeline: DispatchPipeline;
}

/** Subscribers whose lookups are the same (EventLookup.key): each batch is resolved once for them all, with the first one's plan. */
interface LookupGroup {
  readonly plan: SubscriptionPlan;
  /** By SubscriptionPlan.audienceKey. */
  readonly audiences: Map<string, Audience>;
  /** The audiences that may want events of any key. */
  readonly unrouted: Set<Audience>;
  /** The others, by their feed (SubscriptionFeed.routing), then by each key they name. */
  readonly routed: Map<SubscriptionFeed<unknown>, Map<string, Set<Audience>>>;
}

/** Subscribers of a lookup group that receive the same results (SubscriptionPlan.audienceKey): filtered with the first one's plan. */
interface Audience {
  readonly plan: SubscriptionPlan;
  readonly members: Set<Subscriber>;
}

/** Adds `subscriber` to its lookup group and audience, made as needed; returns what takes it out again (and them, once empty). */
function join(groups: Map<string, LookupGroup>, subscriber: Subscriber): () => void {
  const { plan } = subscriber;
  let group = groups.get(plan.lookup.key);
  if (!group) groups.set(plan.lookup.key, (group = { plan, audiences: new Map(), unrouted: new Set(), routed: new Map() }));
  let audience = group.audiences.get(plan.audienceKey);
  if (!audience) {
    group.audiences.set(plan.audienceKey, (audience = { plan, members: new Set() }));
    route(group, audience);
  }
  audience.members.add(subscriber);
  return () => {
    audience.members.delete(subscriber);
    if (audience.members.size > 0) return;
    group.audiences.delete(plan.audienceKey);
    unroute(group, audience);
    if (group.audiences.size === 0) groups.delete(plan.lookup.key);
  };
}

function route(group: LookupGroup, audience: Audience): void {
  const { feed, routingKeys } = audience.plan;
  if (!routingKeys) {
    group.unrouted.add(audience);
    return;
  }
  let byKey = group.routed.get(feed);
  if (!byKey) group.routed.set(feed, (byKey = new Map()));
  for (const key of routingKeys) {
    let audiences = byKey.get(key);
    if (!audiences) byKey.set(key, (audiences = new Set()));
    audiences.add(audience);
  }
}

function unroute(group: LookupGroup, audience: Audience): void {
  const { feed, routingKeys } = audience.plan;
  if (!routingKeys) {
    group.unrouted.delete(audience);
    return;
  }
  const byKey = group.routed.get(feed)!;
  for (const key of routingKeys) {
    const audiences = byKey.get(key)!;
    audiences.delete(audience);
    if (audiences.size === 0) byKey.delete(key);
  }
  if (byKey.size === 0) group.routed.delete(feed);
}

/** The audiences of the group whose filters `event` is put to: those that name its key, and those that name none. */
function* audiencesThatMayWant(group: LookupGroup, event: DecodedEvent): Iterable<Audience> {
  yield* group.unrouted;
  for (const [feed, byKey] of group.routed) {
    if (!feed.contracts.some((contract) => contract.type === event.type)) continue;
    const audiences = byKey.get(feed.routing!.keyOf(event.payload));
    if (audiences) yield* audiences;
  }
}

/** Whether a subscriber of `plan` receives `event` (see SubscriptionPlan.filter). */
function wants(plan: SubscriptionPlan, event: DecodedEvent): boolean {
  return plan.feed.contracts.some((contract) => contract.type === event.type) && plan.filter(event.payload);
}

/** Where a subscriber's results go: its socket. */
export interface SubscriptionSink {
  /**
   * Sends results, in order, each as a message of its own; false when the consumer has too many
   * unsent to take them all (it may have taken the first few). Every subscriber that receives the
   * same results is handed the same array, which must not be changed.
   */
  send(results: readonly SubscriptionResult[]): boolean;
}

/** One event's result for one response key, serialized once for every subscriber it goes to. */
export class SubscriptionResult {
  private encoded: Buffer | undefined;

  constructor(
    /** The result (`data`, `errors`, `extensions`) as JSON: the payload of a graphql-ws `next` message. */
    readonly json: string,
  ) {}

  /** `json` as UTF-8 bytes, encoded once, on first use. */
  get utf8(): Buffer {
    return (this.encoded ??= Buffer.from(this.json));
  }
}

/**
 * What one batch brings the subscribers of an audience: the events they want, in stream order,
 * and their results (shared by every member; an event whose object no longer exists has none).
 */
class AudienceBatch {
  readonly results: readonly SubscriptionResult[];
  private readonly resultOf: ReadonlyMap<DecodedEvent, SubscriptionResult>;

  constructor(
    readonly events: readonly DecodedEvent[],
    resolved: ReadonlyMap<DecodedEvent, ResolvedEvent>,
    responseKey: string,
  ) {
    const resultOf = new Map<DecodedEvent, SubscriptionResult>();
    for (const event of events) {
      const result = resolved.get(event)?.resultFor(responseKey);
      if (result) resultOf.set(event, result);
    }
    this.resultOf = resultOf;
    this.results = [...resultOf.values()];
  }

  get firstCursor(): string {
    return this.events[0]!.cursor;
  }

  get lastCursor(): string {
    return this.events.at(-1)!.cursor;
  }

  resultFor(event: DecodedEvent): SubscriptionResult | undefined {
    return this.resultOf.get(event);
  }
}

/** One subscription's place in the stream: what it wants, and the last cursor it received. */
class Subscriber {
  lastCursor: string | undefined;
  /** Live batches that arrived while the subscriber catches up, and how many events they hold; null once it is live. */
  private pendingLive: { batches: AudienceBatch[]; events: number } | null;
  /** Whether it resumed after a cursor: its catch-up may deliver what the live reader has yet to, which must not come again. */
  private readonly resumed: boolean;

  constructor(
    readonly plan: SubscriptionPlan,
    private readonly sink: SubscriptionSink,
    readonly life: SubscriptionLife,
    /** Live events held while catching up, at most. */
    private readonly maxPendingLive: number,
  ) {
    this.lastCursor = plan.after;
    this.resumed = plan.after !== undefined;
    this.pendingLive = this.resumed ? { batches: [], events: 0 } : null;
  }

  /** A live batch: delivered now, or after the catch-up. */
  offer(batch: AudienceBatch): void {
    if (!this.pendingLive) return this.deliver(batch);
    // Bounded like the socket's unsent results: a catch-up that never ends must not grow memory.
    if (this.pendingLive.events + batch.events.length > this.maxPendingLive) return this.life.overflow();
    this.pendingLive.batches.push(batch);
    this.pendingLive.events += batch.events.length;
  }

  /**
   * Sends the batch's results, but for those of events at or before the last cursor received
   * (a catch-up may have read ahead of the live reader) and those `admit` refuses. Every event
   * after the last cursor is put to `admit`, in order.
   */
  deliver(batch: AudienceBatch, admit?: (event: DecodedEvent) => boolean): void {
    // A live subscriber's batches come in stream order, each after the last.
    const after = this.resumed ? this.lastCursor : undefined;
    if (after !== undefined && compareCursors(batch.lastCursor, after) <= 0) return;
    this.lastCursor = batch.lastCursor;
    if (this.life.ended) return;
    const whole = !admit && (after === undefined || compareCursors(batch.firstCursor, after) > 0);
    const results = whole
      ? batch.results
      : batch.events.filter((event) => (after === undefined || compareCursors(event.cursor, after) > 0) && (admit?.(event) ?? true)).flatMap((event) => batch.resultFor(event) ?? []);
    if (results.length > 0 && !this.sink.send(results)) this.life.overflow();
  }

  /** Delivers the live batches that waited, but for repeats of what the catch-up delivered (`repeats` saw it). */
  goLive(repeats: RepeatFilter): void {
    const pending = this.pendingLive?.batches ?? [];
    this.pendingLive = null;
    for (const batch of pending) this.deliver(batch, (event) => repeats.admit(event));
  }
}

/**
 * One event's answer from its lookup, with its errors re-rooted at its object. Shaped and
 * serialized once per response key (the root field's alias), then sent to every subscriber.
 */
class ResolvedEvent {
  private readonly results = new Map<string, SubscriptionResult>();

  constructor(
    private readonly cursor: string,
    /** The correlation id of what caused the event: sent as the result's `extensions.correlationId`. */
    private readonly correlationId: string | null,
    private readonly object: Record<string, unknown> | null,
    private readonly errors: readonly GraphQLFormattedError[],
    private readonly cursorKeys: readonly string[],
  ) {}

  resultFor(responseKey: string): SubscriptionResult {
    let shared = this.results.get(responseKey);
    if (shared === undefined) {
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
      this.results.set(responseKey, (shared = new SubscriptionResult(JSON.stringify(result))));
    }
    return shared;
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
