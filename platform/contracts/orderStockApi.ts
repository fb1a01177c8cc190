import { z } from 'zod';

/**
 * The internal HTTP API through which the orders service asks inventory about an order's stock:
 * hold it (placeOrder), give it back (cancelOrder), and move inspected returns out of QA
 * (inspectReturn). Not part of the public GraphQL API: inventory serves it beside its GraphQL
 * endpoint, to callers that present the shared INTERNAL_API_TOKEN as `Authorization: Bearer`.
 *
 * Every request carries a batch (the orders service groups concurrent calls) and every answer
 * has one result per item, in order. Each item is all or nothing, and idempotent by its id: a
 * repeat (after a timeout, a lost answer or a crash) gets the answer the first one got, and
 * changes nothing more. Bodies are JSON; the shapes below are checked on both sides.
 */
export const ORDER_STOCK_API = {
  holds: '/internal/order-stock/holds',
  releases: '/internal/order-stock/releases',
  inspections: '/internal/order-stock/inspections',
} as const;

/** The most items one request may carry. */
export const MAX_ORDER_STOCK_BATCH = 500;

const text = z.string().min(1);
const units = z.int().positive();
const batch = <Item extends z.ZodType>(item: Item) => z.array(item).min(1).max(MAX_ORDER_STOCK_BATCH);

// ---- holds

const holdLine = z.object({
  /** The order's requested line, 1-based; allocations name it. */
  lineNumber: z.int().positive(),
  sku: text,
  quantity: units,
  /** Hold it here; null lets the channel's allocation strategy choose (one location or several). */
  locationId: text.nullable(),
  /** Consume this ACTIVE reservation (same SKU, quantity and channel, at locationId when given) instead of reserving. */
  reservationId: text.nullable(),
});

const holdRequestItem = z.object({
  /** The order's id: inventory answers every hold of one order id as it answered the first. */
  orderId: text,
  /** The order's reference, by which warehouse events name it. */
  reference: text,
  channel: text,
  lines: z.array(holdLine).min(1),
});

export const holdRequest = z.object({ holds: batch(holdRequestItem) });
export type HoldRequest = z.infer<typeof holdRequest>;
export type HoldRequestItem = z.infer<typeof holdRequestItem>;

/** Why inventory holds nothing for an order. */
export const HOLD_REFUSAL_CODES = [
  /** Less is available than a line asks for (`details.available`). */
  'INSUFFICIENT_STOCK',
  'UNKNOWN_SKU',
  'UNKNOWN_LOCATION',
  'RESERVATION_NOT_FOUND',
  /** The reservation is confirmed, released or expired (`details.status`). */
  'RESERVATION_NOT_ACTIVE',
  /** The reservation is for another SKU, quantity, channel or location than the line (`details.mismatch`). */
  'RESERVATION_MISMATCH',
  /** The order's stock was given back (it was cancelled) before this hold arrived. */
  'ORDER_STOCK_RELEASED',
  /** The order id was held before with other lines. */
  'HOLD_CONFLICT',
] as const;

const allocation = z.object({
  lineNumber: z.int().positive(),
  locationId: text,
  quantity: units,
  reservationId: text.nullable(),
});

const holdResult = z.discriminatedUnion('status', [
  z.object({
    orderId: text,
    status: z.literal('HELD'),
    /** Where each line's stock is held: one or more locations per line, in line then location order. */
    allocations: z.array(allocation).min(1),
  }),
  z.object({
    orderId: text,
    status: z.literal('REFUSED'),
    code: z.enum(HOLD_REFUSAL_CODES),
    message: text,
    /** The line refused, when one line is the cause. */
    lineNumber: z.int().positive().nullable(),
    details: z.record(z.string(), z.unknown()),
  }),
]);

export const holdResponse = z.object({ results: z.array(holdResult) });
export type HoldResponse = z.infer<typeof holdResponse>;
export type HoldResult = z.infer<typeof holdResult>;

// ---- releases

export const releaseRequest = z.object({ releases: batch(z.object({ orderId: text })) });
export type ReleaseRequest = z.infer<typeof releaseRequest>;

const releaseResult = z.object({
  orderId: text,
  status: z.literal('RELEASED'),
  /** What went back to available at each location: what the order held there and the warehouse had not shipped. */
  released: z.array(z.object({ lineNumber: z.int().positive(), locationId: text, quantity: z.int().nonnegative() })),
});

export const releaseResponse = z.object({ results: z.array(releaseResult) });
export type ReleaseResponse = z.infer<typeof releaseResponse>;

// ---- inspections

const inspectionLine = z.object({
  sku: text,
  locationId: text,
  /** Units that go back to nettable stock (available again). */
  restocked: z.int().nonnegative(),
  /** Units that go to DAMAGED (never promised). */
  scrapped: z.int().nonnegative(),
}).refine((line) => line.restocked + line.scrapped > 0, 'a line inspects at least one unit');

const inspectionRequestItem = z.object({
  /** The orders service's id of the inspection: a repeat of it gets the first answer, and moves nothing twice. */
  inspectionId: text,
  orderId: text,
  lines: z.array(inspectionLine).min(1),
});

export const inspectionRequest = z.object({ inspections: batch(inspectionRequestItem) });
export type InspectionRequest = z.infer<typeof inspectionRequest>;
export type InspectionRequestItem = z.infer<typeof inspectionRequestItem>;

export const INSPECTION_REFUSAL_CODES = [
  /** QA holds fewer units of the SKU at the location than the inspection moves (`details.available`). */
  'NOT_IN_QA',
  'UNKNOWN_SKU',
  'UNKNOWN_LOCATION',
  /** The location has no QA, no nettable subinventory to restock into, or no DAMAGED to scrap into. */
  'UNKNOWN_SUBINVENTORY',
] as const;

const inspectionResult = z.discriminatedUnion('status', [
  z.object({ inspectionId: text, status: z.literal('APPLIED') }),
  z.object({
    inspectionId: text,
    status: z.literal('REFUSED'),
    code: z.enum(INSPECTION_REFUSAL_CODES),
    message: text,
    details: z.record(z.string(), z.unknown()),
  }),
]);

export const inspectionResponse = z.object({ results: z.array(inspectionResult) });
export type InspectionResponse = z.infer<typeof inspectionResponse>;
export type InspectionResult = z.infer<typeof inspectionResult>;

/** The error body of a request refused as a whole: 400 (a body that breaks the shapes above), 401 (no or a wrong token). */
export const orderStockApiError = z.object({ error: z.object({ code: text, message: text }) });
