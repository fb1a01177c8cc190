import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { useCleanup } from '../support/cleanup.ts';
import { OPERATOR } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { codeOf, ordersApi } from '../support/orders.ts';
import { givenLotStock, lotBuckets } from '../support/stock.ts';
import { recordedStockChanges } from '../support/stockChanges.ts';
import { subscribe } from '../support/subscriber.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

// Reservations of lot-controlled items through the gateway: which lots they hold, what
// confirming, releasing and ordering do to those lots, and what the sweeper (every 50 ms here)
// does when a lot expires while reserved.

interface ReservationView {
  id: string;
  status: string;
  quantity: number;
  lines: { locationId: string; quantity: number; lots: { lot: string; subinventory: string; expiresAt: string | null; quantity: number }[] }[];
}

const RESERVATION_FIELDS = 'id status quantity lines { locationId quantity lots { lot subinventory expiresAt quantity } }';
const day = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * day);

let nextId = 0;
const unique = (label: string) => `${label}-${process.pid}-${(nextId += 1)}`;
/** A reservation line's lots as `lot:quantity`, in the order shown. */
const lotsOf = (reservation: Pick<ReservationView, 'lines'>, line = 0) => reservation.lines[line]!.lots.map((lot) => `${lot.lot}:${lot.quantity}`);

describe('lots on reservations, through the gateway, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let testSystem: TestSystem;
  let gatewayUrl: string;

  before(async () => {
    testSystem = await startTestSystem('reservation-lots', { env: { RESERVATION_SWEEP_INTERVAL_MS: '50' } });
    gatewayUrl = testSystem.system.gateway.url;
  });

  after(async () => {
    await testSystem?.stop();
  });

  const db = () => testSystem.database.db;
  const call = (query: string, variables: Record<string, unknown> = {}) => graphql(gatewayUrl, query, variables, testSystem.clients.headers());
  const reserveAnswer = (sku: string, quantity: number, extra: Record<string, unknown> = {}) =>
    call(`mutation ($input: CreateReservationInput!) { createReservation(input: $input) { ${RESERVATION_FIELDS} } }`, {
      input: { sku, quantity, locationId: 'DC-01', channel: 'WEB', reference: unique('cart'), ttlSeconds: 600, idempotencyKey: unique('key'), ...extra },
    });
  const reserve = async (sku: string, quantity: number, extra: Record<string, unknown> = {}): Promise<ReservationView> => {
    const answer = await reserveAnswer(sku, quantity, extra);
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    return answer.data.createReservation;
  };
  const mutate = async (name: string, id: string, extra = ''): Promise<ReservationView> => {
    const answer = await call(`mutation ($id: ID!) { ${name}(id: $id${extra}) { ${RESERVATION_FIELDS} } }`, { id });
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    return answer.data[name];
  };
  const reservation = async (id: string): Promise<ReservationView> => (await call(`query ($id: ID!) { reservation(id: $id) { ${RESERVATION_FIELDS} } }`, { id })).data.reservation;
  const stockLevel = async (sku: string) =>
    (await call('query ($sku: ID!) { stockLevel(sku: $sku, locationId: "DC-01") { reserved allocated expired available } }', { sku })).data.stockLevel;

  it('holds the unexpired lots that expire first, lots without expiry last, and never an expired lot', async () => {
    const sku = unique('LOT');
    await givenLotStock(db(), sku, { GONE: inDays(-1), SOON: inDays(5), LATE: inDays(30), NEVER: null }, { 'DC-01': { GONE: 10, SOON: 3, LATE: 5, NEVER: 10 } });

    const first = await reserve(sku, 6);
    const second = await reserve(sku, 4);
    const tooMuch = await reserveAnswer(sku, 9);
    const rest = await reserve(sku, 8);
    const none = await reserveAnswer(sku, 1);

    assert.deepEqual(lotsOf(first), ['SOON:3', 'LATE:3']);
    assert.equal(first.lines[0]!.lots[0]!.expiresAt, (await db().query<{ at: Date }>(`SELECT expires_at AS at FROM lot WHERE sku = $1 AND lot = 'SOON'`, [sku]))[0]!.at.toISOString());
    assert.deepEqual(lotsOf(second), ['LATE:2', 'NEVER:2']);
    assert.deepEqual([codeOf(tooMuch), tooMuch.errors?.[0]?.extensions?.available], ['INSUFFICIENT_STOCK', 8], 'the 10 units of the expired lot are not available');
    assert.deepEqual(lotsOf(rest), ['NEVER:8']);
    assert.deepEqual([codeOf(none), none.errors?.[0]?.extensions?.available], ['INSUFFICIENT_STOCK', 0], 'only the expired lot is left, and it is never reserved');
    assert.deepEqual(await lotBuckets(db(), sku, 'DC-01'), { GONE: [10, 0, 0], LATE: [5, 5, 0], NEVER: [10, 10, 0], SOON: [3, 3, 0] }, 'each lot reserved where the reservations say');
    assert.deepEqual(await reservation(first.id), first, 'the reservation shows the lots it holds');
  });

  it('extends, confirms and releases a reservation on the lots it holds', async () => {
    const sku = unique('LOT');
    await givenLotStock(db(), sku, { A: inDays(5), B: inDays(9) }, { 'DC-01': { A: 4, B: 4 } });
    const kept = await reserve(sku, 5);
    const other = await reserve(sku, 2);
    assert.deepEqual([lotsOf(kept), lotsOf(other)], [['A:4', 'B:1'], ['B:2']]);

    const extended = await mutate('extendReservation', kept.id, ', ttlSeconds: 1200');
    assert.deepEqual(lotsOf(extended), ['A:4', 'B:1'], 'an extension holds the same lots');
    await mutate('confirmReservation', kept.id);
    assert.deepEqual(await lotBuckets(db(), sku, 'DC-01'), { A: [4, 0, 4], B: [4, 2, 1] }, "its lots' units are allocated now, the other reservation's still reserved");
    await mutate('releaseReservation', other.id);
    assert.deepEqual(await lotBuckets(db(), sku, 'DC-01'), { A: [4, 0, 4], B: [4, 0, 1] });
    assert.deepEqual(await stockLevel(sku), { reserved: 0, allocated: 5, expired: 0, available: 3 });
  });

  it('lets an order consume a lot reservation: the lots give up their units, held for the order at the location, given back when it is cancelled', async () => {
    const sku = unique('LOT');
    await givenLotStock(db(), sku, { A: inDays(5), B: inDays(9) }, { 'DC-01': { A: 2, B: 4 } });
    const held = await reserve(sku, 3);
    const changes = subscribe<{ version: number; kind: string; cause: { type: string; id: string } }>(gatewayUrl, testSystem.clients.headers(),
      `subscription ($skus: [ID!]) { reservationChanged(skus: $skus, after: "0-0") { version kind cause { type id } } }`, { skus: [sku] }, 'reservationChanged');
    cleanup(() => changes.close());

    const orders = ordersApi(gatewayUrl, testSystem.clients.headers());
    const placed = await orders.place({ reference: unique('WEB'), lines: [{ sku, quantity: 3, locationId: 'DC-01', reservationId: held.id }] });
    assert.equal(placed.errors, undefined, JSON.stringify(placed.errors));
    const order = placed.data!.placeOrder;
    await changes.until((received) => received.some((change) => change.kind === 'CONFIRMED'));

    assert.equal(order.status, 'RESERVED');
    assert.deepEqual(changes.received.map((change) => [change.version, change.kind, change.cause.type, change.cause.id]), [[1, 'CREATED', 'MUTATION', 'createReservation'], [2, 'CONFIRMED', 'ORDER', order.id]]);
    assert.equal((await reservation(held.id)).status, 'CONFIRMED');
    assert.deepEqual(await lotBuckets(db(), sku, 'DC-01'), { '': [0, 0, 3], A: [2, 0, 0], B: [4, 0, 0] }, "the lots' reserved units are the order's allocation now, where orders keep theirs");
    assert.equal((await orders.cancel(order.id)).data?.cancelOrder.status, 'CANCELLED');
    assert.deepEqual(await stockLevel(sku), { reserved: 0, allocated: 0, expired: 0, available: 6 });
  });

  it('gives up a lot that expires while reserved: replaced by the next lot where there is one, released in part or whole where there is not', async () => {
    const [replaced, partly, whole] = [unique('LOT'), unique('LOT'), unique('LOT')];
    await givenLotStock(db(), replaced, { OLD: inDays(5), NEXT: inDays(20) }, { 'DC-01': { OLD: 3, NEXT: 5 } });
    await givenLotStock(db(), partly, { OLD: inDays(5), NEXT: inDays(20) }, { 'DC-01': { OLD: 4, NEXT: 1 } });
    await givenLotStock(db(), whole, { OLD: inDays(5) }, { 'DC-01': { OLD: 2 } });
    const reference = unique('cart');
    const [r1, r2, r3] = [await reserve(replaced, 3, { reference }), await reserve(partly, 4, { reference }), await reserve(whole, 2, { reference })];
    assert.deepEqual([lotsOf(r1), lotsOf(r2), lotsOf(r3)], [['OLD:3'], ['OLD:4'], ['OLD:2']]);
    const changes = subscribe<{ reservationId: string; kind: string; status: string; quantity: number; previousQuantity: number; lines: ReservationView['lines']; expiredLots: { locationId: string; lot: string; quantity: number }[]; cause: { type: string; id: string } }>(
      gatewayUrl, testSystem.clients.headers(), `subscription ($references: [String!]) {
        reservationChanged(references: $references, after: "0-0") {
          reservationId kind status quantity previousQuantity lines { locationId quantity lots { lot subinventory expiresAt quantity } }
          expiredLots { locationId lot quantity } cause { type id }
        }
      }`, { references: [reference] }, 'reservationChanged');
    cleanup(() => changes.close());

    // When the OLD lots' expiry comes (set to a moment ago rather than waited for; plain SQL clears the levels' figures, as it must)
    await db().query(`UPDATE lot SET expires_at = now() - interval '1 second' WHERE sku = ANY($1) AND lot = 'OLD'`, [[replaced, partly, whole]]);
    await db().query(`UPDATE stock_level SET available = NULL WHERE sku = ANY($1)`, [[replaced, partly, whole]]);

    // Then the sweeper gives each one up, as one LOTS_EXPIRED change per reservation
    await changes.until((received) => received.filter((change) => change.kind === 'LOTS_EXPIRED').length === 3);
    const expiredBy = new Map(changes.received.filter((change) => change.kind === 'LOTS_EXPIRED').map((change) => [change.reservationId, change]));
    const [c1, c2, c3] = [expiredBy.get(r1.id)!, expiredBy.get(r2.id)!, expiredBy.get(r3.id)!];
    assert.deepEqual([c1.status, c1.quantity, c1.previousQuantity, lotsOf(c1)], ['ACTIVE', 3, 3, ['NEXT:3']], 'replaced in full by the next lot');
    assert.deepEqual([c2.status, c2.quantity, c2.previousQuantity, lotsOf(c2)], ['ACTIVE', 1, 4, ['NEXT:1']], 'replaced as far as the next lot goes, the rest released');
    assert.deepEqual([c3.status, c3.quantity, lotsOf(c3)], ['RELEASED', 2, ['OLD:2']], 'nothing could replace it: released whole, its lines kept as the record of what it held');
    assert.deepEqual([c1, c2, c3].map((change) => change.expiredLots), [[{ locationId: 'DC-01', lot: 'OLD', quantity: 3 }], [{ locationId: 'DC-01', lot: 'OLD', quantity: 4 }], [{ locationId: 'DC-01', lot: 'OLD', quantity: 2 }]]);
    assert.ok([c1, c2, c3].every((change) => change.cause.type === 'SWEEPER' && change.cause.id === 'lots'));

    // And the stock moved with them, each level by a stock change caused by its reservation
    assert.deepEqual(await lotBuckets(db(), replaced, 'DC-01'), { NEXT: [5, 3, 0], OLD: [3, 0, 0] });
    assert.deepEqual(await lotBuckets(db(), partly, 'DC-01'), { NEXT: [1, 1, 0], OLD: [4, 0, 0] });
    assert.deepEqual(await lotBuckets(db(), whole, 'DC-01'), { OLD: [2, 0, 0] });
    assert.deepEqual(await stockLevel(replaced), { reserved: 3, allocated: 0, expired: 3, available: 2 });
    for (const [sku, id] of [[replaced, r1.id], [partly, r2.id], [whole, r3.id]] as const) {
      const last = (await recordedStockChanges(db(), sku)).at(-1)!;
      assert.deepEqual([last.cause, last.after.reserved], [{ type: 'RESERVATION', id, source: 'stockgraph', eventId: null }, { [replaced]: 3, [partly]: 1, [whole]: 0 }[sku]]);
    }
    assert.deepEqual([lotsOf(await reservation(r1.id)), (await reservation(r2.id)).quantity, (await reservation(r3.id)).status], [['NEXT:3'], 1, 'RELEASED']);
    await mutate('confirmReservation', r1.id);
    assert.deepEqual(await lotBuckets(db(), replaced, 'DC-01'), { NEXT: [5, 0, 3], OLD: [3, 0, 0] }, 'confirming moves the lot that replaced the expired one');
  });

  it('never oversells a lot-controlled item: concurrent reservations add up to no more than its unexpired lots hold, lot by lot', async () => {
    const sku = unique('LOT');
    await givenLotStock(db(), sku, { GONE: inDays(-1), A: inDays(3), B: inDays(9) }, { 'DC-01': { GONE: 40, A: 20, B: 17 } });

    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => reserveAnswer(sku, 1 + (i % 3))));

    const made = answers.flatMap((answer) => (answer.data?.createReservation ? [answer.data.createReservation as ReservationView] : []));
    const reserved = made.reduce((sum, r) => sum + r.quantity, 0);
    assert.ok(reserved <= 37 && reserved >= 37 - 2, `reserved ${reserved} of the 37 unexpired units: full but for less than the largest request`);
    for (const answer of answers.filter((a) => a.errors)) assert.deepEqual([codeOf(answer), (answer.errors![0]!.extensions!.available as number) < 3], ['INSUFFICIENT_STOCK', true]);
    const buckets = await lotBuckets(db(), sku, 'DC-01');
    assert.deepEqual(buckets.GONE, [40, 0, 0], 'the expired lot is never reserved');
    assert.ok(buckets.A![1] <= 20 && buckets.B![1] <= 17, `no lot is reserved beyond its units: ${JSON.stringify(buckets)}`);
    const byLot = (lot: string) => made.flatMap((r) => r.lines[0]!.lots).filter((held) => held.lot === lot).reduce((sum, held) => sum + held.quantity, 0);
    assert.deepEqual([byLot('A'), byLot('B')], [buckets.A![1], buckets.B![1]], 'the reservations name the very units each lot has reserved');
    assert.equal(buckets.A![1], 20, 'the lot that expires first was taken first');
    assert.equal((await stockLevel(sku)).reserved, reserved);
  });
});
