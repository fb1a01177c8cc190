import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedBatcher } from '../../platform/concurrency/keyedBatcher.ts';
import { currentCorrelationId, runInRequestContext } from '../../platform/observability/requestContext.ts';

describe('KeyedBatcher', () => {
  it('runs a lone request at once, and groups what arrives for a busy key into the next batch', async () => {
    const batches: string[][] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const batcher = new KeyedBatcher<string, string>(async (key, requests) => {
      batches.push([key, ...requests]);
      if (batches.length === 1) await firstHeld;
      return requests.map((request) => `${request}!`);
    });

    const first = batcher.submit('A', 'a1');
    const queued = [batcher.submit('A', 'a2'), batcher.submit('A', 'a3')];
    const otherKey = await batcher.submit('B', 'b1');
    releaseFirst();

    assert.deepEqual(await Promise.all([first, ...queued]), ['a1!', 'a2!', 'a3!']);
    assert.equal(otherKey, 'b1!', 'another key does not wait for a busy one');
    assert.deepEqual(batches, [['A', 'a1'], ['B', 'b1'], ['A', 'a2', 'a3']]);
  });

  it("runs a batch under its requests' correlation id when they share one, and under none when they differ", async () => {
    const seen: [string[], string | undefined][] = [];
    const holds: (() => void)[] = [];
    const batcher = new KeyedBatcher<string, string>(async (_, requests) => {
      seen.push([[...requests], currentCorrelationId()]);
      // A request named `hold` keeps the key busy until released, so that the next ones batch up behind it.
      if (requests.includes('hold')) await new Promise<void>((resolve) => holds.push(resolve));
      return [...requests];
    });
    const as = (correlationId: string, request: string) => runInRequestContext({ correlationId }, () => batcher.submit('A', request));

    const first = as('first', 'hold');
    const mixed = [as('second', 'r2'), as('third', 'r3')];
    holds.shift()!();
    await Promise.all([first, ...mixed]);
    const again = as('first', 'hold');
    const shared = [as('fifth', 'r5'), as('fifth', 'r6')];
    holds.shift()!();
    await Promise.all([again, ...shared]);

    assert.deepEqual(seen, [
      [['hold'], 'first'],
      [['r2', 'r3'], undefined], // not the id of the request that started the drain
      [['hold'], 'first'],
      [['r5', 'r6'], 'fifth'],
    ]);
  });

  it('runs up to maxConcurrentBatches batches of one key at once', async () => {
    const started: string[][] = [];
    const releases: (() => void)[] = [];
    const batcher = new KeyedBatcher<string, string>(async (_, requests) => {
      started.push([...requests]);
      await new Promise<void>((resolve) => releases.push(resolve));
      return [...requests];
    }, { maxConcurrentBatches: 2 });

    const answers = ['r1', 'r2', 'r3', 'r4'].map((request) => batcher.submit('hot', request));
    assert.deepEqual(started, [['r1'], ['r2']], 'a second batch starts while the first runs; the rest wait');
    releases.shift()!();
    await answers[0];
    assert.deepEqual(started[2], ['r3', 'r4'], 'the first runner to finish takes all that waited');
    while (releases.length) releases.shift()!();
    assert.deepEqual(await Promise.all(answers), ['r1', 'r2', 'r3', 'r4']);
  });

  it('rejects the requests whose result is an Error, and the whole batch when the runner throws', async () => {
    const batcher = new KeyedBatcher<number, number>(async (_, requests) => {
      if (requests.includes(13)) throw new Error('unlucky batch');
      return requests.map((n) => (n < 0 ? new RangeError(`negative: ${n}`) : n * 2));
    });
    assert.equal(await batcher.submit('k', 2), 4);
    await assert.rejects(batcher.submit('k', -1), RangeError);
    await assert.rejects(batcher.submit('k', 13), /unlucky batch/);
    assert.equal(await batcher.submit('k', 3), 6, 'the key serves again after a failed batch');
  });

  it('counts each request as sizeOf units toward maxBatchSize, and runs one larger than that alone', async () => {
    const batches: string[][] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const batcher = new KeyedBatcher<string[], number>(async (_, requests) => {
      batches.push(requests.map((items) => items.join('')));
      if (batches.length === 1) await firstHeld;
      return requests.map((items) => items.length);
    }, { maxBatchSize: 4, sizeOf: (items) => items.length });

    const first = batcher.submit('k', ['a']);
    const waiting = [['b', 'c'], ['d', 'e'], ['f'], ['g', 'h', 'i', 'j', 'k'], ['l']].map((items) => batcher.submit('k', items));
    releaseFirst();

    assert.deepEqual(await Promise.all([first, ...waiting]), [1, 2, 2, 1, 5, 1]);
    assert.deepEqual(batches, [['a'], ['bc', 'de'], ['f'], ['ghijk'], ['l']], 'a batch takes the waiting requests while they fit, and at least one');
  });
});
