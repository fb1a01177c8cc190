import { locationsNotGrantedMessage } from '../../platform/lang/locationGrant.ts';
import type { InputProblem } from './domain/reservations/reservationRequest.ts';

/** Error codes the inventory subgraph puts in `extensions.code`, beside the common ones. */
export enum InventoryErrorCode {
  DEAD_LETTER_ALREADY_REPLAYED = 'DEAD_LETTER_ALREADY_REPLAYED',
  TOO_MANY_SKUS = 'TOO_MANY_SKUS',
  UNKNOWN_SKU = 'UNKNOWN_SKU',
  UNKNOWN_LOCATION = 'UNKNOWN_LOCATION',
  UNKNOWN_SUBINVENTORY = 'UNKNOWN_SUBINVENTORY',
  /** Less is available than was asked for; `available` says how much was. Nothing was changed. */
  INSUFFICIENT_STOCK = 'INSUFFICIENT_STOCK',
  /** The idempotency key was first used for a different request. */
  IDEMPOTENCY_CONFLICT = 'IDEMPOTENCY_CONFLICT',
  RESERVATION_NOT_FOUND = 'RESERVATION_NOT_FOUND',
  /** The reservation is no longer ACTIVE (confirmed, released or expired); `status` says which. */
  RESERVATION_NOT_ACTIVE = 'RESERVATION_NOT_ACTIVE',
  TRANSFER_NOT_FOUND = 'TRANSFER_NOT_FOUND',
  /** The transfer is not in transit (it completed at once, or was received in full). */
  TRANSFER_NOT_IN_TRANSIT = 'TRANSFER_NOT_IN_TRANSIT',
  UNKNOWN_LOT = 'UNKNOWN_LOT',
  LOT_EXPIRED = 'LOT_EXPIRED',
  UNKNOWN_SERIAL = 'UNKNOWN_SERIAL',
  /** A receipt names more, or other lots or serials, than the transfer shipped. */
  RECEIPT_EXCEEDS_SHIPMENT = 'RECEIPT_EXCEEDS_SHIPMENT',
  /** The change would take a quantity beyond 2,147,483,647, the largest kept (see quantityRange.ts). */
  QUANTITY_OUT_OF_RANGE = 'QUANTITY_OUT_OF_RANGE',
}

/**
 * A request the inventory's rules refuse; nothing was changed. Services throw it, the resolvers
 * turn it into a GraphQL error with `code` and `details` in its extensions.
 */
export class InventoryError extends Error {
  constructor(
    readonly code: InventoryErrorCode | 'BAD_USER_INPUT' | 'FORBIDDEN',
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'InventoryError';
  }

  /**
   * FORBIDDEN: the request names locations the caller is not granted (`locationIds`). Checked
   * before whether they exist, so that a partner cannot probe for other locations.
   */
  static notGranted(locationIds: readonly string[]): InventoryError {
    return new InventoryError('FORBIDDEN', locationsNotGrantedMessage(locationIds), { locationIds });
  }

  /** BAD_USER_INPUT naming every problem of the request, each in `problems` (`field`, `message`) too. */
  static badInput(problems: readonly InputProblem[]): InventoryError {
    return new InventoryError('BAD_USER_INPUT', problems.map((p) => `${p.field} ${p.message}`).join('; '), { problems });
  }
}
