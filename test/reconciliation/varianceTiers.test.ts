import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../platform/config/environment.ts';
import { readReconciliationConfig } from '../../subgraphs/reconciliation/reconciliationConfig.ts';

const tiers = (settings: unknown) => readReconciliationConfig({ RECONCILIATION_TIERS: JSON.stringify(settings) }).tierRules;

/** Asserts that `settings` are refused at start, naming RECONCILIATION_TIERS and the path at fault. */
function assertRefused(settings: unknown, message: RegExp) {
  assert.throws(() => readReconciliationConfig({ RECONCILIATION_TIERS: typeof settings === 'string' ? settings : JSON.stringify(settings) }), (error: unknown) => {
    assert.ok(error instanceof ConfigurationError, String(error));
    assert.equal(error.variable, 'RECONCILIATION_TIERS');
    assert.match(error.message, message);
    return true;
  });
}

describe('reconciliation tiers from RECONCILIATION_TIERS', () => {
  it('defaults to under 5 units AUTO_CORRECT, over 50 ALERT, for every position', () => {
    assert.deepEqual(readReconciliationConfig({}).tierRules, [
      { autoCorrectBelow: 5, alertAbove: 50, autoCorrectBelowPercent: null, alertAbovePercent: null, precedence: 0, skuPattern: null, locationId: null },
    ]);
  });

  it('puts item classes first, in the order written, then locations, then the default; each entry takes what it leaves out from the default', () => {
    const rules = tiers({
      default: { autoCorrectBelow: 3, alertAbovePercent: 40 },
      locations: { 'DC-01': { alertAbove: 20 } },
      itemClasses: { bulky: { skus: '^BULK-', autoCorrectBelow: 20, alertAbove: 500 }, fragile: { skus: '^FRG-', alertAbovePercent: 10 } },
    });

    assert.deepEqual(rules.map((rule) => [rule.precedence, rule.skuPattern, rule.locationId, rule.autoCorrectBelow, rule.alertAbove, rule.autoCorrectBelowPercent, rule.alertAbovePercent]), [
      [0, '^BULK-', null, 20, 500, null, 40],
      [1, '^FRG-', null, 3, 50, null, 10],
      [2, null, 'DC-01', 3, 20, null, 40],
      [3, null, null, 3, 50, null, 40],
    ]);
  });

  it('takes percent thresholds beside the units, and a REVIEW band of none (autoCorrectBelow = alertAbove + 1)', () => {
    const [rule] = tiers({ default: { autoCorrectBelow: 11, alertAbove: 10, autoCorrectBelowPercent: 0.5, alertAbovePercent: 0.5 } });

    assert.deepEqual([rule!.autoCorrectBelow, rule!.alertAbove, rule!.autoCorrectBelowPercent, rule!.alertAbovePercent], [11, 10, 0.5, 0.5]);
  });

  it('refuses thresholds that are negative or not whole units, naming where', () => {
    assertRefused({ default: { autoCorrectBelow: -1 } }, /RECONCILIATION_TIERS default\.autoCorrectBelow: must be at least 0/);
    assertRefused({ locations: { 'DC-02': { alertAbove: 7.5 } } }, /locations\.DC-02\.alertAbove: must be a whole number of units/);
    assertRefused({ itemClasses: { bulky: { skus: 'B', alertAbovePercent: -2 } } }, /itemClasses\.bulky\.alertAbovePercent: must be at least 0/);
  });

  it('refuses tiers that overlap: a variance both under the auto-correct and over the alert threshold', () => {
    assertRefused({ default: { autoCorrectBelow: 60 } }, /default: autoCorrectBelow \(60\) overlaps the alert tier: it must be at most alertAbove \+ 1 \(51\)/);
    assertRefused({ locations: { 'DC-01': { autoCorrectBelow: 10, alertAbove: 5 } } }, /locations\.DC-01: autoCorrectBelow \(10\)/);
    assertRefused({ default: { autoCorrectBelowPercent: 5, alertAbovePercent: 2 } }, /default: autoCorrectBelowPercent \(5\) overlaps the alert tier: it must be at most alertAbovePercent \(2\)/);
  });

  it('refuses unknown keys, a bad regular expression, a numeric class name and what is not JSON', () => {
    assertRefused({ defaults: {} }, /\(the whole value\): Unrecognized key: "defaults"/);
    assertRefused({ default: { autoCorrectAbove: 3 } }, /default: Unrecognized key: "autoCorrectAbove"/);
    assertRefused({ itemClasses: { bulky: { autoCorrectBelow: 3 } } }, /itemClasses\.bulky\.skus/);
    assertRefused({ itemClasses: { broken: { skus: '^(SKU' } } }, /itemClasses\.broken\.skus: is not a regular expression/);
    assertRefused({ itemClasses: { 7: { skus: '^7' } } }, /itemClasses\.7: a class name must not be a number/);
    assertRefused('{"default": ', /must be JSON/);
  });

  it('reads the schedule, orphan threshold and adjustments, and turns scheduled runs off with 0', () => {
    const defaults = readReconciliationConfig({});
    const configured = readReconciliationConfig({
      RECONCILIATION_INTERVAL_SECONDS: '0', RECONCILIATION_ORPHAN_AFTER_SECONDS: '60', RECONCILIATION_ADJUSTMENT_SUBINVENTORY: 'ADJ', RECONCILIATION_DEFAULT_UNIT: 'PC',
    });

    assert.deepEqual([defaults.scheduleIntervalMs, defaults.orphanAfterSeconds, defaults.adjustmentSubinventory, defaults.defaultUnitOfMeasure, defaults.runLeaseMs], [900_000, 3_600, 'STOCK', 'EA', 30_000]);
    assert.deepEqual([configured.scheduleIntervalMs, configured.orphanAfterSeconds, configured.adjustmentSubinventory, configured.defaultUnitOfMeasure], [null, 60, 'ADJ', 'PC']);
    assert.throws(() => readReconciliationConfig({ RECONCILIATION_INTERVAL_SECONDS: '-5' }), /RECONCILIATION_INTERVAL_SECONDS must be at least 0/);
  });
});
