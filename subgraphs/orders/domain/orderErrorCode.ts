/** Error codes the orders subgraph puts in `extensions.code`, beside the common ones (BAD_USER_INPUT). */
export enum OrderErrorCode {
  ORDER_NOT_FOUND = 'ORDER_NOT_FOUND',
  /** The idempotency key was first used for a different order. */
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  /** Another order has the reference. */
  ORDER_REFERENCE_TAKEN = 'ORDER_REFERENCE_TAKEN',
  /** A line asks for more than is available (`line`, `sku`, `requested`, `available`). Nothing was held. */
  INSUFFICIENT_STOCK = 'INSUFFICIENT_STOCK',
  UNKNOWN_SKU = 'UNKNOWN_SKU',
  UNKNOWN_LOCATION = 'UNKNOWN_LOCATION',
  RESERVATION_NOT_FOUND = 'RESERVATION_NOT_FOUND',
  /** The reservation is confirmed, released or expired (`status`). */
  RESERVATION_NOT_ACTIVE = 'RESERVATION_NOT_ACTIVE',
  /** The reservation is for another SKU, quantity, channel or location than its line. */
  RESERVATION_MISMATCH = 'RESERVATION_MISMATCH',
  /** A reconciliation hold stands on one of the order's SKUs at its location (`holds`). */
  RECONCILIATION_HOLD = 'RECONCILIATION_HOLD',
  /** Units of the order have shipped: it can no longer be cancelled. */
  ORDER_ALREADY_SHIPPED = 'ORDER_ALREADY_SHIPPED',
  /** The order's status does not allow the operation (`status`). */
  INVALID_ORDER_STATUS = 'INVALID_ORDER_STATUS',
  /** A return names an unknown line or more units than it may (`problems`). */
  INVALID_RETURN = 'INVALID_RETURN',
  /** Inventory holds fewer returned units in QA than the inspection moves. */
  NOT_IN_QA = 'NOT_IN_QA',
  /** The line's location has no QA, no nettable subinventory or no DAMAGED to move inspected units through. */
  UNKNOWN_SUBINVENTORY = 'UNKNOWN_SUBINVENTORY',
  /** Inventory could not be reached; see the mutation's description for what happens next. */
  INVENTORY_UNAVAILABLE = 'INVENTORY_UNAVAILABLE',
}
