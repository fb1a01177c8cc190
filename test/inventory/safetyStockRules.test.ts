import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_STOCK_QUANTITY } from '../../subgraphs/inventory/domain/quantityRange.ts';
import { MAX_SAFETY_STOCK_LINES, validateSafetyStockLines } from '../../subgraphs/inventory/domain/safetyStock/safetyStockRequest.ts';

const line = (sku: string, locationId: string, quantity: number | null) => ({ sku, locationId, quantity });

describe('validateSafetyStockLines', () => {
  it('takes whole quantities from 0 to the largest kept, and null to follow the default again', () => {
    assert.deepEqual(validateSafetyStockLines([line('A', 'DC-01', 0), line('A', 'DC-02', MAX_STOCK_QUANTITY), line('B', 'DC-01', null)]), []);
  });

  it('names every line whose quantity is negative, fractional or beyond the largest kept, all at once', () => {
    const problems = validateSafetyStockLines([line('A', 'DC-01', -1), line('A', 'DC-02', 5), line('A', 'DC-03', 2.5), line('A', 'DC-04', MAX_STOCK_QUANTITY + 1)]);

    assert.deepEqual(problems.map((problem) => problem.field), ['lines[0].quantity', 'lines[2].quantity', 'lines[3].quantity']);
    assert.match(problems[0]!.message, /must be a whole number from 0 to 2,147,483,647, or null, got -1/);
  });

  it('refuses a level named twice, whatever the quantities, naming the repeat and the first', () => {
    const problems = validateSafetyStockLines([line('A', 'DC-01', 3), line('A', 'DC-02', 3), line('A', 'DC-01', null)]);

    assert.deepEqual(problems, [{ field: 'lines[2]', message: 'names A at DC-01 again (first in lines[0]): each stock level at most once' }]);
  });

  it('tells apart levels whose SKU and location only run together the same way', () => {
    assert.deepEqual(validateSafetyStockLines([line('A-B', 'C', 1), line('A', 'B-C', 1)]), []);
  });

  it(`takes ${MAX_SAFETY_STOCK_LINES} lines and refuses one more, in one problem`, () => {
    const lines = (count: number) => Array.from({ length: count }, (_, i) => line(`SKU-${i}`, 'DC-01', 1));

    assert.deepEqual(validateSafetyStockLines(lines(MAX_SAFETY_STOCK_LINES)), []);
    assert.deepEqual(validateSafetyStockLines(lines(MAX_SAFETY_STOCK_LINES + 1)), [{ field: 'lines', message: 'must be at most 1,000, got 1,001' }]);
  });
});
