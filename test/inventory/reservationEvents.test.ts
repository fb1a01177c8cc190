import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { STREAMS } from '../../platform/contracts/events.ts';
import { useCleanup } from '../support/cleanup.ts';
import { OPERATOR, type TestClient } from '../support/gatewayClients.ts';
import { graphql } from '../support/graphql.ts';
import { codeOf } from '../support/orders.ts';
import { givenStock } from '../support/stock.ts';
import { subscribe } from '../support/subscriber.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

// Reservation changes through the gateway: each change of a reservation is an
// inventory.reservation.changed event, written with the change and delivered by the
// reservationChanged subscription. The sweeper runs every 50 ms, so that a reservation with a
// one-second time to live expires while the test awaits its EXPIRED change.

const PARTNER: TestClient = { name: 'partner', scopes: ['inventory:read', 'reservations:write'], locations: ['DC-01'], limits: OPERATOR.limits };
const ORDERS_ONLY: TestClient = { name: 'orders-only', scopes: ['orders:read'], limits: OPERATOR.limits };

interface Change {
  cursor: string;
  reservationId: string;
  version: number;
  kind: string;
  status: string;
  previousStatus: string | null;
  sku: string;
  channel: string;
  reference: string;
  quantity: number;
  previousQuantity: number | null;
  expiresAt: string;
  lines: { locationId: string; quantity: number; lots: { lot: string }[] }[];
  cause: { type: string; id: string; correlationId: string | null };
  reservation: { id: string; status: string } | null;
}

const CHANGE_FIELDS = `cursor reservationId version kind status previousStatus sku channel reference quantity previousQuantity expiresAt
  lines { locationId quantity lots { lot } } cause { type id correlationId } reservation { id status }`;
const RESERVATION_CHANGED = `subscription ($references: [String!], $channels: [String!], $skus: [ID!], $after: String) {
  reservationChanged(references: $references, channels: $channels, skus: $skus, after: $after) { ${CHANGE_FIELDS} }
}`;

let nextId = 0;
const unique = (label: string) => `${label}-${process.pid}-${(nextId += 1)}`;
/** A change as `<reservation>:<version>:<kind>:<status>`, to compare what arrived with what was done. */
const story = (changes: readonly Change[]) => changes.map((change) => `${change.reservationId}:${change.version}:${change.kind}:${change.status}`);

describe('reservation changes through the gateway, on PostgreSQL and Redis', () => {
  const cleanup = useCleanup();
  let testSystem: TestSystem;
  let gatewayUrl: string;

  before(async () => {
    testSystem = await startTestSystem('reservation-events', { clients: [OPERATOR, PARTNER, ORDERS_ONLY], env: { RESERVATION_SWEEP_INTERVAL_MS: '50' } });
    gatewayUrl = testSystem.system.gateway.url;
  });

  after(async () => {
    await testSystem?.stop();
  });

  const call = (client: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    graphql(gatewayUrl, query, variables, { ...testSystem.clients.headers(client), ...headers });
  /** Reserves as `client` (the operator by default); returns the reservation's id. */
  const reserve = async (input: Record<string, unknown>, { client = OPERATOR.name, headers = {} }: { client?: string; headers?: Record<string, string> } = {}) => {
    const answer = await call(client, 'mutation ($input: CreateReservationInput!) { createReservation(input: $input) { id } }', {
      input: { channel: 'WEB', ttlSeconds: 600, idempotencyKey: unique('key'), ...input },
    }, headers);
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    return answer.data.createReservation.id as string;
  };
  const mutate = async (name: string, id: string, client = OPERATOR.name, extra = '') => {
    const answer = await call(client, `mutation ($id: ID!) { ${name}(id: $id${extra}) { id status } }`, { id });
    assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    return answer.data[name];
  };
  const watch = (variables: Record<string, unknown>, client = OPERATOR.name) => {
    const subscriber = subscribe<Change>(gatewayUrl, testSystem.clients.headers(client), RESERVATION_CHANGED, { after: '0-0', ...variables }, 'reservationChanged');
    cleanup(() => subscriber.close());
    return subscriber;
  };
  const arrived = (reservationId: string, kind: string) => (changes: readonly Change[]) => changes.some((change) => change.reservationId === reservationId && change.kind === kind);

  it('publishes each change of a reservation, in order, with the reservation, its lines and what caused it', async () => {
    const sku = unique('RSVEV');
    await givenStock(testSystem.database.db, sku, { 'DC-01': 10, 'DC-02': 10 });
    const reference = unique('cart');
    const changes = watch({ references: [reference] });

    // When a reservation is made (under a request id of the caller's), extended and confirmed, and another made and released twice
    const first = await reserve({ sku, quantity: 2, locationId: 'DC-01', reference }, { headers: { 'x-request-id': `checkout-${reference}` } });
    await mutate('extendReservation', first, OPERATOR.name, ', ttlSeconds: 1200');
    await mutate('confirmReservation', first);
    const second = await reserve({ sku, quantity: 3, locationId: 'DC-02', reference, channel: 'STORE' });
    await mutate('releaseReservation', second);
    await mutate('releaseReservation', second);
    const marker = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference });
    await changes.until(arrived(marker, 'CREATED'));

    // Then each change arrived once, in order, as it was made: the repeated release changed nothing and published nothing
    assert.deepEqual(story(changes.received), [
      `${first}:1:CREATED:ACTIVE`, `${first}:2:EXTENDED:ACTIVE`, `${first}:3:CONFIRMED:CONFIRMED`,
      `${second}:1:CREATED:ACTIVE`, `${second}:2:RELEASED:RELEASED`, `${marker}:1:CREATED:ACTIVE`,
    ]);
    const [created, extended, confirmed, otherCreated, released] = changes.received;
    assert.deepEqual(
      [created!.sku, created!.channel, created!.reference, created!.quantity, created!.previousQuantity, created!.previousStatus, created!.lines],
      [sku, 'WEB', reference, 2, null, null, [{ locationId: 'DC-01', quantity: 2, lots: [] }]],
    );
    assert.deepEqual(created!.cause, { type: 'MUTATION', id: 'createReservation', correlationId: `checkout-${reference}` });
    assert.equal(changes.correlationIds[0], `checkout-${reference}`, "the result's extensions name the request that caused it");
    assert.ok(new Date(extended!.expiresAt).getTime() - new Date(created!.expiresAt).getTime() > 500_000, 'the extension moved the expiry');
    assert.deepEqual([extended!.cause.id, confirmed!.cause.id, released!.cause.id], ['extendReservation', 'confirmReservation', 'releaseReservation']);
    assert.deepEqual([confirmed!.previousStatus, released!.previousStatus, released!.quantity], ['ACTIVE', 'ACTIVE', 3]);
    assert.deepEqual([otherCreated!.channel, otherCreated!.lines], ['STORE', [{ locationId: 'DC-02', quantity: 3, lots: [] }]]);
    assert.ok(changes.received.every((change) => change.reservation?.id === change.reservationId), 'the reservation as it is now, from its lookup');
    assert.ok(changes.received.every((change) => /^\d+-\d+$/.test(change.cursor)), 'each change carries its stream cursor');
  });

  it("expires a reservation whose time to live has ended: the sweeper's EXPIRED change reaches the subscriber, and the stock is free again", async () => {
    const sku = unique('RSVEV');
    await givenStock(testSystem.database.db, sku, { 'DC-01': 10 });
    const reference = unique('cart');
    const changes = watch({ references: [reference] });
    const stockChanges = subscribe<{ cause: { type: string; id: string }; after: { reserved: number; available: number } }>(
      gatewayUrl, testSystem.clients.headers(), `subscription ($skus: [ID!]) { stockChanged(skus: $skus, after: "0-0") { cause { type id } after { reserved available } } }`,
      { skus: [sku] }, 'stockChanged');
    cleanup(() => stockChanges.close());

    // When a reservation is made with a time to live of one second
    const id = await reserve({ sku, quantity: 4, locationId: 'DC-01', reference, ttlSeconds: 1 });

    // Then the sweeper expires it: its EXPIRED change arrives, and the stock change that gave its units back
    await changes.until(arrived(id, 'EXPIRED'));
    const expired = changes.received.at(-1)!;
    assert.deepEqual(story(changes.received), [`${id}:1:CREATED:ACTIVE`, `${id}:2:EXPIRED:EXPIRED`]);
    assert.deepEqual([expired.previousStatus, expired.quantity, expired.cause], ['ACTIVE', 4, { type: 'SWEEPER', id: 'ttl', correlationId: null }]);
    assert.equal(changes.correlationIds[1], null, 'the sweeper ran for no request');
    assert.equal(expired.reservation?.status, 'EXPIRED');
    await stockChanges.until((received) => received.length === 2);
    assert.deepEqual(stockChanges.received, [
      { cause: { type: 'RESERVATION', id }, after: { reserved: 4, available: 6 } },
      { cause: { type: 'RESERVATION', id }, after: { reserved: 0, available: 10 } },
    ]);
    assert.equal(codeOf(await call(OPERATOR.name, `mutation { confirmReservation(id: "${id}") { id } }`)), 'RESERVATION_NOT_ACTIVE');
  });

  it('delivers only the changes its filters ask for: of these references, channels and SKUs', async () => {
    const [sku, otherSku] = [unique('RSVEV'), unique('RSVEV')];
    for (const item of [sku, otherSku]) await givenStock(testSystem.database.db, item, { 'DC-01': 20 });
    const [reference, otherReference] = [unique('cart'), unique('cart')];
    const storeOfSku = watch({ channels: ['STORE'], skus: [sku] });
    const ofReference = watch({ references: [reference] });

    const web = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference, channel: 'WEB' });
    await reserve({ sku: otherSku, quantity: 1, locationId: 'DC-01', reference: otherReference, channel: 'STORE' });
    const store = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference: otherReference, channel: 'STORE' });
    // A change both subscriptions ask for: what came before it in the stream has been delivered by the time it arrives.
    const marker = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference, channel: 'STORE' });
    await Promise.all([storeOfSku.until(arrived(marker, 'CREATED')), ofReference.until(arrived(marker, 'CREATED'))]);

    assert.deepEqual(story(storeOfSku.received), [`${store}:1:CREATED:ACTIVE`, `${marker}:1:CREATED:ACTIVE`]);
    assert.deepEqual(story(ofReference.received), [`${web}:1:CREATED:ACTIVE`, `${marker}:1:CREATED:ACTIVE`]);
  });

  it('resumes after the last cursor received, and never delivers a repeat of what the relay published again', async () => {
    const sku = unique('RSVEV');
    await givenStock(testSystem.database.db, sku, { 'DC-01': 20 });
    const reference = unique('cart');
    const first = watch({ references: [reference] });
    const id = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference });
    await mutate('extendReservation', id, OPERATOR.name, ', ttlSeconds: 900');
    await first.until(arrived(id, 'EXTENDED'));
    await first.close();

    // Given a resumed subscription after the last change received, and more changes meanwhile
    const resumed = watch({ references: [reference], after: first.received.at(-1)!.cursor });
    await mutate('confirmReservation', id);
    const other = await reserve({ sku, quantity: 2, locationId: 'DC-01', reference });
    await mutate('releaseReservation', other);
    await resumed.until(arrived(other, 'RELEASED'));
    // When the relay publishes those changes again (as after a crash between publishing and marking them published)
    const { bus } = testSystem.infrastructure;
    const ours = (await bus.read(STREAMS.reservationChanges, '0-0', 10_000)).filter((event) => (event.payload as { reference: string }).reference === reference);
    await bus.publishMany(STREAMS.reservationChanges, ours.map(({ type, payload, id: eventId, correlationId }) => ({ type, payload, ...(eventId && { id: eventId }), ...(correlationId && { correlationId }) })));
    const marker = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference });
    await resumed.until(arrived(marker, 'CREATED'));

    // Then it received what followed its cursor, each change once
    assert.equal(ours.length, 5, 'the repeats are in the stream');
    assert.deepEqual(story(resumed.received), [`${id}:3:CONFIRMED:CONFIRMED`, `${other}:1:CREATED:ACTIVE`, `${other}:2:RELEASED:RELEASED`, `${marker}:1:CREATED:ACTIVE`]);
  });

  it('shows a partner the changes of the reservations it may see only, and refuses callers without inventory:read', async () => {
    const sku = unique('RSVEV');
    await givenStock(testSystem.database.db, sku, { 'DC-01': 5, 'DC-02': 5 });
    const partner = watch({ skus: [sku] }, PARTNER.name);
    const operator = watch({ skus: [sku] });

    // When the partner reserves at DC-01, the operator at DC-02 and over both locations, and the partner releases its own
    const own = await reserve({ sku, quantity: 1, locationId: 'DC-01', reference: unique('cart') }, { client: PARTNER.name });
    const elsewhere = await reserve({ sku, quantity: 1, locationId: 'DC-02', reference: unique('cart') });
    const split = await reserve({ sku, quantity: 8, reference: unique('cart') });
    await mutate('releaseReservation', own, PARTNER.name);
    await Promise.all([partner.until(arrived(own, 'RELEASED')), operator.until(arrived(own, 'RELEASED'))]);

    // Then the partner was told of its own only, the operator of all
    assert.deepEqual(story(partner.received), [`${own}:1:CREATED:ACTIVE`, `${own}:2:RELEASED:RELEASED`]);
    assert.deepEqual(story(operator.received), [`${own}:1:CREATED:ACTIVE`, `${elsewhere}:1:CREATED:ACTIVE`, `${split}:1:CREATED:ACTIVE`, `${own}:2:RELEASED:RELEASED`]);
    assert.deepEqual(operator.received[2]!.lines.map((line) => line.locationId), ['DC-01', 'DC-02'], 'the split one is held at DC-02 too');
    const lookup = await call(PARTNER.name, '{ reservationChanges(ids: ["1"]) { id } }');
    assert.equal(codeOf(lookup), 'FORBIDDEN', 'the lookup behind the subscription is the gateway\'s alone');
    const refused = subscribe<Change>(gatewayUrl, testSystem.clients.headers(ORDERS_ONLY.name), RESERVATION_CHANGED, {}, 'reservationChanged');
    cleanup(() => refused.close());
    await assert.rejects(refused.until(() => false), /FORBIDDEN/);
  });
});
