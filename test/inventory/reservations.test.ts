import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BatchSweeper } from '../../platform/concurrency/batchSweeper.ts';
import type { RunningService } from '../../platform/http/serviceHttpServer.ts';
import { openInfrastructure, type Infrastructure } from '../../platform/infrastructure.ts';
import { seedDemoData } from '../../prisma/seed.ts';
import { ReservationService } from '../../subgraphs/inventory/services/reservationService.ts';
import { graphql } from '../support/graphql.ts';
import { startReplicas } from '../support/inventoryService.ts';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';
import { givenLotStock, givenStock, reservationSettings, stockOf } from '../support/stock.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';

const RESERVATION_FIELDS = 'id sku quantity status channel reference expiresAt lines { locationId quantity }';
const CREATE = `mutation ($input: CreateReservationInput!) { createReservation(input: $input) { ${RESERVATION_FIELDS} } }`;

describe('reservations', () => {
  let database: TestDatabase;
  let infrastructure: Infrastructure;
  // Two replicas of the inventory service on one database, as in production.
  let replicas: RunningService[] = [];
  let nextSku = 0;
  const newSku = () => `RSV-TEST-${String(++nextSku).padStart(3, '0')}`;
  const reserve = (input: Record<string, unknown>, replica = 0) =>
    graphql(replicas[replica]!.url, CREATE, { input: { channel: 'WEB', reference: 'cart-1', ttlSeconds: 600, idempotencyKey: `key-${Math.random()}`, ...input } });
  const mutate = (name: string, id: string, extra = '') => graphql(replicas[0]!.url, `mutation { ${name}(id: "${id}"${extra}) { ${RESERVATION_FIELDS} } }`);

  before(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.db, { skuCount: 20 });
    infrastructure = await openInfrastructure({ database: { kind: 'postgres', url: database.url, poolSize: 20 }, eventBus: { kind: 'in-process' } });
    replicas = await startReplicas(infrastructure, {
      CHANNEL_LOCATIONS: 'STORE=DC-03|DC-01',
      RESERVATION_ALLOCATION: 'most-available,STORE=priority',
      RESERVATION_SWEEP_INTERVAL_MS: '3600000',
      OUTBOX_POLL_INTERVAL_MS: '3600000',
    });
  });

  after(async () => {
    for (const replica of replicas) await replica.stop();
    await infrastructure?.close();
    await database?.drop();
  });

  it('holds stock at a location, out of available, until it is released', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });

    const { data, errors } = await reserve({ sku, quantity: 4, locationId: 'DC-01' });
    assert.equal(errors, undefined);
    assert.equal(data.createReservation.status, 'ACTIVE');
    assert.deepEqual(data.createReservation.lines, [{ locationId: 'DC-01', quantity: 4 }]);
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 6, reserved: 4, allocated: 0 });

    const released = await mutate('releaseReservation', data.createReservation.id);
    assert.equal(released.data.releaseReservation.status, 'RELEASED');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 10, reserved: 0, allocated: 0 });
    const again = await mutate('releaseReservation', data.createReservation.id);
    assert.equal(again.data.releaseReservation.status, 'RELEASED', 'a repeated release succeeds');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 10, reserved: 0, allocated: 0 }, '... and gives nothing back twice');
  });

  it('spreads a reservation without a location by the channel strategy: most available first, or the channel priority', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 3, 'DC-02': 5, 'DC-03': 4 });

    const web = await reserve({ sku, quantity: 7, channel: 'WEB' });
    assert.deepEqual(web.data.createReservation.lines, [{ locationId: 'DC-02', quantity: 5 }, { locationId: 'DC-03', quantity: 2 }]);
    const store = await reserve({ sku, quantity: 3, channel: 'STORE' });
    assert.deepEqual(store.data.createReservation.lines, [{ locationId: 'DC-01', quantity: 1 }, { locationId: 'DC-03', quantity: 2 }], 'DC-03 first, then DC-01');
  });

  it('reserves nothing when the stock falls short, and says how much was available', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 3, 'DC-02': 5 }, { safetyStock: 1 });

    const { data, errors } = await reserve({ sku, quantity: 7 });
    assert.equal(data, null);
    assert.equal(errors?.[0]?.extensions?.code, 'INSUFFICIENT_STOCK');
    assert.equal(errors?.[0]?.extensions?.available, 6, 'safety stock is never promised');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 2, reserved: 0, allocated: 0 });
    assert.deepEqual(await stockOf(database.db, sku, 'DC-02'), { available: 4, reserved: 0, allocated: 0 });
  });

  it('returns the first result for a retried idempotency key, refuses the key for another request, and makes one reservation under concurrent retries', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const input = { sku, quantity: 2, locationId: 'DC-01', idempotencyKey: `retry-${sku}` };

    const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) => reserve(input, i % 2)));
    const ids = new Set(attempts.map((attempt) => attempt.data?.createReservation?.id));
    assert.equal(ids.size, 1, 'every retry, on either replica, got the same reservation');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 8, reserved: 2, allocated: 0 });

    await mutate('releaseReservation', [...ids][0]!);
    const afterRelease = await reserve(input);
    assert.equal(afterRelease.data.createReservation.id, [...ids][0], 'the first result, whatever became of it since');
    assert.equal(afterRelease.data.createReservation.status, 'RELEASED');

    const conflict = await reserve({ ...input, quantity: 3 });
    assert.equal(conflict.errors?.[0]?.extensions?.code, 'IDEMPOTENCY_CONFLICT');
    const otherSku = newSku();
    await givenStock(database.db, otherSku, { 'DC-01': 10 });
    const conflictElsewhere = await reserve({ ...input, sku: otherSku });
    assert.equal(conflictElsewhere.errors?.[0]?.extensions?.code, 'IDEMPOTENCY_CONFLICT');
    assert.deepEqual(await stockOf(database.db, otherSku, 'DC-01'), { available: 10, reserved: 0, allocated: 0 });
  });

  it('never oversells: of 120 concurrent one-unit requests over two replicas for 37 available, exactly 37 succeed', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 40 }, { safetyStock: 3 });

    const answers = await Promise.all(Array.from({ length: 120 }, (_, i) => reserve({ sku, quantity: 1, locationId: 'DC-01' }, i % 2)));
    const succeeded = answers.filter((answer) => answer.data?.createReservation);
    const refused = answers.filter((answer) => answer.errors?.[0]?.extensions?.code === 'INSUFFICIENT_STOCK');
    assert.equal(succeeded.length, 37);
    assert.equal(refused.length, 83);
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 0, reserved: 37, allocated: 0 });
    const [row] = await database.db.query<{ total: number }>(
      `SELECT sum(l.quantity)::int AS total FROM reservation_line l JOIN reservation r ON r.id = l.reservation_id WHERE r.sku = $1 AND r.status = 'ACTIVE'`, [sku]);
    assert.equal(row!.total, 37, 'the reservations add up to the reserved bucket');
  });

  it('never oversells a lot-controlled item: of 90 concurrent requests over two replicas, the lots held add up to what each unexpired lot has', async () => {
    const sku = newSku();
    const day = 86_400_000;
    await givenLotStock(database.db, sku, { EXPIRED: new Date(Date.now() - day), FIRST: new Date(Date.now() + day), SECOND: new Date(Date.now() + 7 * day) }, {
      'DC-01': { EXPIRED: 50, FIRST: 13, SECOND: 11 },
    });

    const answers = await Promise.all(Array.from({ length: 90 }, (_, i) => reserve({ sku, quantity: 1 + (i % 2), locationId: 'DC-01' }, i % 2)));

    const reserved = answers.reduce((sum, answer) => sum + (answer.data?.createReservation?.quantity ?? 0), 0);
    assert.ok(reserved === 24 || reserved === 23, `reserved ${reserved} of the 24 units in unexpired lots`);
    const lots = await database.db.query<{ lot: string; onHand: number; reserved: number; held: number }>(
      `SELECT p.lot, p.on_hand_wms AS "onHand", p.reserved,
              (SELECT coalesce(sum(ll.quantity), 0)::int FROM reservation_line_lot ll JOIN reservation r ON r.id = ll.reservation_id
                WHERE ll.sku = p.sku AND ll.lot = p.lot AND r.status = 'ACTIVE') AS held
         FROM stock_position p WHERE p.sku = $1 ORDER BY p.lot`, [sku]);
    assert.deepEqual(lots.map(({ lot, held }) => [lot, held]), lots.map(({ lot, reserved: onPosition }) => [lot, onPosition]), 'each lot\'s reserved bucket is what the reservations hold of it');
    assert.ok(lots.every((lot) => lot.reserved <= lot.onHand), JSON.stringify(lots));
    assert.deepEqual(lots.find((lot) => lot.lot === 'EXPIRED')!.reserved, 0);
  });

  it('never oversells across locations: concurrent spread requests of 1 to 4 units never reserve more than all locations hold', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 17, 'DC-02': 9, 'DC-03': 11 });

    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => reserve({ sku, quantity: 1 + (i % 4) }, i % 2)));
    const reserved = answers.reduce((sum, answer) => sum + (answer.data?.createReservation?.quantity ?? 0), 0);
    const levels = await Promise.all(['DC-01', 'DC-02', 'DC-03'].map((locationId) => stockOf(database.db, sku, locationId)));
    assert.equal(levels.reduce((sum, level) => sum + level.reserved, 0), reserved);
    assert.ok(reserved <= 37 && reserved >= 37 - 3, `reserved ${reserved} of 37: full but for less than the largest request`);
    for (const answer of answers.filter((a) => a.errors)) {
      assert.equal(answer.errors![0]!.extensions!.code, 'INSUFFICIENT_STOCK');
      assert.ok((answer.errors![0]!.extensions!.available as number) < 4);
    }
  });

  it('confirms a reservation into allocated demand, extends an active one, and refuses to release a confirmed one', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const { data } = await reserve({ sku, quantity: 3, locationId: 'DC-01', ttlSeconds: 60 });
    const id = data.createReservation.id;

    const extended = await mutate('extendReservation', id, ', ttlSeconds: 3600');
    assert.ok(new Date(extended.data.extendReservation.expiresAt).getTime() - Date.now() > 3_500_000);
    const confirmed = await mutate('confirmReservation', id);
    assert.equal(confirmed.data.confirmReservation.status, 'CONFIRMED');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 7, reserved: 0, allocated: 3 });

    const release = await mutate('releaseReservation', id);
    assert.equal(release.errors?.[0]?.extensions?.code, 'RESERVATION_NOT_ACTIVE');
    assert.equal(release.errors?.[0]?.extensions?.status, 'CONFIRMED');
    const missing = await mutate('confirmReservation', 'RSV-nope');
    assert.equal(missing.errors?.[0]?.extensions?.code, 'RESERVATION_NOT_FOUND');
  });

  it('applies each reservation\'s first change of state once, when confirms and releases race on two replicas', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 100 });
    const ids = (await Promise.all(Array.from({ length: 20 }, () => reserve({ sku, quantity: 2, locationId: 'DC-01' })))).map((r) => r.data.createReservation.id);

    const race = (id: string, replica: number, name: string) =>
      graphql(replicas[replica]!.url, `mutation { ${name}(id: "${id}") { status } }`);
    const answers = await Promise.all(ids.flatMap((id, i) => [race(id, i % 2, 'confirmReservation'), race(id, (i + 1) % 2, 'releaseReservation')]));

    const statuses = await database.db.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM reservation WHERE sku = $1 GROUP BY 1`, [sku]);
    const confirmed = statuses.find((s) => s.status === 'CONFIRMED')?.n ?? 0;
    assert.equal(statuses.reduce((sum, s) => sum + s.n, 0), 20);
    assert.ok(statuses.every((s) => s.status === 'CONFIRMED' || s.status === 'RELEASED'));
    assert.equal(answers.filter((a) => a.errors?.[0]?.extensions?.code === 'RESERVATION_NOT_ACTIVE').length, 20, 'the loser of each race is told why');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 100 - 2 * confirmed, reserved: 0, allocated: 2 * confirmed });
  });

  it('emits a stock change for every state change, caused by the reservation', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });
    const { data } = await reserve({ sku, quantity: 2, locationId: 'DC-01' });
    await mutate('confirmReservation', data.createReservation.id);

    const changes = (await recordedStockChanges(database.db, sku)).filter((change) => change.cause.type === 'RESERVATION');
    assert.deepEqual(changes.map((c) => [c.cause.id, c.before.available, c.after.available, c.after.allocated]), [
      [data.createReservation.id, 10, 8, 0],
      [data.createReservation.id, 8, 8, 2],
    ]);
  });

  it('refuses bad input with every problem at once, and unknown SKUs and locations, changing nothing', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 10 });

    const bad = await reserve({ sku, quantity: -2, ttlSeconds: 0, channel: '' });
    assert.equal(bad.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.deepEqual((bad.errors?.[0]?.extensions?.problems as { field: string }[]).map((p) => p.field), ['quantity', 'ttlSeconds', 'channel']);
    assert.equal((await reserve({ sku: 'NO-SUCH-SKU', quantity: 1 })).errors?.[0]?.extensions?.code, 'UNKNOWN_SKU');
    assert.equal((await reserve({ sku, quantity: 1, locationId: 'DC-99' })).errors?.[0]?.extensions?.code, 'UNKNOWN_LOCATION');
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 10, reserved: 0, allocated: 0 });
    const [count] = await database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM reservation WHERE sku = $1`, [sku]);
    assert.equal(count!.n, 0);
  });

  it('expires reservations past their time to live exactly once, with two sweepers at work', async () => {
    const sku = newSku();
    await givenStock(database.db, sku, { 'DC-01': 50, 'DC-02': 50 });
    const made = await Promise.all(Array.from({ length: 30 }, (_, i) => reserve({ sku, quantity: 1 + (i % 3), locationId: i % 2 ? 'DC-01' : 'DC-02' })));
    const keep = await reserve({ sku, quantity: 5, locationId: 'DC-01', ttlSeconds: 3600 });
    await database.db.query(`UPDATE reservation SET expires_at = now() - interval '1 second' WHERE id = ANY($1)`, [made.map((m) => m.data.createReservation.id)]);

    let published!: () => void;
    const sweptAndPublished = new Promise<void>((resolve) => (published = resolve));
    const sweepers = [0, 1].map(() => new ReservationService(infrastructure.db.prisma, reservationSettings(), () => published()));
    const expired = await Promise.all(sweepers.map((service) => service.expireDue(7)));
    const running = new BatchSweeper((limit) => sweepers[0]!.expireDue(limit), { batchSize: 500, intervalMs: 5, onError: (error) => assert.fail(String(error)) });
    running.start();
    await sweptAndPublished;
    await running.stop();
    let more = 0;
    while ((more = await sweepers[1]!.expireDue(100)) > 0) assert.fail(`the sweeper left ${more} due`);

    assert.deepEqual(expired, [7, 7], 'each sweeper took its own batch');
    const statuses = await database.db.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM reservation WHERE sku = $1 GROUP BY 1 ORDER BY 1`, [sku]);
    assert.deepEqual(statuses, [{ status: 'ACTIVE', n: 1 }, { status: 'EXPIRED', n: 30 }]);
    assert.deepEqual(await stockOf(database.db, sku, 'DC-01'), { available: 45, reserved: 5, allocated: 0 });
    assert.deepEqual(await stockOf(database.db, sku, 'DC-02'), { available: 50, reserved: 0, allocated: 0 });
    assert.equal(keep.data.createReservation.status, 'ACTIVE');
    const confirmExpired = await mutate('confirmReservation', made[0]!.data.createReservation.id);
    assert.equal(confirmExpired.errors?.[0]?.extensions?.code, 'RESERVATION_NOT_ACTIVE');
  });
});
