import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoundedLabel, OVERFLOW_LABEL } from '../../platform/observability/boundedLabel.ts';

describe('a bounded label', () => {
  it('reports its first values as they are and every later new one as other, for good', () => {
    const label = new BoundedLabel(2);

    const seen = ['a', 'b', 'c', 'a', 'd', 'b'].map((value) => label.valueOf(value));

    assert.deepEqual(seen, ['a', 'b', OVERFLOW_LABEL, 'a', OVERFLOW_LABEL, 'b']);
  });

  it('cuts long values, so that two names differing past the limit share one value', () => {
    const label = new BoundedLabel(2, 4);

    assert.equal(label.valueOf('abcdXYZ'), 'abcd');
    assert.equal(label.valueOf('abcdQRS'), 'abcd');
    assert.equal(label.valueOf('other-one'), 'othe');
    assert.equal(label.valueOf('third'), OVERFLOW_LABEL);
  });
});
