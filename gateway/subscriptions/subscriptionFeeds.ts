import { STREAMS } from '../../platform/events/streams.ts';

/**
 * What makes a Subscription field: the stream its events come from, which of them a subscriber
 * asked for, and the Query field that turns them into the objects the subscriber selects. The
 * gateway resolves that selection through the supergraph, so a subgraph adds a subscription with
 * its events, a lookup query and a schema field, and nothing else.
 */
export interface SubscriptionFeed<Payload = never> {
  readonly stream: string;
  readonly eventType: string;
  /**
   * The Query field that returns the delivered objects for a list of ids, in the order given
   * (null for an id that names none); it takes them as `ids: [ID!]!`.
   */
  readonly lookupField: string;
  /** The id the lookup field knows the event's object by. */
  idOf(payload: Payload): string;
  /** Which events a subscriber receives, given the field's arguments. */
  filter(args: Readonly<Record<string, unknown>>): (payload: Payload) => boolean;
}

/** The fields of an `inventory.stockLevel.changed` payload that subscriptions read. */
interface StockLevelChanged {
  readonly outboxId: string;
  readonly sku: string;
  readonly locationId: string;
  readonly availableBefore: number;
  readonly availableAfter: number;
}

/** Whether a change is at one of `args.skus` and `args.locationIds` (any, when a list is omitted). */
function stockChangeScope(args: Readonly<Record<string, unknown>>): (change: StockLevelChanged) => boolean {
  const skus = args.skus ? new Set(args.skus as string[]) : null;
  const locationIds = args.locationIds ? new Set(args.locationIds as string[]) : null;
  return (change) => (!skus || skus.has(change.sku)) && (!locationIds || locationIds.has(change.locationId));
}

const stockChange = {
  stream: STREAMS.stockChanges,
  eventType: 'inventory.stockLevel.changed',
  lookupField: 'stockChanges',
  idOf: (change: StockLevelChanged) => change.outboxId,
} as const;

/** Every Subscription field of the supergraph, by name. */
export const SUBSCRIPTION_FEEDS: Readonly<Record<string, SubscriptionFeed<StockLevelChanged>>> = {
  stockChanged: { ...stockChange, filter: stockChangeScope },
  availabilityChanged: {
    ...stockChange,
    filter: (args) => {
      const inScope = stockChangeScope(args);
      const below = args.below as number;
      return (change) => inScope(change) && change.availableBefore < below !== change.availableAfter < below;
    },
  },
};
