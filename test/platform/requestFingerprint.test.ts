import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { requestFingerprint } from '../../platform/lang/requestFingerprint.ts';

describe('requestFingerprint', () => {
  it('ignores the order of keys and tells different values apart', () => {
    assert.equal(requestFingerprint({ a: 1, b: [1, { c: 'x' }] }), requestFingerprint({ b: [1, { c: 'x' }], a: 1 }));
    assert.notEqual(requestFingerprint({ a: 1, b: null }), requestFingerprint({ a: 1, b: 'null' }));
  });
});
