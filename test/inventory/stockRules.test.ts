import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyBucketEffects, positionKey } from '../../subgraphs/inventory/domain/applyBucketEffects.ts';
import { earliestPromiseDate } from '../../subgraphs/inventory/domain/promiseDate.ts';
import { summarizeStockLevel, type PositionState } from '../../subgraphs/inventory/domain/stockLevelSummary.ts';

const NOW = new Date('2026-11-23T12:00:00Z');
const position = (overrides: Partial<PositionState>): PositionState => ({
  subinventory: 'STOCK', lot: '', nettable: true, lotExpiresAt: null,
  onHandWms: 0, onHandErp: 0, allocated: 0, reserved: 0, inboundInTransit: 0, inboundExpectedAt: null, qualityHold: 0,
  ...overrides,
});

describe('summarizeStockLevel', () => {
  it('counts only nettable stock toward availability', () => {
    const level = summarizeStockLevel([position({ onHandWms: 50 }), position({ subinventory: 'QA', nettable: false, onHandWms: 7 })], 0, NOW);
    assert.deepEqual([level.onHandWms, level.onHandNonNettable, level.available], [50, 7, 50]);
  });

  it("promises neither the ERP's view of on hand nor damaged stock", () => {
    const level = summarizeStockLevel([position({ onHandWms: 40, onHandErp: 90 }), position({ subinventory: 'DAMAGED', nettable: false, onHandWms: 6, onHandErp: 6 })], 0, NOW);
    assert.deepEqual([level.onHandErp, level.damaged, level.available], [90, 6, 40]);
  });

  it('counts on hand in DAMAGED once, as damaged: not as non-nettable, nor as nettable where DAMAGED is flagged so', () => {
    const level = summarizeStockLevel([
      position({ onHandWms: 40 }),
      position({ subinventory: 'QA', nettable: false, onHandWms: 7 }),
      position({ subinventory: 'DAMAGED', nettable: false, onHandWms: 3 }),
      position({ subinventory: 'DAMAGED', lot: 'L1', nettable: true, onHandWms: 2 }),
    ], 0, NOW);
    assert.deepEqual([level.onHandWms, level.onHandNonNettable, level.damaged, level.available], [40, 7, 5, 40]);
  });

  it('never promises an expired lot, and does not subtract its quality hold twice', () => {
    const level = summarizeStockLevel([
      position({ lot: 'A', lotExpiresAt: new Date('2027-01-01'), onHandWms: 30, qualityHold: 4 }),
      position({ lot: 'B', lotExpiresAt: new Date('2026-11-01'), onHandWms: 20, qualityHold: 20 }),
    ], 1, NOW);
    assert.deepEqual([level.onHandWms, level.expired, level.qualityHold, level.available], [50, 20, 4, 25]);
  });

  it('sums inbound and keeps its earliest expected arrival apart from availability', () => {
    const level = summarizeStockLevel([
      position({ onHandWms: 5, inboundInTransit: 10, inboundExpectedAt: new Date('2026-11-26') }),
      position({ lot: 'X', inboundInTransit: 3, inboundExpectedAt: new Date('2026-11-25') }),
    ], 0, NOW);
    assert.deepEqual([level.available, level.inboundInTransit, level.inboundExpectedAt], [5, 13, new Date('2026-11-25')]);
  });
});

describe('earliestPromiseDate', () => {
  const inbound = [{ quantity: 10, expectedAt: new Date('2026-11-30') }, { quantity: 4, expectedAt: new Date('2026-11-25') }];
  it('is now when what is available covers the quantity', () => assert.deepEqual(earliestPromiseDate(5, 5, inbound, NOW), NOW));
  it('is the arrival that first covers it, in arrival order', () => {
    assert.deepEqual(earliestPromiseDate(8, 5, inbound, NOW), new Date('2026-11-25'));
    assert.deepEqual(earliestPromiseDate(19, 5, inbound, NOW), new Date('2026-11-30'));
  });
  it('is null when even every inbound quantity falls short', () => assert.equal(earliestPromiseDate(20, 5, inbound, NOW), null));
});

describe('applyBucketEffects', () => {
  const stock = new Map([[positionKey('STOCK', ''), position({ onHandWms: 10, allocated: 2 })]]);
  const blank = (subinventory: string, lot: string) => (subinventory === 'NOWHERE' ? null : position({ subinventory, lot }));

  it('applies adds and absolute sets in order, reporting the buckets that changed', () => {
    const result = applyBucketEffects(stock, [
      { subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'add', quantity: -3 },
      { subinventory: 'QA', lot: '', bucket: 'onHandWms', op: 'set', quantity: 4 },
      { subinventory: 'STOCK', lot: '', bucket: 'allocated', op: 'add', quantity: 0 },
    ], blank);
    assert.ok(result.ok);
    assert.equal(result.positions.get(positionKey('STOCK', ''))!.onHandWms, 7);
    assert.equal(result.positions.get(positionKey('QA', ''))!.onHandWms, 4);
    assert.deepEqual([...result.changedBuckets], ['onHandWms']);
    assert.equal(stock.get(positionKey('STOCK', ''))!.onHandWms, 10, 'the input is left as it was');
  });

  it('reports what the effects did to each position\'s on hand end to end: a count its delta, effects that cancel out nothing', () => {
    const result = applyBucketEffects(stock, [
      { subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'set', quantity: 7 },
      { subinventory: 'DAMAGED', lot: 'L1', bucket: 'onHandWms', op: 'add', quantity: 2 },
      { subinventory: 'QA', lot: '', bucket: 'onHandWms', op: 'add', quantity: 4 },
      { subinventory: 'QA', lot: '', bucket: 'onHandWms', op: 'add', quantity: -4 },
      { subinventory: 'STOCK', lot: '', bucket: 'allocated', op: 'add', quantity: 1 },
    ], (subinventory, lot) => position({ subinventory, lot, nettable: false }));
    assert.ok(result.ok);
    assert.deepEqual(result.onHandChanges, [
      { subinventory: 'STOCK', lot: '', nettable: true, change: -3 },
      { subinventory: 'DAMAGED', lot: 'L1', nettable: false, change: 2 },
    ]);
  });

  it('refuses, as a whole, a change that would drive on hand below zero', () => {
    const result = applyBucketEffects(stock, [
      { subinventory: 'STOCK', lot: '', bucket: 'allocated', op: 'add', quantity: 5 },
      { subinventory: 'STOCK', lot: '', bucket: 'onHandWms', op: 'add', quantity: -11 },
    ], blank);
    assert.deepEqual(result, { ok: false, code: 'NEGATIVE_STOCK', reason: 'onHandWms in STOCK would go from 10 to -1' });
  });

  it('stops expectations (allocated, inbound) at zero instead of refusing', () => {
    const result = applyBucketEffects(stock, [{ subinventory: 'STOCK', lot: '', bucket: 'allocated', op: 'add', quantity: -5 }], blank);
    assert.ok(result.ok);
    assert.equal(result.positions.get(positionKey('STOCK', ''))!.allocated, 0);
  });

  it('refuses a subinventory the location does not have', () => {
    const result = applyBucketEffects(stock, [{ subinventory: 'NOWHERE', lot: '', bucket: 'onHandWms', op: 'add', quantity: 1 }], blank);
    assert.equal(result.ok ? null : result.code, 'UNKNOWN_SUBINVENTORY');
  });
});
