import { z } from 'zod';

/**
 * The event contracts services meet on: stream names, event types and a schema per payload.
 * Subgraphs never import each other; a producer and its consumers (another subgraph, the
 * gateway) share only this module. Payloads are JSON as they travel: instants are ISO-8601
 * strings, quantities whole numbers.
 *
 * Every event names the entity it changes (`keyOf`) and where the change stands among that
 * entity's changes (`sequenceOf`, increasing per key). A stream has one producer, which publishes
 * a key's events in sequence order, at least once: consumers drop a repeat by (key, sequence).
 */
export const STREAMS = {
  /** Every stock change, in order per item x location. Producer: inventory. */
  stockChanges: 'stockgraph:stock-changes',
  /** Applied warehouse events that concern an order (they carry its reference). Producer: inventory. */
  warehouseConfirmations: 'stockgraph:warehouse-confirmations',
  /** Every order status change, in order per order. Producer: orders. */
  orderStatusChanges: 'stockgraph:order-status-changes',
  /** Reconciliation holds on order releases, placed and cleared per item x location. Producer: reconciliation. */
  reconciliationHolds: 'stockgraph:reconciliation-holds',
} as const;

/**
 * The raw feed of one WMS source: producers XADD their own format there (field `event`, one
 * event per entry) and inventory consumes it in the consumer group `inventory`. Not an event
 * contract: what arrives is mapped by the source's mapping, and dead-lettered when it cannot be.
 */
export const wmsEventStream = (source: string): string => `stockgraph:wms-events:${source}`;

/** The type, stream and payload schema of one kind of event, and how its payloads are keyed. */
export interface EventContract<Payload = unknown> {
  /** `<area>.<entity>.<pastTense>`. */
  readonly type: string;
  readonly stream: string;
  readonly schema: z.ZodType<Payload>;
  /** The entity the event changes; a key's events are published in sequence order. */
  keyOf(payload: Payload): string;
  /** Increases with each event of its key; (key, sequence) names the event, so that a repeat can be dropped. */
  sequenceOf(payload: Payload): number;
}

export type PayloadOf<Contract> = Contract extends EventContract<infer Payload> ? Payload : never;

/** A payload that does not meet its contract: refused whole, never half-read. */
export class EventContractError extends TypeError {
  constructor(
    readonly eventType: string,
    readonly problems: readonly string[],
  ) {
    super(`${eventType} payload does not meet its contract: ${problems.join('; ')}`);
    this.name = 'EventContractError';
  }
}

/** The payload, checked against its contract; throws EventContractError naming every problem. */
export function checkPayload<Payload>(contract: EventContract<Payload>, payload: unknown): Payload {
  const result = contract.schema.safeParse(payload);
  if (!result.success) throw new EventContractError(contract.type, result.error.issues.map(describeIssue));
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  return issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

const quantity = z.int().nonnegative();
const instant = z.iso.datetime({ offset: true });
const text = z.string().min(1);

// ---- inventory.stockLevel.changed

const stockBuckets = z.object({
  onHandWms: quantity,
  onHandErp: quantity,
  onHandNonNettable: quantity,
  expired: quantity,
  allocated: quantity,
  reserved: quantity,
  inboundInTransit: quantity,
  inboundExpectedAt: instant.nullable(),
  qualityHold: quantity,
  damaged: quantity,
  safetyStock: quantity,
  available: quantity,
});

export type StockBucketsPayload = z.infer<typeof stockBuckets>;

export const STOCK_CHANGE_CAUSE_TYPES = ['WAREHOUSE_EVENT', 'ERP_BALANCE', 'RESERVATION', 'TRANSFER', 'ORDER'] as const;

const stockLevelChangedSchema = z.object({
  sku: text,
  locationId: text,
  /** The stock level's sequence after the change: consecutive per item x location, from 1. */
  sequence: z.int().positive(),
  cause: z.object({ type: z.enum(STOCK_CHANGE_CAUSE_TYPES), id: text }),
  before: stockBuckets,
  after: stockBuckets,
  occurredAt: instant,
});

/** One change of the stock of an item at a location: every bucket before and after, and its cause. */
export const stockLevelChanged: EventContract<z.infer<typeof stockLevelChangedSchema>> = {
  type: 'inventory.stockLevel.changed',
  stream: STREAMS.stockChanges,
  schema: stockLevelChangedSchema,
  keyOf: (change) => stockLevelKey(change.sku, change.locationId),
  sequenceOf: (change) => change.sequence,
};

/** The key of an item x location's events; unambiguous whatever the SKU and location id hold. */
export const stockLevelKey = (sku: string, locationId: string): string => JSON.stringify([sku, locationId]);

// ---- inventory.warehouseEvent.applied

/** The warehouse movements that confirm an order's progress, published when they carry its reference. */
export const ORDER_CONFIRMATION_TYPES = ['PICK', 'PACK', 'SHIP', 'DELIVERY', 'RETURN_RECEIVED', 'RETURN_RESTOCKED'] as const;

const warehouseEventAppliedSchema = z.object({
  /** The WMS instance, e.g. "acme-wms"; with eventId, what the warehouse confirmed exactly once. */
  source: text,
  eventId: text,
  /** The source's own sequence number of the event. */
  sourceSequence: z.int().positive(),
  type: z.enum(ORDER_CONFIRMATION_TYPES),
  /** The order's reference as the warehouse knows it (Order.reference). */
  orderReference: text,
  sku: text,
  locationId: text,
  subinventory: text,
  /** Whether `subinventory` counts toward availability: a restock into one is sellable, into another (DAMAGED) scrapped. */
  subinventoryNettable: z.boolean(),
  /** RETURN_RESTOCKED only: where the units came from. */
  fromSubinventory: text.nullable(),
  /** '' when the item is not lot-controlled. */
  lot: z.string(),
  serials: z.array(text),
  /** Units, in the item's unit of measure. */
  quantity: z.int().positive(),
  occurredAt: instant,
  appliedAt: instant,
});

/** A warehouse event that concerns an order, as inventory applied it (mapped to Stockgraph's codes and units). */
export const warehouseEventApplied: EventContract<z.infer<typeof warehouseEventAppliedSchema>> = {
  type: 'inventory.warehouseEvent.applied',
  stream: STREAMS.warehouseConfirmations,
  schema: warehouseEventAppliedSchema,
  keyOf: (event) => `${event.source}:${event.eventId}`,
  // A warehouse event is applied once: it is its own entity, and this is its only event.
  sequenceOf: () => 1,
};

// ---- orders.order.statusChanged

export const ORDER_STATUSES = [
  'CREATED', 'RESERVED', 'RELEASED', 'PICKING', 'PACKED', 'SHIPPED', 'DELIVERED',
  'CANCELLED', 'RETURN_REQUESTED', 'RETURN_RECEIVED', 'RESTOCKED', 'SCRAPPED',
] as const;

/** What moved an order: one of its mutations, a warehouse event (`<source>:<eventId>`), or a reconciliation hold clearing. */
export const ORDER_TRANSITION_CAUSES = ['MUTATION', 'WAREHOUSE_EVENT', 'HOLD_CLEARED'] as const;

const orderStatusChangedSchema = z.object({
  orderId: text,
  reference: text,
  channel: text,
  status: z.enum(ORDER_STATUSES),
  /** Null for the order's first status. */
  previousStatus: z.enum(ORDER_STATUSES).nullable(),
  /** The order's transition number: consecutive per order, from 1. */
  version: z.int().positive(),
  cause: z.object({ type: z.enum(ORDER_TRANSITION_CAUSES), id: text }),
  /** Who made the change: the caller of a mutation, a WMS source, or stockgraph. */
  actor: text,
  at: instant,
});

/** One transition of an order's status. */
export const orderStatusChanged: EventContract<z.infer<typeof orderStatusChangedSchema>> = {
  type: 'orders.order.statusChanged',
  stream: STREAMS.orderStatusChanges,
  schema: orderStatusChangedSchema,
  keyOf: (change) => change.orderId,
  sequenceOf: (change) => change.version,
};

// ---- reconciliation.hold.placed / reconciliation.hold.cleared

const holdPlacedSchema = z.object({
  holdId: text,
  sku: text,
  locationId: text,
  reason: text,
  placedAt: instant,
});

const holdClearedSchema = z.object({
  holdId: text,
  sku: text,
  locationId: text,
  clearedAt: instant,
});

/** Reconciliation holds order releases of a SKU at a location (a variance over the alert threshold). */
export const holdPlaced: EventContract<z.infer<typeof holdPlacedSchema>> = {
  type: 'reconciliation.hold.placed',
  stream: STREAMS.reconciliationHolds,
  schema: holdPlacedSchema,
  keyOf: (hold) => hold.holdId,
  sequenceOf: () => 1,
};

/** The hold is lifted: orders held by it may be released. A hold is placed once and cleared once. */
export const holdCleared: EventContract<z.infer<typeof holdClearedSchema>> = {
  type: 'reconciliation.hold.cleared',
  stream: STREAMS.reconciliationHolds,
  schema: holdClearedSchema,
  keyOf: (hold) => hold.holdId,
  sequenceOf: () => 2,
};

/** Every contract, by event type. */
export const EVENT_CONTRACTS: ReadonlyMap<string, EventContract<any>> = new Map(
  [stockLevelChanged, warehouseEventApplied, orderStatusChanged, holdPlaced, holdCleared].map((contract) => [contract.type, contract]),
);
