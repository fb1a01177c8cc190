import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedBatcher } from '../../platform/concurrency/keyedBatcher.ts';
import { allocateReservation } from '../../subgraphs/inventory/domain/reservations/allocateReservation.ts';
import { reservationTransition } from '../../subgraphs/inventory/domain/reservations/reservationLifecycle.ts';
import { validateReservationRequest } from '../../subgraphs/inventory/domain/reservations/reservationRequest.ts';
import { requestFingerprint } from '../../subgraphs/inventory/domain/requestFingerprint.ts';

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

describe('requestFingerprint', () => {
  it('ignores the order of keys and tells different values apart', () => {
    assert.equal(requestFingerprint({ a: 1, b: [1, { c: 'x' }] }), requestFingerprint({ b: [1, { c: 'x' }], a: 1 }));
    assert.notEqual(requestFingerprint({ a: 1, b: null }), requestFingerprint({ a: 1, b: 'null' }));
  });
});

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
});
