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
  /**
   * Every stock change, in order per item x location, and every inventory transaction beside the
   * change it made: a consumer of both sees each transaction and its change in the same stretch
   * of the stream, never one without the other for long. Producer: inventory.
   */
  stockChanges: 'stockgraph:stock-changes',
  /**
   * Every change of a reservation (made, extended, confirmed, released, expired, its expired lots
   * given up), in order per reservation. Producer: inventory.
   */
  reservationChanges: 'stockgraph:reservation-changes',
  /** Applied warehouse events that concern an order (they carry its reference). Producer: inventory. */
  warehouseConfirmations: 'stockgraph:warehouse-confirmations',
  /** Every order status change, in order per order. Producer: orders. */
  orderStatusChanges: 'stockgraph:order-status-changes',
  /** Reconciliation holds on order releases, placed and cleared per item x location. Producer: reconciliation. */
  reconciliationHolds: 'stockgraph:reconciliation-holds',
  /** Changes of discrepancies, review tasks and alerts, and sync transactions that failed. Producer: reconciliation. */
  reconciliationChanges: 'stockgraph:reconciliation-changes',
  /**
   * What a mutation answered through one gateway replica changed, for the entity caches of the
   * others: a head start on the stock changes, which stay the caches' guarantee. Producers: the
   * gateway replicas, each its own key.
   */
  entityCacheInvalidations: 'stockgraph:entity-cache-invalidations',
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

export const STOCK_CHANGE_CAUSE_TYPES = ['WAREHOUSE_EVENT', 'ERP_BALANCE', 'RESERVATION', 'TRANSFER', 'ORDER', 'SAFETY_STOCK'] as const;

/**
 * What made a stock change. Per type: WAREHOUSE_EVENT, `id` `<source>:<eventId>`, `source` the
 * WMS instance, `eventId` the event's own id there; ERP_BALANCE, `id` the import's
 * (`erp-import:<uuid>`), `source` the ERP's name (`erp`); RESERVATION, TRANSFER and ORDER, `id`
 * the reservation's, transfer's or order's, `source` `stockgraph`. `eventId` is null but for a
 * warehouse event. `source` and `eventId` are absent from changes recorded before they were added.
 */
const stockChangeCause = z.object({
  type: z.enum(STOCK_CHANGE_CAUSE_TYPES),
  id: text,
  source: text.optional(),
  eventId: text.nullable().optional(),
});

const stockLevelChangedSchema = z.object({
  sku: text,
  locationId: text,
  /** The stock level's sequence after the change: consecutive per item x location, from 1. */
  sequence: z.int().positive(),
  cause: stockChangeCause,
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

// ---- inventory.reservation.changed

export const RESERVATION_STATUSES = ['ACTIVE', 'CONFIRMED', 'RELEASED', 'EXPIRED'] as const;

/**
 * What a change did to a reservation: made it, moved its expiry, confirmed (an order consumed
 * it), released or expired it, or gave up lots of it that expired while it held them (replaced by
 * other lots where the location had them, released where it had not).
 */
export const RESERVATION_CHANGE_KINDS = ['CREATED', 'EXTENDED', 'CONFIRMED', 'RELEASED', 'EXPIRED', 'LOTS_EXPIRED'] as const;

/** What made the change: a mutation (its name), an order that consumed it (the order's id), or the sweeper (`ttl` or `lots`). */
export const RESERVATION_CHANGE_CAUSES = ['MUTATION', 'ORDER', 'SWEEPER'] as const;

const reservedLot = z.object({
  subinventory: text,
  lot: text,
  /** Null when the lot does not expire. */
  expiresAt: instant.nullable(),
  quantity: z.int().positive(),
});

const reservationChangedSchema = z.object({
  reservationId: text,
  /** The reservation's version after the change: 1 for its creation, one more with each change. */
  version: z.int().positive(),
  kind: z.enum(RESERVATION_CHANGE_KINDS),
  status: z.enum(RESERVATION_STATUSES),
  /** Null for its creation. */
  previousStatus: z.enum(RESERVATION_STATUSES).nullable(),
  sku: text,
  reference: text,
  channel: text,
  /** Units held, the sum of the lines. */
  quantity: z.int().positive(),
  /** Null for its creation; less than `quantity` was when expired lots were released. */
  previousQuantity: z.int().positive().nullable(),
  expiresAt: instant,
  /** Where it holds stock after the change (where it held it, for a change that ends it), in location id order. */
  lines: z.array(z.object({
    locationId: text,
    /** The nettable subinventory of a line without lots. */
    subinventory: text,
    quantity: z.int().positive(),
    /** Lot-controlled items: the lots held, first expiry first; empty otherwise. */
    lots: z.array(reservedLot),
  })),
  /** LOTS_EXPIRED: what it held of the lots that expired, each now replaced by another lot (see `lines`) or released; empty otherwise. */
  expiredLots: z.array(reservedLot.extend({ locationId: text })),
  /**
   * Every location the reservation held stock at before or after the change, each once, in id
   * order: the gateway delivers the change to a subscriber granted some locations only when it
   * has every one of them.
   */
  locationIds: z.array(text),
  cause: z.object({
    type: z.enum(RESERVATION_CHANGE_CAUSES),
    id: text,
    /** The correlation id of the request that made the change; null for the sweeper's. */
    correlationId: text.nullable(),
  }),
  at: instant,
});

/** One change of a reservation, with the reservation as it stands after it. */
export const reservationChanged: EventContract<z.infer<typeof reservationChangedSchema>> = {
  type: 'inventory.reservation.changed',
  stream: STREAMS.reservationChanges,
  schema: reservationChangedSchema,
  keyOf: (change) => change.reservationId,
  sequenceOf: (change) => change.version,
};

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

// ---- inventory.transaction.recorded

/** Inventory-affecting transactions, as the ERP is told of them. */
export const INVENTORY_TRANSACTION_KINDS = [
  'RECEIPT', 'PICK', 'SHIP', 'ADJUSTMENT', 'CYCLE_COUNT', 'SUBINVENTORY_TRANSFER',
  'TRANSFER_OUT', 'TRANSFER_IN', 'RETURN_RECEIVED', 'RETURN_RESTOCKED',
] as const;

/** What the ERP sync ledger posts: inventory's transactions, and reconciliation's adjustments. */
export const SYNC_TRANSACTION_KINDS = [...INVENTORY_TRANSACTION_KINDS, 'RECONCILIATION_ADJUSTMENT'] as const;

const inventoryTransactionRecordedSchema = z.object({
  /**
   * Names the transaction once and for all: `<cause type>:<cause id>` of the stock change it
   * made (`WAREHOUSE_EVENT:<source>:<eventId>`, `TRANSFER:<id>:SHIP`...), with `/<sku>` for each
   * item of a location snapshot.
   */
  transactionId: text,
  kind: z.enum(INVENTORY_TRANSACTION_KINDS),
  sku: text,
  locationId: text,
  /** The item's unit of measure; every quantity is in it. */
  unitOfMeasure: text,
  /** The movement's quantity as stated (a pick's units, a count's counted units). */
  quantity: z.int().nonnegative(),
  /** What changed on hand, per subinventory and lot ('' when not lot-controlled); none for a pick. */
  lines: z.array(z.object({
    subinventory: text,
    lot: z.string(),
    /** Whether the subinventory counts toward availability (and toward the on hand reconciliation compares). */
    nettable: z.boolean(),
    /** Signed change to on hand, never 0. */
    change: z.int().refine((change) => change !== 0, 'must not be 0'),
  })),
  /** Where a pick or a transfer to another location takes the units from, when not one of `lines`. */
  subinventory: text,
  /** The subinventory the units go to at the other end of a transfer; null for other kinds. */
  transferSubinventory: text.nullable(),
  /** The other location of an inter-location transfer (the destination of TRANSFER_OUT, the source of TRANSFER_IN). */
  counterpartLocationId: text.nullable(),
  serials: z.array(text),
  occurredAt: instant,
});

/**
 * A transaction that changed inventory (or, a pick, committed it), written in the transaction of
 * the change itself: the ERP sync ledger takes each one exactly once.
 */
export const inventoryTransactionRecorded: EventContract<z.infer<typeof inventoryTransactionRecordedSchema>> = {
  type: 'inventory.transaction.recorded',
  // Beside the stock change it made (see STREAMS.stockChanges).
  stream: STREAMS.stockChanges,
  schema: inventoryTransactionRecordedSchema,
  keyOf: (transaction) => transaction.transactionId,
  // A transaction is recorded once: it is its own entity, and this is its only event.
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
  /**
   * The locations of the order's lines when the change was recorded, each once, in id order;
   * empty for an order without lines (one cancelled while its stock was being held). The gateway
   * delivers a change to a subscriber granted some locations only when it has every one of them;
   * absent from changes recorded before it was added, which such subscribers are not sent.
   */
  locationIds: z.array(text).optional(),
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

// ---- reconciliation.discrepancy.changed / task.changed / alert.changed / syncTransaction.failed

export const VARIANCE_TIERS = ['AUTO_CORRECT', 'REVIEW', 'ALERT'] as const;
export const DISCREPANCY_STATUSES = ['OPEN', 'AUTO_CORRECTED', 'RESOLVED'] as const;
export const REVIEW_TASK_KINDS = ['VARIANCE', 'ORPHANED_TRANSACTION'] as const;
export const REVIEW_TASK_STATUSES = ['OPEN', 'APPROVED', 'REJECTED', 'CANCELLED'] as const;
export const ALERT_KINDS = ['VARIANCE', 'SYNC_FAILED'] as const;
export const ALERT_STATUSES = ['OPEN', 'ACKNOWLEDGED', 'RESOLVED'] as const;

/** What every reconciliation change says of itself: its entity's version, who made it, when. */
const versioned = { version: z.int().positive(), actor: text, at: instant };

const discrepancyChangedSchema = z.object({
  discrepancyId: text,
  runId: text,
  sku: text,
  locationId: text,
  wmsOnHand: z.int(),
  erpOnHand: z.int(),
  inFlight: z.int(),
  variance: z.int(),
  tier: z.enum(VARIANCE_TIERS),
  status: z.enum(DISCREPANCY_STATUSES),
  ...versioned,
});

/** A discrepancy raised by a run (version 1) or closed later. */
export const discrepancyChanged: EventContract<z.infer<typeof discrepancyChangedSchema>> = {
  type: 'reconciliation.discrepancy.changed',
  stream: STREAMS.reconciliationChanges,
  schema: discrepancyChangedSchema,
  keyOf: (change) => `discrepancy:${change.discrepancyId}`,
  sequenceOf: (change) => change.version,
};

const reviewTaskChangedSchema = z.object({
  taskId: text,
  kind: z.enum(REVIEW_TASK_KINDS),
  status: z.enum(REVIEW_TASK_STATUSES),
  sku: text,
  locationId: text,
  discrepancyId: text.nullable(),
  syncTransactionId: text.nullable(),
  assignee: text.nullable(),
  ...versioned,
});

/** A review task opened (version 1), assigned or decided. */
export const reviewTaskChanged: EventContract<z.infer<typeof reviewTaskChangedSchema>> = {
  type: 'reconciliation.task.changed',
  stream: STREAMS.reconciliationChanges,
  schema: reviewTaskChangedSchema,
  keyOf: (change) => `task:${change.taskId}`,
  sequenceOf: (change) => change.version,
};

const alertChangedSchema = z.object({
  alertId: text,
  kind: z.enum(ALERT_KINDS),
  status: z.enum(ALERT_STATUSES),
  sku: text,
  locationId: text,
  message: text,
  ...versioned,
});

/** An alert raised (version 1), acknowledged or resolved. */
export const alertChanged: EventContract<z.infer<typeof alertChangedSchema>> = {
  type: 'reconciliation.alert.changed',
  stream: STREAMS.reconciliationChanges,
  schema: alertChangedSchema,
  keyOf: (change) => `alert:${change.alertId}`,
  sequenceOf: (change) => change.version,
};

const syncTransactionFailedSchema = z.object({
  syncTransactionId: text,
  transactionId: text,
  kind: z.enum(SYNC_TRANSACTION_KINDS),
  sku: text,
  locationId: text,
  attempts: z.int().positive(),
  lastError: text,
  /** How many times this transaction has failed (a redriven one can fail again). */
  failures: z.int().positive(),
  failedAt: instant,
});

/** A sync transaction became SYNC_FAILED: the ERP refused it, or every attempt failed. */
export const syncTransactionFailed: EventContract<z.infer<typeof syncTransactionFailedSchema>> = {
  type: 'reconciliation.syncTransaction.failed',
  stream: STREAMS.reconciliationChanges,
  schema: syncTransactionFailedSchema,
  keyOf: (failure) => `sync:${failure.syncTransactionId}`,
  sequenceOf: (failure) => failure.failures,
};

// ---- gateway.entityCache.invalidated

const entityCacheInvalidatedSchema = z.object({
  /** The replica that answered the mutation, unique per gateway process. */
  replica: text,
  /** Consecutive per replica, from 1. */
  sequence: z.int().positive(),
  /** The entity cache tags (platform/graphql/entityCacheHints.ts) the mutation made stale. */
  tags: z.array(text),
});

/** A mutation through a gateway replica changed what these tags name. */
export const entityCacheInvalidated: EventContract<z.infer<typeof entityCacheInvalidatedSchema>> = {
  type: 'gateway.entityCache.invalidated',
  stream: STREAMS.entityCacheInvalidations,
  schema: entityCacheInvalidatedSchema,
  keyOf: (invalidation) => invalidation.replica,
  sequenceOf: (invalidation) => invalidation.sequence,
};

/** Every contract, by event type. */
export const EVENT_CONTRACTS: ReadonlyMap<string, EventContract<any>> = new Map(
  [
    stockLevelChanged, reservationChanged, warehouseEventApplied, inventoryTransactionRecorded, orderStatusChanged,
    holdPlaced, holdCleared, discrepancyChanged, reviewTaskChanged, alertChanged, syncTransactionFailed, entityCacheInvalidated,
  ].map((contract) => [contract.type, contract]),
);
