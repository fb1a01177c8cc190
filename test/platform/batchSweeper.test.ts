import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sweepUntilShort } from '../../platform/concurrency/batchSweeper.ts';

describe('sweepUntilShort', () => {
  it('sweeps batch after batch until one comes back short, letting the event loop run between batches', async () => {
    // Batches that settle without I/O, as the embedded database's can: only microtasks.
    const due = [3, 3, 3, 1];
    const handledWhenTheTimerRan: number[] = [];
    let handled = 0;
    setImmediate(() => handledWhenTheTimerRan.push(handled));

    const total = await sweepUntilShort(async (batchSize) => {
      const batch = Math.min(batchSize, due.shift() ?? 0);
      handled += batch;
      return batch;
    }, 3);

    assert.equal(total, 10);
    assert.equal(handledWhenTheTimerRan.length, 1, 'a callback waiting on the event loop ran during the sweep');
    assert.ok(handledWhenTheTimerRan[0]! < total, `it ran after ${handledWhenTheTimerRan[0]} of ${total}, not once the sweep was over`);
  });
});
