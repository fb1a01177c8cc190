import { effectiveReservationStatus, type ReservationStatus } from '../reservations/reservationLifecycle.ts';
import type { HoldLine } from './holdRequest.ts';

/** What a hold line needs to know of the reservation it names. */
export interface ReservationToConsume {
  readonly sku: string;
  readonly quantity: number;
  readonly channel: string;
  readonly status: ReservationStatus;
  readonly expiresAt: Date;
  /** Where its lines hold the stock. */
  readonly locationIds: readonly string[];
}

/** A field in which line and reservation differ: what each says. */
export interface ReservationDifference {
  readonly line: unknown;
  readonly reservation: unknown;
}

export type ReservationMatch =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'RESERVATION_MISMATCH'; readonly mismatch: Readonly<Record<string, ReservationDifference>> }
  | { readonly ok: false; readonly code: 'RESERVATION_NOT_ACTIVE'; readonly status: ReservationStatus };

/**
 * Whether an order of `channel` may consume `reservation` for `line`: the same SKU, quantity and
 * channel, and, when the line names a location, every part of it held there (RESERVATION_MISMATCH
 * names each field that differs); and ACTIVE before its expiry (RESERVATION_NOT_ACTIVE with its
 * status, EXPIRED once past expiry even before the sweeper released it). Mismatches are judged
 * first: the status of a reservation that is not the line's is none of the order's business.
 */
export function matchReservation(line: HoldLine, channel: string, reservation: ReservationToConsume, now: Date): ReservationMatch {
  const mismatch: Record<string, ReservationDifference> = {};
  if (reservation.sku !== line.sku) mismatch.sku = { line: line.sku, reservation: reservation.sku };
  if (reservation.quantity !== line.quantity) mismatch.quantity = { line: line.quantity, reservation: reservation.quantity };
  if (reservation.channel !== channel) mismatch.channel = { line: channel, reservation: reservation.channel };
  if (line.locationId !== null && reservation.locationIds.some((locationId) => locationId !== line.locationId)) {
    mismatch.locationId = { line: line.locationId, reservation: reservation.locationIds };
  }
  if (Object.keys(mismatch).length > 0) return { ok: false, code: 'RESERVATION_MISMATCH', mismatch };
  const status = effectiveReservationStatus(reservation.status, reservation.expiresAt, now);
  return status === 'ACTIVE' ? { ok: true } : { ok: false, code: 'RESERVATION_NOT_ACTIVE', status };
}
