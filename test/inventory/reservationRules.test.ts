import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateReservation } from '../../subgraphs/inventory/domain/reservations/allocateReservation.ts';
import { reservationTransition } from '../../subgraphs/inventory/domain/reservations/reservationLifecycle.ts';
import { chooseReservedLots, planLotExpiry, reservableInLots } from '../../subgraphs/inventory/domain/reservations/reservationLots.ts';
import { validateReservationRequest } from '../../subgraphs/inventory/domain/reservations/reservationRequest.ts';
import type { PositionState } from '../../subgraphs/inventory/domain/stockLevelSummary.ts';

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

describe('lots of a reservation', () => {
  const now = new Date('2026-12-09T12:00:00Z');
  const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
  const position = (lot: string, expiresAt: Date | null, onHandWms: number, held: Partial<PositionState> = {}): PositionState => ({
    subinventory: 'STOCK', lot, nettable: true, lotExpiresAt: expiresAt, onHandWms, onHandErp: 0, allocated: 0, reserved: 0,
    inboundInTransit: 0, inboundExpectedAt: null, qualityHold: 0, ...held,
  });
  const positions = (...list: PositionState[]) => new Map(list.map((p) => [`${p.subinventory}\u0000${p.lot}`, p]));

  it('holds the first-expiring unexpired lots first, no expiry last, only what nothing else holds', () => {
    const stock = [
      position('GONE', days(-1), 50),
      position('NEVER', null, 10),
      position('LATE', days(30), 5, { reserved: 1, qualityHold: 1 }),
      position('SOON', days(2), 4, { allocated: 1 }),
      { ...position('QA-ONLY', days(1), 9), subinventory: 'QA', nettable: false },
    ];
    assert.deepEqual(chooseReservedLots(8, stock, now), [
      { subinventory: 'STOCK', lot: 'SOON', expiresAt: days(2), quantity: 3 },
      { subinventory: 'STOCK', lot: 'LATE', expiresAt: days(30), quantity: 3 },
      { subinventory: 'STOCK', lot: 'NEVER', expiresAt: null, quantity: 2 },
    ]);
    assert.equal(chooseReservedLots(17, stock, now), null, 'the expired lot and the QA lot are never held');
    assert.equal(reservableInLots(stock, 100, now), 16);
    assert.equal(reservableInLots(stock, 7, now), 7, 'never more than the level can promise');
  });

  it('replaces a lot that expired while held by the next unexpired ones, as far as the location can promise, and releases the rest', () => {
    const line = { quantity: 5, lots: [{ subinventory: 'STOCK', lot: 'OLD', expiresAt: days(-1), quantity: 3 }, { subinventory: 'STOCK', lot: 'LATE', expiresAt: days(30), quantity: 2 }] };
    const stock = positions(position('OLD', days(-1), 3, { reserved: 3 }), position('LATE', days(30), 4, { reserved: 2 }), position('NEXT', days(10), 2));

    const partly = planLotExpiry(line, stock, 0, now);
    assert.deepEqual(partly.expired, [line.lots[0]]);
    assert.deepEqual(partly.lots, [
      { subinventory: 'STOCK', lot: 'NEXT', expiresAt: days(10), quantity: 2 },
      { subinventory: 'STOCK', lot: 'LATE', expiresAt: days(30), quantity: 3 },
    ], 'NEXT first, then more of LATE, which it held already');
    assert.equal(partly.quantity, 5);
    assert.deepEqual(partly.effects, [
      { subinventory: 'STOCK', lot: 'OLD', bucket: 'reserved', op: 'add', quantity: -3 },
      { subinventory: 'STOCK', lot: 'NEXT', bucket: 'reserved', op: 'add', quantity: 2 },
      { subinventory: 'STOCK', lot: 'LATE', bucket: 'reserved', op: 'add', quantity: 1 },
    ]);

    const withSafetyStock = planLotExpiry(line, stock, 3, now);
    assert.equal(withSafetyStock.quantity, 3, 'safety stock is never promised: 1 of the 3 expired units is replaced');
    assert.deepEqual(withSafetyStock.lots.map((lot) => [lot.lot, lot.quantity]), [['NEXT', 1], ['LATE', 2]]);
  });

  it('releases a line whose only lot expired when no other can replace it, and leaves a line without expired lots alone', () => {
    const expiredOnly = { quantity: 4, lots: [{ subinventory: 'STOCK', lot: 'OLD', expiresAt: days(-1), quantity: 4 }] };
    const gone = planLotExpiry(expiredOnly, positions(position('OLD', days(-1), 4, { reserved: 4 }), position('NEXT', days(10), 3, { allocated: 3 })), 0, now);
    assert.deepEqual([gone.quantity, gone.lots, gone.effects], [0, [], [{ subinventory: 'STOCK', lot: 'OLD', bucket: 'reserved', op: 'add', quantity: -4 }]]);

    const fresh = { quantity: 2, lots: [{ subinventory: 'STOCK', lot: 'LATE', expiresAt: days(30), quantity: 2 }] };
    assert.deepEqual(planLotExpiry(fresh, positions(position('LATE', days(30), 2, { reserved: 2 })), 0, now), { lots: fresh.lots, expired: [], quantity: 2, effects: [] });
  });
});
