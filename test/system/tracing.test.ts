import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startTracing, type Tracing } from '../../platform/observability/tracing.ts';
import type { RunningSystem } from '../../system/startSystem.ts';
import { eventually } from '../support/eventually.ts';
import { startTestSystem, type TestSystem } from '../support/testSystem.ts';

// OpenTelemetry across the system, recorded by the SDK's own InMemorySpanExporter: one trace
// from the caller's traceparent through the gateway, its subgraph fetches, the subgraphs'
// requests and their database transactions; the relay's publish span linked to it. A process
// has one global tracer provider, so this file registers it for itself.

const RESERVE = `mutation Reserve($input: CreateReservationInput!) { createReservation(input: $input) { id status } }`;

describe('tracing: spans of one request share its trace, from the gateway to the database and the outbox relay', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let running: TestSystem;
  let system: RunningSystem;
  let clients: TestSystem['clients'];

  before(async () => {
    tracing = startTracing({}, { defaultServiceName: 'stockgraph-test', spanProcessors: [new SimpleSpanProcessor(exporter)] });
    running = await startTestSystem('tracing');
    ({ system, clients } = running);
  });

  after(async () => {
    await running?.stop();
    await tracing?.shutdown();
  });

  const traced = async (query: string, variables: Record<string, unknown> = {}) => {
    const traceId = randomUUID().replaceAll('-', '');
    const response = await fetch(`${system.gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...clients.headers(), traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { errors?: unknown[] };
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return { traceId, headers: response.headers, spans: () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId) };
  };
  const serverSpanOf = (spans: readonly ReadableSpan[], service: string) =>
    spans.find((span) => span.kind === SpanKind.SERVER && span.attributes['stockgraph.service'] === service);
  const named = (spans: readonly ReadableSpan[], name: string) => spans.filter((span) => span.name === name);

  it('traces a mutation from the caller through the gateway fetch, the subgraph and its transaction; the relay publish span links to it', async () => {
    // When a mutation arrives with a traceparent
    const { traceId, headers, spans } = await traced(RESERVE, {
      input: { sku: 'SKU-00001', quantity: 1, locationId: 'DC-01', channel: 'WEB', reference: 'cart-traced', idempotencyKey: randomUUID() },
    });
    // Then the answer names the trace and the gateway's span in it
    assert.equal(headers.get('x-request-id'), traceId);
    const gateway = serverSpanOf(spans(), 'gateway');
    assert.ok(gateway, 'a gateway server span in the trace');
    assert.equal(gateway.parentSpanId, 'b7ad6b7169203331', "the gateway's span is a child of the caller's");
    assert.equal(headers.get('traceresponse'), `00-${traceId}-${gateway.spanContext().spanId}-01`);
    // and the subgraph's request is a child of the gateway's fetch of it, its transaction a child of that request
    const [fetchSpan] = named(spans(), 'gateway.fetch');
    assert.ok(fetchSpan, 'a gateway.fetch span');
    assert.equal(fetchSpan.attributes.service, 'inventory');
    const inventory = serverSpanOf(spans(), 'inventory subgraph');
    assert.ok(inventory, 'an inventory server span in the trace');
    assert.equal(inventory.parentSpanId, fetchSpan.spanContext().spanId);
    const transactions = named(spans(), 'db.transaction');
    assert.ok(transactions.some((span) => span.parentSpanId === inventory.spanContext().spanId), 'a db.transaction span under the inventory request');
    // and the relay's publish of the reservation's stock change is linked to the trace that wrote it
    const publish = await eventually(async () => named(exporter.getFinishedSpans(), 'outbox.publish').find((span) => span.links.some((link) => link.context.traceId === traceId)),
      (span) => span !== undefined, { what: 'an outbox.publish span linked to the trace' });
    assert.equal(publish!.kind, SpanKind.PRODUCER);
    assert.equal(publish!.attributes['stockgraph.producer'], 'inventory');
  });

  it("joins @apollo/gateway's own planning and fetch spans to the trace of a query across subgraphs", async () => {
    const { spans } = await traced('{ item(sku: "SKU-00002") { sku openDemand { locationId } } }');
    const request = named(spans(), 'gateway.request')[0];
    assert.ok(request, "@apollo/gateway's gateway.request span in the trace");
    assert.equal(named(spans(), 'gateway.plan').length, 1);
    const fetched = named(spans(), 'gateway.fetch').map((span) => span.attributes.service).sort();
    assert.deepEqual(fetched, ['inventory', 'orders']);
    assert.ok(serverSpanOf(spans(), 'orders subgraph'), 'the orders subgraph request joined the trace');
  });
});
