import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { availableToPromise, type PromisableBuckets } from '../../subgraphs/inventory/domain/availableToPromise.ts';

const none: PromisableBuckets = { onHandNettable: 0, allocated: 0, reserved: 0, qualityHold: 0, safetyStock: 0 };

describe('availableToPromise', () => {
  it('is the nettable on hand when nothing is held', () => {
    assert.equal(availableToPromise({ ...none, onHandNettable: 40 }), 40);
  });

  for (const bucket of ['allocated', 'reserved', 'qualityHold', 'safetyStock'] as const) {
    it(`subtracts ${bucket}`, () => {
      assert.equal(availableToPromise({ ...none, onHandNettable: 40, [bucket]: 15 }), 25);
    });
  }

  it('subtracts every hold together', () => {
    assert.equal(availableToPromise({ onHandNettable: 100, allocated: 10, reserved: 20, qualityHold: 5, safetyStock: 7 }), 58);
  });

  it('never goes below zero when holds exceed on hand', () => {
    assert.equal(availableToPromise({ ...none, onHandNettable: 10, allocated: 8, safetyStock: 5 }), 0);
  });
});
