import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'graphql-ws';
import { WebSocket } from 'ws';
import type { RunningSystem } from '../../system/startSystem.ts';
import { useCleanup } from '../support/cleanup.ts';
import { capturedLogLines } from '../support/collectingLogger.ts';
import { eventually } from '../support/eventually.ts';
import type { TestDatabase } from '../support/services.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';
import { acmeEvent, postEvents } from '../support/warehouseEvents.ts';

// Correlation ids end to end, on PostgreSQL and Redis: from the headers of a request to the
// answer, the subgraphs' log lines, the outbox, the stream and a subscriber's results.

const SKU = 'SKU-00001'; // acme-wms calls it ACME-00001; DC-01 is its site ATL1
const STOCK_CHANGES = `subscription { stockChanged(skus: ["${SKU}"], after: "0-0") { sku locationId after { reserved } } }`;
const RESERVE = `mutation Reserve($input: CreateReservationInput!) { createReservation(input: $input) { id status } }`;

describe('correlation ids: headers in, answers, logs, events and subscriptions out', () => {
  const cleanup = useCleanup();
  const logs = capturedLogLines();
  let running: TestSystem;
  let database: TestDatabase;
  let system: RunningSystem;
  let clients: TestSystem['clients'];

  before(async () => {
    running = await startTestSystem('correlation', { logger: logs.logger, env: { WMS_SOURCE_SECRETS: 'acme-wms=test-secret' } });
    ({ database, system, clients } = running);
  });

  after(() => running?.stop());

  const gatewayPost = async (query: string, variables: Record<string, unknown>, headers: Record<string, string>) => {
    const response = await fetch(`${system.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...clients.headers(), ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return { headers: response.headers, body: (await response.json()) as { data?: any; errors?: unknown[] } };
  };
  const linesWith = (correlationId: string) => logs.parsed().filter((line) => line.correlationId === correlationId);

  it('carries the x-request-id of a WMS post and of a mutation to the answer, the audit line, the outbox and each subscriber result', async () => {
    // Given a subscriber to the SKU's stock changes, from the start of the stream
    const socket = createClient({ url: `${system.gateway.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: clients.headers() });
    cleanup(() => socket.dispose());
    const results: { correlationId: unknown; reserved: number }[] = [];
    const failures: unknown[] = [];
    socket.subscribe<{ stockChanged: { after: { reserved: number } } }>({ query: STOCK_CHANGES }, {
      next: ({ data, extensions }) => void results.push({ correlationId: (extensions as { correlationId?: string } | undefined)?.correlationId, reserved: data!.stockChanged.after.reserved }),
      error: (error) => failures.push(error),
      complete: () => {},
    });

    // When a warehouse receipt and then a reservation arrive, each with its own x-request-id
    const receiptId = `wms-${randomUUID()}`;
    const posted = await postEvents(system.subgraphs.inventory.url, 'acme-wms', [acmeEvent({ txn_type: 'RCV', item_code: 'ACME-00001', site: 'ATL1', qty: 10 })], { headers: { 'x-request-id': receiptId } });
    assert.equal(posted.status, 200, JSON.stringify(posted.body));
    const reservationId = `checkout-${randomUUID()}`;
    const reserved = await gatewayPost(RESERVE, {
      input: { sku: SKU, quantity: 2, locationId: 'DC-01', channel: 'WEB', reference: 'cart-correlation', idempotencyKey: randomUUID() },
    }, { 'x-request-id': reservationId });

    // Then each answer returns its id
    assert.equal(posted.headers.get('x-request-id'), receiptId);
    assert.equal(reserved.body.errors, undefined, JSON.stringify(reserved.body.errors));
    assert.equal(reserved.headers.get('x-request-id'), reservationId);
    // and the outbox records what each caused under its id
    const recorded = await database.db.query<{ correlation_id: string; reserved: number }>(
      `SELECT correlation_id, (payload->'after'->>'reserved')::int AS reserved FROM event_outbox WHERE type = 'inventory.stockLevel.changed' AND payload->>'sku' = $1 ORDER BY id`, [SKU]);
    assert.deepEqual(recorded, [{ correlation_id: receiptId, reserved: 0 }, { correlation_id: reservationId, reserved: 2 }]);
    // and the subscriber gets each change with the id of the request that caused it
    await eventually(async () => results.length + failures.length, (count) => count >= 2, { what: 'both stock changes delivered' });
    assert.deepEqual(failures, []);
    assert.deepEqual(results, [{ correlationId: receiptId, reserved: 0 }, { correlationId: reservationId, reserved: 2 }]);
    // and the inventory subgraph's audit line of the mutation carries the id, the caller and what it acted on
    const audit = linesWith(reservationId).find((line) => line.log === 'audit' && line.service === 'inventory');
    assert.ok(audit, `no audit line with ${reservationId}`);
    assert.equal(audit.actor, 'operator');
    assert.equal(audit.outcome, 'ok');
    assert.deepEqual(audit.fields, [{ field: 'createReservation', ids: { 'input.sku': SKU, 'input.locationId': 'DC-01' }, errorCodes: [] }]);
  });

  it("carries an order's x-request-id to its status events and, through the orders service's call to inventory, to the stock its hold changed", async () => {
    const requestId = `order-${randomUUID()}`;
    const reference = `ORD-${randomUUID()}`;
    const placed = await gatewayPost('mutation ($input: PlaceOrderInput!) { placeOrder(input: $input) { id status } }', {
      input: { reference, channel: 'WEB', idempotencyKey: randomUUID(), lines: [{ sku: 'SKU-00004', quantity: 1, locationId: 'DC-01' }] },
    }, { 'x-request-id': requestId });
    assert.equal(placed.body.errors, undefined, JSON.stringify(placed.body.errors));
    assert.equal(placed.body.data.placeOrder.status, 'RESERVED');
    const caused = await database.db.query<{ producer: string; type: string }>(
      `SELECT producer, type FROM event_outbox WHERE correlation_id = $1 ORDER BY id`, [requestId]);
    assert.ok(caused.some((row) => row.producer === 'orders' && row.type === 'orders.order.statusChanged'), `an order status event under the id: ${JSON.stringify(caused)}`);
    assert.ok(caused.some((row) => row.producer === 'inventory' && row.type === 'inventory.stockLevel.changed'), `the hold's stock change under the id: ${JSON.stringify(caused)}`);
  });

  it('audits a refused mutation with its error code', async () => {
    const requestId = `refused-${randomUUID()}`;
    const answer = await gatewayPost(RESERVE, {
      input: { sku: 'SKU-NOT-THERE', quantity: 1, locationId: 'DC-01', channel: 'WEB', reference: 'cart-refused', idempotencyKey: randomUUID() },
    }, { 'x-request-id': requestId });
    assert.ok(answer.body.errors?.length, 'the reservation of an unknown SKU is refused');
    const audit = linesWith(requestId).find((line) => line.log === 'audit');
    assert.ok(audit, `no audit line with ${requestId}`);
    assert.equal(audit.outcome, 'refused');
    assert.deepEqual((audit.fields as { errorCodes: string[] }[])[0]!.errorCodes, ['UNKNOWN_SKU']);
  });

  it("takes a traceparent's trace id as the correlation id, in the answer and in the subgraph's lines", async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const answer = await gatewayPost(RESERVE, {
      input: { sku: SKU, quantity: 1, locationId: 'DC-01', channel: 'WEB', reference: 'cart-traced', idempotencyKey: randomUUID() },
    }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'x-request-id': 'not-this-one' });
    assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
    assert.equal(answer.headers.get('x-request-id'), traceId);
    assert.ok(linesWith(traceId).some((line) => line.service === 'inventory'), 'the inventory subgraph logged under the trace id');
  });

  it('replaces a malformed traceparent or x-request-id with a new id, and never echoes or logs it', async () => {
    const malformed = { traceparent: '00-not-a-trace-01', 'x-request-id': 'spaces and <angle> brackets' };
    const answer = await gatewayPost('{ item(sku: "SKU-00002") { sku } }', {}, malformed);
    assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body.errors));
    const given = answer.headers.get('x-request-id');
    assert.match(given ?? '', /^[0-9a-f-]{32,36}$/, 'a new id in the answer');
    for (const value of Object.values(malformed)) {
      assert.ok(![...answer.headers.values()].some((header) => header.includes(value)), `${value} is not echoed`);
      assert.ok(!logs.lines.some((line) => line.includes(value)), `${value} is not logged`);
    }
  });
});
