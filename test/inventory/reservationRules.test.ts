import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateReservation } from '../../subgraphs/inventory/domain/reservations/allocateReservation.ts';
import { reservationTransition } from '../../subgraphs/inventory/domain/reservations/reservationLifecycle.ts';
import { validateReservationRequest } from '../../subgraphs/inventory/domain/reservations/reservationRequest.ts';

const candidates = [
  { locationId: 'DC-03', available: 4 },
  { locationId: 'DC-01', available: 3 },
  { locationId: 'DC-02', available: 5 },
];

describe('allocateReservation', () => {
  it('takes the location with the most available first, so that splits stay few', () => {
    assert.deepEqual(allocateReservation(7, candidates, 'most-available'), { ok: true, lines: [{ locationId: 'DC-02', quantity: 5 }, { locationId: 'DC-03', quantity: 2 }] });
    assert.deepEqual(allocateReservation(5, candidates, 'most-available'), { ok: true, lines: [{ locationId: 'DC-02', quantity: 5 }] });
  });

  it('fills locations in the priority order given', () => {
    assert.deepEqual(allocateReservation(6, candidates, 'priority'), { ok: true, lines: [{ locationId: 'DC-03', quantity: 4 }, { locationId: 'DC-01', quantity: 2 }] });
  });

  it('allocates nothing when the locations together fall short, and says how much they have', () => {
    assert.deepEqual(allocateReservation(13, candidates, 'priority'), { ok: false, available: 12 });
    assert.deepEqual(allocateReservation(1, [], 'most-available'), { ok: false, available: 0 });
  });
});

describe('reservationTransition', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  const later = new Date('2026-11-23T12:15:00Z');
  const earlier = new Date('2026-11-23T11:59:59Z');

  it('confirms, releases and extends an ACTIVE reservation, changing stock for the first two', () => {
    assert.deepEqual(reservationTransition('ACTIVE', later, 'confirm', now), { ok: true, status: 'CONFIRMED', changesStock: true });
    assert.deepEqual(reservationTransition('ACTIVE', later, 'release', now), { ok: true, status: 'RELEASED', changesStock: true });
    assert.deepEqual(reservationTransition('ACTIVE', later, 'extend', now), { ok: true, status: 'ACTIVE', changesStock: false });
  });

  it('treats an ACTIVE reservation past its expiry as EXPIRED: no confirm, no extend, but release and expire free its stock', () => {
    assert.deepEqual(reservationTransition('ACTIVE', earlier, 'confirm', now), { ok: false, status: 'EXPIRED' });
    assert.deepEqual(reservationTransition('ACTIVE', earlier, 'extend', now), { ok: false, status: 'EXPIRED' });
    assert.deepEqual(reservationTransition('ACTIVE', earlier, 'release', now), { ok: true, status: 'RELEASED', changesStock: true });
    assert.deepEqual(reservationTransition('ACTIVE', earlier, 'expire', now), { ok: true, status: 'EXPIRED', changesStock: true });
    assert.deepEqual(reservationTransition('ACTIVE', later, 'expire', now), { ok: false, status: 'ACTIVE' });
  });

  it('lets a repeated confirm or release succeed without changing stock, and refuses crossing over', () => {
    assert.deepEqual(reservationTransition('CONFIRMED', later, 'confirm', now), { ok: true, status: 'CONFIRMED', changesStock: false });
    assert.deepEqual(reservationTransition('RELEASED', later, 'release', now), { ok: true, status: 'RELEASED', changesStock: false });
    assert.deepEqual(reservationTransition('EXPIRED', earlier, 'release', now), { ok: true, status: 'EXPIRED', changesStock: false });
    assert.deepEqual(reservationTransition('CONFIRMED', later, 'release', now), { ok: false, status: 'CONFIRMED' });
    assert.deepEqual(reservationTransition('RELEASED', later, 'confirm', now), { ok: false, status: 'RELEASED' });
  });
});

describe('validateReservationRequest', () => {
  it('reports every bad field at once', () => {
    const problems = validateReservationRequest(
      { sku: 'SKU-1', quantity: 0, locationId: null, channel: ' ', reference: 'cart-1', ttlSeconds: 90_000, idempotencyKey: 'k' },
      86_400,
    );
    assert.deepEqual(problems.map((p) => p.field), ['quantity', 'ttlSeconds', 'channel']);
  });
});
