import {
  discrepancyChanged, holdCleared, holdPlaced, orderStatusChanged, reservationChanged, stockLevelChanged, syncTransactionFailed, type EventContract, type PayloadOf,
} from '../../platform/contracts/events.ts';
import type { DecodedEvent } from '../../platform/events/decodedEvent.ts';

/**
 * What makes a Subscription field: the event contracts its events meet (their types, on one
 * stream), which of them a subscriber asked for, and the Query field that turns them into the
 * objects the subscriber selects. The gateway resolves that selection through the supergraph, so
 * a subgraph adds a subscription with its events, a lookup query and a schema field, and nothing else.
 */
export interface SubscriptionFeed<Payload = never> {
  /** The stream all of `contracts` travel on (see eventsOf). */
  readonly stream: string;
  readonly contracts: readonly EventContract<Payload>[];
  /**
   * The Query field that returns the delivered objects for a list of ids, in the order given
   * (null for an id that names none); it takes them as `ids: [ID!]!`. Feeds of one stream with the
   * same lookup field must name their events' objects alike (`idOf`): subscribers of either that
   * select alike share one lookup (see EventLookup.key).
   */
  readonly lookupField: string;
  /** The id the lookup field knows the event's object by. */
  idOf(event: DecodedEvent<Payload>): string;
  /** Which events a subscriber receives, given the field's arguments. */
  filter(args: Readonly<Record<string, unknown>>): (payload: Payload) => boolean;
  /**
   * The locations an event is of: a subscriber granted only some locations receives it only when
   * it has every one (see subscriptionPlan.ts); one of no location reaches no such subscriber.
   */
  locationsOf(payload: Payload): readonly string[];
  /**
   * Optional: a key of each event (`keyOf`) and, given the field's arguments, the keys of the
   * events a subscriber can receive (`keysOf`; null for events of any key). The gateway then puts
   * an event to the filters of the subscribers that name its key (and those that name none),
   * not to every subscriber's: what keeps many subscribers of a few keys each cheap.
   */
  readonly routing?: EventRouting<Payload>;
}

export interface EventRouting<Payload> {
  keyOf(payload: Payload): string;
  keysOf(args: Readonly<Record<string, unknown>>): readonly string[] | null;
}

type StockLevelChanged = PayloadOf<typeof stockLevelChanged>;
type OrderStatusChanged = PayloadOf<typeof orderStatusChanged>;
type ReservationChanged = PayloadOf<typeof reservationChanged>;
type DiscrepancyChanged = PayloadOf<typeof discrepancyChanged>;
type HoldChanged = PayloadOf<typeof holdPlaced> | PayloadOf<typeof holdCleared>;
type SyncTransactionFailed = PayloadOf<typeof syncTransactionFailed>;

/** The stream and contracts of a feed of these event types; they must travel on one stream, which one reader serves. */
function eventsOf<Payload>(...contracts: EventContract<Payload>[]): Pick<SubscriptionFeed<Payload>, 'stream' | 'contracts'> {
  const streams = new Set(contracts.map((contract) => contract.stream));
  if (streams.size !== 1) throw new TypeError(`A subscription feed's events travel on one stream; ${contracts.map((c) => c.type).join(', ')} travel on ${[...streams].join(', ') || 'none'}`);
  return { stream: contracts[0]!.stream, contracts };
}

/** The set of a list argument's values; null (every value passes) when it is omitted. */
const setOf = (values: unknown) => (values ? new Set(values as string[]) : null);

/**
 * Whether an event has, for each list argument given, one of its values in the payload field that
 * `fieldByArgument` names for it: `{ channels: 'channel' }` passes the events of the channels
 * asked for, or every event when `channels` is omitted.
 */
function amongArguments<Payload>(args: Readonly<Record<string, unknown>>, fieldByArgument: Readonly<Record<string, keyof Payload>>): (payload: Payload) => boolean {
  const wanted = Object.entries(fieldByArgument).flatMap(([argument, field]) => (args[argument] ? [{ field, values: setOf(args[argument])! }] : []));
  return (payload) => wanted.every(({ field, values }) => values.has(payload[field] as string));
}

/** Events routed by their SKU to the subscribers that name it in `skus`. */
const bySku: EventRouting<{ readonly sku: string }> = { keyOf: (payload) => payload.sku, keysOf: (args) => (args.skus as string[] | null | undefined) ?? null };

/** Whether a change is at one of `args.skus` and `args.locationIds` (any, when a list is omitted). */
function stockChangeScope(args: Readonly<Record<string, unknown>>): (change: { readonly sku: string; readonly locationId: string }) => boolean {
  const skus = setOf(args.skus);
  const locationIds = setOf(args.locationIds);
  return (change) => (!skus || skus.has(change.sku)) && (!locationIds || locationIds.has(change.locationId));
}

// A change's outbox record, which the relay publishes as the event's id, is what its lookup field takes.
const outboxIdOf = (event: DecodedEvent<unknown>) => event.id ?? '';

/** The location of an event of one item x location (stock changes, discrepancies, holds, sync failures). */
const atItsLocation = (payload: { readonly locationId: string }): readonly string[] => [payload.locationId];

const stockChange = { ...eventsOf(stockLevelChanged), lookupField: 'stockChanges', idOf: outboxIdOf, locationsOf: atItsLocation, routing: bySku } as const;

/** Every Subscription field of the supergraph, by name. */
export const SUBSCRIPTION_FEEDS: Readonly<Record<string, SubscriptionFeed<any>>> = {
  stockChanged: { ...stockChange, filter: stockChangeScope } satisfies SubscriptionFeed<StockLevelChanged>,
  availabilityChanged: {
    ...stockChange,
    filter: (args) => {
      const inScope = stockChangeScope(args);
      const below = args.below as number;
      return (change) => inScope(change) && change.before.available < below !== change.after.available < below;
    },
  } satisfies SubscriptionFeed<StockLevelChanged>,
  orderStatusChanged: {
    ...eventsOf(orderStatusChanged),
    lookupField: 'orderStatusChanges',
    idOf: outboxIdOf,
    routing: { keyOf: (change) => change.orderId, keysOf: (args) => (args.orderIds as string[] | null | undefined) ?? null },
    // Its lines' locations; none on changes recorded before the payload carried them.
    locationsOf: (change) => change.locationIds ?? [],
    filter: (args) => amongArguments<OrderStatusChanged>(args, { orderIds: 'orderId', channels: 'channel', statuses: 'status' }),
  } satisfies SubscriptionFeed<OrderStatusChanged>,
  reservationChanged: {
    ...eventsOf(reservationChanged),
    lookupField: 'reservationChanges',
    idOf: outboxIdOf,
    routing: bySku,
    locationsOf: (change) => change.locationIds,
    filter: (args) => amongArguments<ReservationChanged>(args, { references: 'reference', channels: 'channel', skus: 'sku' }),
  } satisfies SubscriptionFeed<ReservationChanged>,
  discrepancyRaised: {
    ...eventsOf(discrepancyChanged),
    lookupField: 'discrepancyEvents',
    idOf: outboxIdOf,
    locationsOf: atItsLocation,
    routing: bySku,
    filter: (args) => {
      const inScope = stockChangeScope(args);
      const tiers = setOf(args.tiers);
      // A discrepancy's first version is the one its run raised; later ones close it.
      return (change) => change.version === 1 && inScope(change) && (!tiers || tiers.has(change.tier));
    },
  } satisfies SubscriptionFeed<DiscrepancyChanged>,
  holdChanged: {
    ...eventsOf<HoldChanged>(holdPlaced, holdCleared),
    lookupField: 'holdEvents',
    idOf: outboxIdOf,
    locationsOf: atItsLocation,
    routing: bySku,
    filter: stockChangeScope,
  } satisfies SubscriptionFeed<HoldChanged>,
  syncFailed: {
    ...eventsOf(syncTransactionFailed),
    lookupField: 'syncFailureEvents',
    idOf: outboxIdOf,
    locationsOf: atItsLocation,
    filter: (args) => {
      const locationIds = setOf(args.locationIds);
      return (failure) => !locationIds || locationIds.has(failure.locationId);
    },
  } satisfies SubscriptionFeed<SyncTransactionFailed>,
};
