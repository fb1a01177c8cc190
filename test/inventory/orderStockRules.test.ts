import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdBatchProblems, holdFingerprint, type HoldRequest } from '../../subgraphs/inventory/domain/orders/holdRequest.ts';
import { pickCoverage, planOrderPick, planOrderShip, unshippedRemainder } from '../../subgraphs/inventory/domain/orders/orderAllocation.ts';
import { matchReservation, type ReservationToConsume } from '../../subgraphs/inventory/domain/orders/reservationMatch.ts';
import { planInspection } from '../../subgraphs/inventory/domain/orders/returnInspection.ts';
import { candidateLocations, type ChannelAllocationRules } from '../../subgraphs/inventory/domain/reservations/allocateReservation.ts';
import { reservationLineEffects } from '../../subgraphs/inventory/domain/reservations/reservationEffects.ts';

const line = (lineNumber: number, fields: Partial<HoldRequest['lines'][number]> = {}) =>
  ({ lineNumber, sku: 'SKU-1', quantity: 2, locationId: null, reservationId: null, ...fields });
const order = (lines: HoldRequest['lines']): HoldRequest => ({ orderId: 'ORD-1', reference: 'WEB-1', channel: 'WEB', lines });

describe('holdFingerprint', () => {
  it('is the same for the same lines in another order, and differs for other lines, reference or channel', () => {
    const held = order([line(1), line(2, { sku: 'SKU-2' })]);

    assert.equal(holdFingerprint(held), holdFingerprint({ ...held, lines: [...held.lines].reverse() }));
    assert.equal(holdFingerprint(held), holdFingerprint({ ...held, orderId: 'ORD-2' }), 'the order id is the key, not part of the request');
    assert.notEqual(holdFingerprint(held), holdFingerprint(order([line(1), line(2, { sku: 'SKU-2', quantity: 3 })])));
    assert.notEqual(holdFingerprint(held), holdFingerprint({ ...held, reference: 'WEB-2' }));
    assert.notEqual(holdFingerprint(held), holdFingerprint({ ...held, channel: 'STORE' }));
  });
});

describe('holdBatchProblems', () => {
  it('names every line number given twice, by hold and line', () => {
    assert.deepEqual(holdBatchProblems([order([line(1), line(2)]), order([line(1), line(1), line(2), line(2)])]), [
      'holds.1.lines.1.lineNumber: line number 1 is given twice (lines.0 has it too)',
      'holds.1.lines.3.lineNumber: line number 2 is given twice (lines.2 has it too)',
    ]);
    assert.deepEqual(holdBatchProblems([order([line(2), line(1)])]), []);
  });
});

describe('matchReservation', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const reservation: ReservationToConsume = {
    sku: 'SKU-1', quantity: 2, channel: 'WEB', status: 'ACTIVE', expiresAt: new Date('2026-12-06T12:15:00Z'), locationIds: ['DC-01', 'DC-02'],
  };

  it('lets an order consume an ACTIVE reservation of its SKU, quantity and channel, wherever it is held when the line names no location', () => {
    assert.deepEqual(matchReservation(line(1, { reservationId: 'RSV-1' }), 'WEB', reservation, now), { ok: true });
    assert.deepEqual(matchReservation(line(1, { locationId: 'DC-01' }), 'WEB', { ...reservation, locationIds: ['DC-01'] }, now), { ok: true });
  });

  it('names every field in which the reservation differs from the line', () => {
    assert.deepEqual(matchReservation(line(1, { sku: 'SKU-9', quantity: 3, locationId: 'DC-01' }), 'STORE', reservation, now), {
      ok: false,
      code: 'RESERVATION_MISMATCH',
      mismatch: {
        sku: { line: 'SKU-9', reservation: 'SKU-1' },
        quantity: { line: 3, reservation: 2 },
        channel: { line: 'STORE', reservation: 'WEB' },
        locationId: { line: 'DC-01', reservation: ['DC-01', 'DC-02'] },
      },
    });
  });

  it('refuses a reservation that is not ACTIVE, counting one past its expiry as EXPIRED', () => {
    assert.deepEqual(matchReservation(line(1), 'WEB', { ...reservation, status: 'CONFIRMED' }, now), { ok: false, code: 'RESERVATION_NOT_ACTIVE', status: 'CONFIRMED' });
    assert.deepEqual(matchReservation(line(1), 'WEB', { ...reservation, expiresAt: now }, now), { ok: false, code: 'RESERVATION_NOT_ACTIVE', status: 'EXPIRED' });
  });

  it('judges a mismatch before the status: the status of another channel\'s reservation is not told', () => {
    const match = matchReservation(line(1), 'STORE', { ...reservation, status: 'RELEASED' }, now);

    assert.deepEqual(match, { ok: false, code: 'RESERVATION_MISMATCH', mismatch: { channel: { line: 'STORE', reservation: 'WEB' } } });
  });
});

describe('order allocations and the warehouse', () => {
  const allocation = (fields: Partial<{ quantity: number; picked: number; shipped: number; released: number }> = {}) =>
    ({ quantity: 5, picked: 0, shipped: 0, released: 0, ...fields });

  it('covers picks up to what was allocated and not picked yet', () => {
    assert.equal(pickCoverage(allocation()), 5);
    assert.equal(pickCoverage(allocation({ picked: 2 })), 3);
    assert.equal(pickCoverage(allocation({ picked: 7 })), 0, 'never below zero');
  });

  it('allocates only the excess of a pick over what the allocations still cover', () => {
    assert.deepEqual(planOrderPick(2, [allocation()]), { allocatedIncrease: 0, picked: [2] });
    assert.deepEqual(planOrderPick(4, [allocation({ picked: 3 })]), { allocatedIncrease: 2, picked: [4] });
    assert.deepEqual(planOrderPick(9, [allocation({ quantity: 3 }), allocation({ quantity: 4 })]), { allocatedIncrease: 2, picked: [3, 6] }, 'the excess counts as the last one\'s');
  });

  it('counts a ship toward the allocations in order, each up to what it has not shipped', () => {
    assert.deepEqual(planOrderShip(2, [allocation()]), { shipped: [2] });
    assert.deepEqual(planOrderShip(6, [allocation({ quantity: 3, picked: 3, shipped: 1 }), allocation({ quantity: 2 })]), { shipped: [2, 4] });
  });

  it('gives back on release what was allocated or picked and is not shipped, nothing twice', () => {
    assert.equal(unshippedRemainder(allocation()), 5);
    assert.equal(unshippedRemainder(allocation({ picked: 2, shipped: 2 })), 3, 'a partial pick and ship');
    assert.equal(unshippedRemainder(allocation({ picked: 7, shipped: 3 })), 4, 'a pick beyond the allocation allocated its excess');
    assert.equal(unshippedRemainder(allocation({ picked: 5, shipped: 5 })), 0);
    assert.equal(unshippedRemainder(allocation({ released: 5 })), 0);
    assert.equal(unshippedRemainder(allocation({ shipped: 8 })), 0, 'never below zero');
  });
});

describe('planInspection', () => {
  it('restocks, then scraps, lot by lot in lot order, from the QA positions that hold units', () => {
    const qa = [{ lot: 'L-B', onHand: 3 }, { lot: 'L-0', onHand: 0 }, { lot: 'L-A', onHand: 2 }];

    assert.deepEqual(planInspection(qa, 3, 1), {
      ok: true,
      moves: [{ lot: 'L-A', quantity: 2, to: 'restock' }, { lot: 'L-B', quantity: 1, to: 'restock' }, { lot: 'L-B', quantity: 1, to: 'scrap' }],
    });
    assert.deepEqual(planInspection([{ lot: '', onHand: 4 }], 0, 4), { ok: true, moves: [{ lot: '', quantity: 4, to: 'scrap' }] });
  });

  it('moves nothing when QA holds fewer units than the inspection, and says how many it holds', () => {
    assert.deepEqual(planInspection([{ lot: 'L-A', onHand: 2 }, { lot: 'L-B', onHand: 1 }], 3, 1), { ok: false, available: 3 });
    assert.deepEqual(planInspection([], 1, 0), { ok: false, available: 0 });
  });
});

describe('reservation effects and candidate locations', () => {
  it('moves a consumed reservation line from reserved to allocated at its position', () => {
    assert.deepEqual(reservationLineEffects({ subinventory: 'STOCK', quantity: 3, lots: [] }, 'consume'), [
      { subinventory: 'STOCK', lot: '', bucket: 'reserved', op: 'add', quantity: -3 },
      { subinventory: 'STOCK', lot: '', bucket: 'allocated', op: 'add', quantity: 3 },
    ]);
  });

  it("takes a consumed line's units out of its lots and allocates them on its subinventory without a lot, where orders keep their allocations", () => {
    const lots = [{ subinventory: 'STOCK', lot: 'L-1', quantity: 2 }, { subinventory: 'STOCK', lot: 'L-2', quantity: 1 }];
    assert.deepEqual(reservationLineEffects({ subinventory: 'STOCK', quantity: 3, lots }, 'consume'), [
      { subinventory: 'STOCK', lot: 'L-1', bucket: 'reserved', op: 'add', quantity: -2 },
      { subinventory: 'STOCK', lot: 'L-2', bucket: 'reserved', op: 'add', quantity: -1 },
      { subinventory: 'STOCK', lot: '', bucket: 'allocated', op: 'add', quantity: 3 },
    ]);
  });

  it('offers the location named, or the channel\'s locations in priority order, or every stocking location; only those that stock the SKU', () => {
    const rules: ChannelAllocationRules = { channelLocations: new Map([['STORE', ['DC-03', 'DC-09', 'DC-01']]]), defaultStrategy: 'most-available', strategyByChannel: new Map() };
    const stocked = new Set(['DC-01', 'DC-02', 'DC-03']);

    assert.deepEqual(candidateLocations('DC-02', 'STORE', stocked, rules, null), ['DC-02']);
    assert.deepEqual(candidateLocations('DC-09', 'WEB', stocked, rules, null), []);
    assert.deepEqual(candidateLocations(null, 'STORE', stocked, rules, null), ['DC-03', 'DC-01']);
    assert.deepEqual(candidateLocations(null, 'WEB', stocked, rules, null), ['DC-01', 'DC-02', 'DC-03']);
  });

  it('offers a requester granted some locations only those, whatever the channel would allow', () => {
    const rules: ChannelAllocationRules = { channelLocations: new Map([['STORE', ['DC-03', 'DC-09', 'DC-01']]]), defaultStrategy: 'most-available', strategyByChannel: new Map() };
    const stocked = new Set(['DC-01', 'DC-02', 'DC-03']);
    const granted = ['DC-01', 'DC-02'];

    assert.deepEqual(candidateLocations(null, 'STORE', stocked, rules, granted), ['DC-01']);
    assert.deepEqual(candidateLocations(null, 'WEB', stocked, rules, granted), ['DC-01', 'DC-02']);
    assert.deepEqual(candidateLocations('DC-03', 'WEB', stocked, rules, granted), [], 'a location named outside the grant serves nothing');
    assert.deepEqual(candidateLocations(null, 'WEB', stocked, rules, []), []);
  });
});
