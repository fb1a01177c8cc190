/** Where a reservation stands; see Reservation.status in schema.graphql. */
export type ReservationStatus = 'ACTIVE' | 'CONFIRMED' | 'RELEASED' | 'EXPIRED';

export type ReservationAction = 'extend' | 'confirm' | 'release' | 'expire';

export type TransitionResult =
  | { readonly ok: true; readonly status: ReservationStatus; readonly changesStock: boolean }
  | { readonly ok: false; readonly status: ReservationStatus };

/** The reservation's status as it stands at `now`: an ACTIVE one past its time to live is EXPIRED, even before the sweeper has released it. */
export function effectiveReservationStatus(status: ReservationStatus, expiresAt: Date, now: Date): ReservationStatus {
  return status === 'ACTIVE' && expiresAt <= now ? 'EXPIRED' : status;
}

/**
 * What `action` does to a reservation in `status` whose time to live ends at `expiresAt`.
 * An ACTIVE reservation past its time to live counts as EXPIRED even before the sweeper has
 * released it: it can no longer be extended or confirmed. Repeating an action that already
 * took effect (releasing a released reservation, confirming a confirmed one) succeeds without
 * changing anything, so that clients can retry; releasing an expired one likewise, since its
 * stock is free either way.
 */
export function reservationTransition(status: ReservationStatus, expiresAt: Date, action: ReservationAction, now: Date): TransitionResult {
  const effective = effectiveReservationStatus(status, expiresAt, now);
  switch (action) {
    case 'extend':
      return effective === 'ACTIVE' ? { ok: true, status: 'ACTIVE', changesStock: false } : { ok: false, status: effective };
    case 'confirm':
      if (effective === 'ACTIVE') return { ok: true, status: 'CONFIRMED', changesStock: true };
      return effective === 'CONFIRMED' ? { ok: true, status: 'CONFIRMED', changesStock: false } : { ok: false, status: effective };
    case 'release':
      if (status === 'ACTIVE') return { ok: true, status: 'RELEASED', changesStock: true };
      return status === 'RELEASED' || status === 'EXPIRED' ? { ok: true, status, changesStock: false } : { ok: false, status };
    case 'expire':
      return effective === 'EXPIRED' && status === 'ACTIVE' ? { ok: true, status: 'EXPIRED', changesStock: true } : { ok: false, status };
    default: {
      const unhandled: never = action;
      throw new TypeError(`Unknown reservation action ${String(unhandled)}`);
    }
  }
}
